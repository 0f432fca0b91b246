/*
 * Unit tests for offload.c. Frames are built by hand here, and every checksum
 * is checked by a deliberately naive verifier (16-bit words, one at a time,
 * plus the pseudo header) that shares no code with offload.c. Tables of
 * numbered cases cover segmentation, the segment-then-coalesce round trip and
 * each reason coalescing stops; a seeded random run checks that segmenting
 * and coalescing again gives back the payload, against a naive grouping model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "offload.h"

#define ETH_LEN 14
#define VLAN_LEN 4
#define IP4_LEN 20
#define IP6_LEN 40
#define V6_EXT_LEN 8
#define TCP_LEN 20
#define TS_OPT_LEN 12 /* NOP, NOP, timestamps */
#define TCP_SEQ_AT 4
#define TCP_FLAGS_AT 13
#define TCP_CSUM_AT 16
#define PROTO_TCP 6
#define PROTO_UDP 17
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10
#define F_URG 0x20
#define F_ECE 0x40
#define F_CWR 0x80
#define IP_DF 0x4000
#define IP_MF 0x2000
#define GSO_UDP 3 /* VIRTIO_NET_HDR_GSO_UDP: not ours to segment */
#define GSO_AUTO 0xff /* table marker: the type that matches the IP version */
#define IP_MAX 65535u
#define BUF_LEN (OFFLOAD_MAX_FRAME + 256)
#define MAX_TRAIN 80

#define check(cond, id)                                                                        \
	do {                                                                                   \
		if (!(cond))                                                                   \
			fail_msg("case %d: %s (line %d)", (int)(id), #cond, __LINE__);         \
	} while (0)

/* Payload bytes: no period short enough to hide a wrong slice. */
static uint8_t pattern[2 * IP_MAX];
static uint8_t super_buf[BUF_LEN];
static uint8_t join_buf[BUF_LEN];

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* ---- the naive verifier ------------------------------------------------- */

static uint64_t naive_sum(uint64_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	return sum;
}

static uint16_t naive_fold(uint64_t sum)
{
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Where a built frame's headers are. */
struct layout {
	size_t l3, l4, hdr, end, len;
	bool v6;
};

/* RFC 793 / RFC 8200 section 8.1 pseudo header for l4_len bytes of proto. */
static uint64_t naive_pseudo(const uint8_t *f, const struct layout *l, uint8_t proto,
			     size_t l4_len)
{
	uint64_t sum = proto + (l4_len >> 16) + (l4_len & 0xffff);

	if (l->v6)
		return naive_sum(sum, f + l->l3 + 8, 32);
	return naive_sum(sum, f + l->l3 + 12, 8);
}

static bool l4_csum_ok(const uint8_t *f, const struct layout *l, uint8_t proto, size_t l4_len)
{
	return naive_fold(naive_sum(naive_pseudo(f, l, proto, l4_len), f + l->l4, l4_len)) ==
	       0xffff;
}

static bool ipv4_csum_ok(const uint8_t *f, const struct layout *l)
{
	return naive_fold(naive_sum(0, f + l->l3, l->l4 - l->l3)) == 0xffff;
}

/* ---- frame builder ------------------------------------------------------ */

struct spec {
	bool v6, vlan, qinq, v6_ext, partial, ns;
	uint8_t ip_opt_len, tcp_opt_len; /* multiples of 4 */
	uint8_t ip_opt_last; /* the last IPv4 option byte (else NOP) */
	uint8_t v6_pad; /* the first data byte of the hop-by-hop PadN */
	/* With v6_ext: a hop-by-hop header of v6_opts[0] bytes (0: V6_EXT_LEN)
	 * and, if v6_opts[1], a destination options header of that many. */
	uint16_t v6_opts[2];
	uint8_t proto, tos, ttl, mac_last, src_last, dst_last, flags;
	uint16_t frag, ip_id, vlan_tci, outer_tci, sport, dport, win;
	uint32_t flow, seq, ack, tsval;
	const uint8_t *payload;
	size_t payload_len, pad;
};

static struct spec base_spec(bool v6)
{
	struct spec s = {
		.v6 = v6,
		.proto = PROTO_TCP,
		.ttl = 64,
		.mac_last = 1,
		.src_last = 1,
		.dst_last = 2,
		.flags = F_ACK,
		.frag = v6 ? 0 : IP_DF,
		.ip_id = 0x1234,
		.vlan_tci = 100,
		.outer_tci = 7,
		.ip_opt_last = 1, /* NOP */
		.sport = 40000,
		.dport = 5201,
		.win = 502,
		.flow = 0x12345,
		.seq = 0x10000000,
		.ack = 0x20000000,
		.tsval = 0xabcdef01,
		.payload = pattern,
	};
	return s;
}

static void put_tcp_options(uint8_t *o, const struct spec *s)
{
	memset(o, 1, s->tcp_opt_len); /* NOP */
	if (s->tcp_opt_len >= TS_OPT_LEN) {
		o[2] = 8;
		o[3] = 10;
		put32(o + 4, s->tsval);
		put32(o + 8, s->tsval ^ 0x5a5a5a5a);
	}
}

static size_t put_ip(uint8_t *ip, const struct spec *s, size_t l4_len)
{
	if (!s->v6) {
		size_t ihl = IP4_LEN + s->ip_opt_len;

		ip[0] = (uint8_t)(0x40 | ihl / 4);
		ip[1] = s->tos;
		put16(ip + 2, (uint32_t)(ihl + l4_len));
		put16(ip + 4, s->ip_id);
		put16(ip + 6, s->frag);
		ip[8] = s->ttl;
		ip[9] = s->proto;
		put16(ip + 10, 0);
		put32(ip + 12, 0x0a000000u | s->src_last);
		put32(ip + 16, 0x0a000000u | s->dst_last);
		memset(ip + IP4_LEN, 1, s->ip_opt_len); /* NOP */
		if (s->ip_opt_len)
			ip[ihl - 1] = s->ip_opt_last;
		put16(ip + 10, (uint16_t)~naive_fold(naive_sum(0, ip, ihl)));
		return ihl;
	}
	size_t ext[2] = { s->v6_opts[0] ? s->v6_opts[0] : V6_EXT_LEN, s->v6_opts[1] };
	size_t ext_len = s->v6_ext ? ext[0] + ext[1] : 0, at = IP6_LEN;

	put32(ip, 0x60000000u | (uint32_t)s->tos << 20 | (s->flow & 0xfffff));
	put16(ip + 4, (uint32_t)(ext_len + l4_len));
	ip[6] = s->v6_ext ? 0 : s->proto; /* 0: hop-by-hop options */
	ip[7] = s->ttl;
	memset(ip + 8, 0, 32);
	put16(ip + 8, 0xfd00);
	ip[23] = s->src_last;
	put16(ip + 24, 0xfd00);
	ip[39] = s->dst_last;
	if (!s->v6_ext)
		return IP6_LEN;
	/* Each options header: next header, length in 8-byte units after the
	 * first, one PadN option over the first 8 bytes, zeros (Pad1) after. */
	for (int i = 0; i < 2 && ext[i]; i++) {
		bool last = i == 1 || !ext[1];

		memset(ip + at, 0, ext[i]);
		ip[at] = last ? s->proto : 60; /* 60: destination options */
		ip[at + 1] = (uint8_t)(ext[i] / 8 - 1);
		ip[at + 2] = 1;
		ip[at + 3] = 4;
		if (i == 0)
			ip[at + 4] = s->v6_pad;
		at += ext[i];
	}
	return at;
}

/* The Ethernet header [+ 802.1ad tag] [+ VLAN tag] for s; sets l->l3 and l->v6. */
static void put_link(uint8_t *f, const struct spec *s, struct layout *l)
{
	memcpy(f, (const uint8_t[12]){ 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, s->mac_last }, 12);
	l->l3 = ETH_LEN;
	if (s->qinq) {
		put16(f + 12, 0x88a8);
		put16(f + 14, s->outer_tci);
		l->l3 += VLAN_LEN;
	}
	if (s->vlan) {
		put16(f + l->l3 - 2, 0x8100);
		put16(f + l->l3, s->vlan_tci);
		l->l3 += VLAN_LEN;
	}
	put16(f + l->l3 - 2, s->v6 ? 0x86dd : 0x0800);
	l->v6 = s->v6;
}

/* Ethernet [+ VLAN] + IPv4/IPv6 + TCP + payload [+ padding]. The TCP checksum is
 * complete, or (partial) the pseudo-header sum a TSO super-frame carries. */
static size_t build(uint8_t *f, const struct spec *s, struct layout *l)
{
	size_t tcp_hdr = TCP_LEN + s->tcp_opt_len, tcp_len = tcp_hdr + s->payload_len;
	uint8_t *tcp;

	put_link(f, s, l);
	l->l4 = l->l3 + put_ip(f + l->l3, s, tcp_len);
	tcp = f + l->l4;
	put16(tcp, s->sport);
	put16(tcp + 2, s->dport);
	put32(tcp + 4, s->seq);
	put32(tcp + 8, s->ack);
	tcp[12] = (uint8_t)(tcp_hdr / 4 << 4 | (s->ns ? 1 : 0));
	tcp[13] = s->flags;
	put16(tcp + 14, s->win);
	put32(tcp + 16, 0); /* checksum, urgent pointer */
	put_tcp_options(tcp + TCP_LEN, s);
	l->hdr = l->l4 + tcp_hdr;
	memcpy(f + l->hdr, s->payload, s->payload_len);
	l->end = l->hdr + s->payload_len;
	memset(f + l->end, 0, s->pad);
	l->len = l->end + s->pad;
	if (s->partial)
		put16(tcp + TCP_CSUM_AT, naive_fold(naive_pseudo(f, l, PROTO_TCP, tcp_len)));
	else
		put16(tcp + TCP_CSUM_AT,
		      (uint16_t)~naive_fold(naive_sum(naive_pseudo(f, l, PROTO_TCP, tcp_len), tcp,
						      tcp_len)));
	return l->len;
}

/* An exact-size heap copy, so that ASan sees any read past the end. */
static uint8_t *dup_frame(const uint8_t *f, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, f, len);
	return p;
}

/*
 * A frame whose proto (TCP or UDP) checksum is left partial, as offload_segment
 * leaves them: the field holds the pseudo-header sum, offload_partial_at
 * finds it where the layout says, and finished, the checksum verifies.
 */
static bool partial_ok(const uint8_t *f, size_t len, const struct layout *l, uint8_t proto)
{
	size_t l4_len = len - l->l4, off = proto == PROTO_UDP ? 6 : TCP_CSUM_AT;
	struct offload_hdr h;
	uint8_t *copy;
	bool ok;

	if (get16(f + l->l4 + off) != naive_fold(naive_pseudo(f, l, proto, l4_len)) ||
	    !offload_partial_at(f, len, &h) || h.flags != OFFLOAD_F_NEEDS_CSUM ||
	    h.gso_type != OFFLOAD_GSO_NONE || h.csum_start != l->l4 || h.csum_offset != off)
		return false;
	copy = dup_frame(f, len);
	ok = offload_finish_csum(copy, len, h.csum_start, h.csum_offset) == OFFLOAD_OK &&
	     l4_csum_ok(copy, l, proto, l4_len) && get16(copy + l->l4 + off) != 0;
	free(copy);
	return ok;
}

static int setup(void **state)
{
	uint32_t x = 0x9e3779b9;

	(void)state;
	for (size_t i = 0; i < sizeof(pattern); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pattern[i] = (uint8_t)x;
	}
	return 0;
}

/* ---- checksum primitives ------------------------------------------------ */

static void test_csum_rfc1071(void **state)
{
	static const uint8_t words[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	(void)state;
	/* RFC 1071 section 3: the sum is 0x2ddf0, which folds to 0xddf2. */
	assert_int_equal(offload_csum_fold(offload_csum_add(0, words, sizeof(words))), 0xddf2);
	/* Split at an even offset, in any pieces. */
	assert_int_equal(offload_csum_fold(offload_csum_add(offload_csum_add(0, words, 2),
							    words + 2, 6)),
			 0xddf2);
	assert_int_equal(offload_csum_fold(offload_csum_add(offload_csum_add(0, words, 6),
							    words + 6, 2)),
			 0xddf2);
	/* Byte order independence (RFC 1071 section 2B): swapped bytes, swapped sum. */
	static const uint8_t swapped[] = { 0x01, 0x00, 0x03, 0xf2, 0xf5, 0xf4, 0xf7, 0xf6 };
	assert_int_equal(offload_csum_fold(offload_csum_add(0, swapped, sizeof(swapped))),
			 0xf2dd);
}

static void test_csum_odd_and_edges(void **state)
{
	static const uint8_t three[] = { 0x00, 0x01, 0xf2 };
	static const uint8_t one[] = { 0xab };
	static const uint8_t five[] = { 0x12, 0x34, 0x56, 0x78, 0x9a };
	static uint8_t ones[IP_MAX];

	(void)state;
	/* The odd last byte is the high half of a zero-padded word. */
	assert_int_equal(offload_csum_fold(offload_csum_add(0, three, 3)), 0xf201);
	assert_int_equal(offload_csum_fold(offload_csum_add(0, one, 1)), 0xab00);
	assert_int_equal(offload_csum_fold(offload_csum_add(0, five, 5)), 0x02ad); /* 0x102ac */
	assert_int_equal(offload_csum_fold(offload_csum_add(7, one, 0)), 7);
	assert_int_equal(offload_csum_fold(offload_csum_add(0, five, 4)), 0x1234 + 0x5678);
	/* A carry out of 16 bits comes back in (twice for 0x1fffe -> 0xffff). */
	assert_int_equal(offload_csum_fold(0), 0);
	assert_int_equal(offload_csum_fold(0xffff), 0xffff);
	assert_int_equal(offload_csum_fold(0x10000), 1);
	assert_int_equal(offload_csum_fold(0x1fffe), 0xffff);
	assert_int_equal(offload_csum_fold(0x2ddf0), 0xddf2);
	assert_int_equal(offload_csum_fold(UINT64_MAX), 0xffff);
	/* Largest input: 64 KiB of 0xff, odd length. */
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(offload_csum_fold(offload_csum_add(0, ones, sizeof(ones))),
			 naive_fold(naive_sum(0, ones, sizeof(ones))));
	/* Every length and alignment against the naive sum, starting sums included. */
	for (size_t off = 0; off < 4; off++)
		for (size_t len = 0; len < 2100; len++) {
			uint64_t start = len * 0x10001u;

			if (offload_csum_fold(offload_csum_add(start, pattern + off, len)) !=
			    naive_fold(naive_sum(start, pattern + off, len)))
				fail_msg("csum off %zu len %zu differs", off, len);
		}
}

/* ---- offload_finish_csum ------------------------------------------------ */

static void test_finish_tcp_ipv4(void **state)
{
	struct spec s = base_spec(false);
	struct layout l;
	size_t len, tcp_len;
	uint8_t *f;

	(void)state;
	s.partial = true;
	s.tcp_opt_len = TS_OPT_LEN;
	s.payload_len = 1001; /* odd */
	len = build(super_buf, &s, &l);
	f = dup_frame(super_buf, len);
	tcp_len = l.end - l.l4;
	assert_false(l4_csum_ok(f, &l, PROTO_TCP, tcp_len));
	assert_int_equal(offload_finish_csum(f, len, (uint16_t)l.l4, TCP_CSUM_AT), OFFLOAD_OK);
	assert_true(l4_csum_ok(f, &l, PROTO_TCP, tcp_len));
	/* Only the checksum field changed. */
	assert_memory_equal(f, super_buf, l.l4 + TCP_CSUM_AT);
	assert_memory_equal(f + l.l4 + TCP_CSUM_AT + 2, super_buf + l.l4 + TCP_CSUM_AT + 2,
			    len - l.l4 - TCP_CSUM_AT - 2);
	/* The same frame built with a full checksum agrees on the value. */
	s.partial = false;
	build(super_buf, &s, &l);
	assert_memory_equal(f, super_buf, len);
	free(f);
}

static void test_finish_udp_ipv6(void **state)
{
	struct spec s = base_spec(true);
	struct layout l;
	size_t udp_len = 8 + 333, len;
	uint8_t *f, *udp;

	(void)state;
	/* Build the TCP frame for its Ethernet and IPv6 headers, then turn it into UDP. */
	s.proto = PROTO_UDP;
	s.payload_len = udp_len - TCP_LEN;
	build(super_buf, &s, &l);
	udp = super_buf + l.l4;
	put16(udp, 5353);
	put16(udp + 2, 5354);
	put16(udp + 4, (uint32_t)udp_len);
	memcpy(udp + 8, pattern + 7, udp_len - 8);
	put16(udp + 6, naive_fold(naive_pseudo(super_buf, &l, PROTO_UDP, udp_len)));
	len = l.l4 + udp_len;
	l.end = len;
	f = dup_frame(super_buf, len);
	assert_int_equal(offload_finish_csum(f, len, (uint16_t)l.l4, 6), OFFLOAD_OK);
	assert_true(l4_csum_ok(f, &l, PROTO_UDP, udp_len));
	assert_int_not_equal(get16(f + l.l4 + 6), 0);
	free(f);
}

struct finish_case {
	int id;
	size_t len;
	uint16_t start, offset;
	enum offload_result want;
};

static const struct finish_case finish_cases[] = {
	/* The field must lie inside the frame: its last byte at len - 1 and no further. */
	{ 1, 100, 50, 48, OFFLOAD_OK },
	{ 2, 100, 50, 49, OFFLOAD_BAD_CSUM },
	{ 3, 100, 98, 0, OFFLOAD_OK },
	{ 4, 100, 99, 0, OFFLOAD_BAD_CSUM },
	{ 5, 100, 100, 0, OFFLOAD_BAD_CSUM },
	{ 6, 100, 101, 0, OFFLOAD_BAD_CSUM },
	{ 7, 100, 0, 98, OFFLOAD_OK },
	{ 8, 100, 0, 99, OFFLOAD_BAD_CSUM },
	{ 9, 100, 0xffff, 0xffff, OFFLOAD_BAD_CSUM },
	{ 10, 100, 1, 0xffff, OFFLOAD_BAD_CSUM },
	{ 11, 2, 0, 0, OFFLOAD_OK },
	{ 12, 1, 0, 0, OFFLOAD_BAD_CSUM },
	{ 13, 0, 0, 0, OFFLOAD_BAD_CSUM },
	{ 14, 0x20000, 0xfffe, 0xfffe, OFFLOAD_OK },
	{ 15, 0x20000, 0xffff, 0, OFFLOAD_OK },
	{ 16, 0x20000, 0xffff, 0xffff, OFFLOAD_OK },
	{ 17, 0x1fffe, 0xffff, 0xffff, OFFLOAD_BAD_CSUM },
};

static void test_finish_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(finish_cases) / sizeof(finish_cases[0]); i++) {
		const struct finish_case *c = &finish_cases[i];
		uint8_t *f = malloc(c->len ? c->len : 1), *orig;
		enum offload_result r;

		assert_non_null(f);
		for (size_t k = 0; k < c->len; k++)
			f[k] = pattern[k % sizeof(pattern)];
		orig = dup_frame(f, c->len);
		r = offload_finish_csum(f, c->len, c->start, c->offset);
		check(r == c->want, c->id);
		if (r != OFFLOAD_OK) {
			check(memcmp(f, orig, c->len) == 0, c->id);
		} else {
			size_t at = (size_t)c->start + c->offset;
			/* The old field value was the seed of the sum: with the new one
			 * the region sums to -0 (when the field is word-aligned). */
			uint64_t sum = naive_sum(get16(orig + at), f + c->start, c->len - c->start);

			check(c->offset % 2 || naive_fold(sum) == 0xffff, c->id);
			check(memcmp(f, orig, at) == 0, c->id);
			check(memcmp(f + at + 2, orig + at + 2, c->len - at - 2) == 0, c->id);
		}
		free(orig);
		free(f);
	}
}

static void test_finish_zero_is_ffff(void **state)
{
	/* Words that sum to 0xffff: the checksum computes as 0 and goes out as 0xffff. */
	uint8_t a[6] = { 0x12, 0x34, 0xed, 0xcb, 0x00, 0x00 };
	uint8_t b[4] = { 0x00, 0x00, 0xff, 0xff };
	uint8_t zero[4] = { 0 };

	(void)state;
	assert_int_equal(offload_finish_csum(a, sizeof(a), 0, 4), OFFLOAD_OK);
	assert_int_equal(get16(a + 4), 0xffff);
	assert_int_equal(offload_finish_csum(b, sizeof(b), 0, 0), OFFLOAD_OK);
	assert_int_equal(get16(b), 0xffff);
	/* All zeros sums to +0, whose complement is 0xffff as well. */
	assert_int_equal(offload_finish_csum(zero, sizeof(zero), 0, 2), OFFLOAD_OK);
	assert_int_equal(get16(zero + 2), 0xffff);
	/* Not every 0xffff: a sum of 0x0001 complements to 0xfffe. */
	uint8_t c[4] = { 0x00, 0x01, 0x00, 0x00 };
	assert_int_equal(offload_finish_csum(c, sizeof(c), 0, 2), OFFLOAD_OK);
	assert_int_equal(get16(c + 2), 0xfffe);
}

static void test_result_names(void **state)
{
	(void)state;
	for (int r = 0; r < OFFLOAD_RESULT_COUNT; r++)
		assert_non_null(offload_result_name((enum offload_result)r));
	assert_string_equal(offload_result_name(OFFLOAD_OK), "ok");
	assert_string_equal(offload_result_name(OFFLOAD_RESULT_COUNT), "unknown");
	assert_string_equal(offload_result_name((enum offload_result)-1), "unknown");
}

static void test_vnet_hdr_codec(void **state)
{
	const struct offload_hdr h = { 1, 0x84, 0x1234, 1448, 54, 16 };
	struct offload_hdr d;
	uint8_t raw[OFFLOAD_VNET_HDR_LEN];
	uint16_t v;

	(void)state;
	offload_hdr_encode(raw, &h);
	offload_hdr_decode(raw, &d);
	assert_memory_equal(&d, &h, sizeof(h));
	assert_int_equal(raw[0], 1);
	assert_int_equal(raw[1], 0x84);
	memcpy(&v, raw + 4, 2); /* host byte order, as a TAP device uses it */
	assert_int_equal(v, 1448);
}

/* ---- offload_segment (TCP) ------------------------------------------------ */

enum seg_mut {
	SM_NONE,
	SM_PAD,       /* Ethernet padding after the IP packet: ignored */
	SM_WRAP,      /* IPv4 ID and sequence number wrap around */
	SM_MF,        /* IPv4 more-fragments */
	SM_FRAG_OFF,  /* IPv4 fragment offset */
	SM_TRUNC,     /* one byte short of the IP length */
	SM_ETH_ONLY,  /* 14 bytes */
	SM_EMPTY,     /* 0 bytes */
	SM_VLAN_CUT,  /* VLAN EtherType, tag cut short */
	SM_V6_EXT,    /* IPv6 hop-by-hop header before TCP */
	SM_V6_ROUTING, /* ... announced as a routing header */
	SM_V6_MAX_OPTS, /* hop-by-hop and destination options: OFFLOAD_IPV6_OPTS_MAX bytes */
	SM_V6_LONG_OPTS, /* ... 8 bytes more */
	SM_UDP,       /* IP protocol UDP */
	SM_DOFF_SMALL,/* TCP data offset 4 */
	SM_DOFF_LONG, /* TCP header longer than the IP packet */
	SM_IHL_SMALL, /* IPv4 IHL 4 */
	SM_IP_SHORT,  /* IPv4 total length too short for TCP */
	SM_ARP,       /* EtherType ARP */
	SM_VERSION,   /* IP version field wrong for the EtherType */
};

enum seg_room {
	EXACT,      /* max_segs and out_cap exactly enough */
	SEGS_SHORT, /* max_segs one short */
	CAP_SHORT,  /* out_cap one byte short */
};

struct seg_case {
	int id;
	bool v6, vlan;
	uint8_t ip_opt, tcp_opt;
	size_t payload;
	uint16_t mss;
	uint8_t flags, gso;
	size_t headroom, tailroom;
	enum seg_mut mut;
	enum seg_room room;
	int want;
};

#define V4_MAX_PAYLOAD (IP_MAX - IP4_LEN - TCP_LEN)
#define V6_MAX_PAYLOAD (IP_MAX - TCP_LEN)
#define BAD_GSO (-OFFLOAD_BAD_GSO)
#define TOO_MANY (-OFFLOAD_TOO_MANY)

static const struct seg_case seg_cases[] = {
	/* IPv4 payload sizes around multiples of the MSS. */
	{ 1, false, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 3 },
	{ 2, false, false, 0, 0, 3001, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 4 },
	{ 3, false, false, 0, 0, 2999, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 3 },
	{ 4, false, false, 0, 0, 999, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 1 },
	{ 5, false, false, 0, 0, 1000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 1 },
	{ 6, false, false, 0, 0, 1001, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 2 },
	{ 7, false, false, 0, 0, 0, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 1 },
	{ 8, false, false, 0, 0, 1, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 1 },
	{ 9, false, false, 0, 0, 5, 1, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 5 },
	/* IPv6. */
	{ 10, true, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 3 },
	{ 11, true, false, 0, 0, 3001, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 4 },
	{ 12, true, false, 0, 0, 500, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 1 },
	{ 13, true, false, 0, 0, 0, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 1 },
	/* Largest packets: IPv4 total length 65535; IPv6 payload length 65535. */
	{ 14, false, false, 0, 0, V4_MAX_PAYLOAD, 1460, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 45 },
	{ 15, true, false, 0, 0, V6_MAX_PAYLOAD, 1440, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 46 },
	/* TCP options (timestamps, and the 40-byte maximum), IPv4 options, VLAN tag. */
	{ 16, false, false, 0, TS_OPT_LEN, 5000, 1448, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 4 },
	{ 17, true, false, 0, TS_OPT_LEN, 5000, 1428, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 4 },
	{ 18, true, false, 0, 40, 4000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 4 },
	{ 19, false, true, 0, 0, 4000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 4 },
	{ 20, true, true, 0, TS_OPT_LEN, 4000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 4 },
	{ 21, false, false, 8, 0, 2500, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 3 },
	/* Longest headers: VLAN + 60-byte IPv4 + 60-byte TCP = OFFLOAD_MAX_HEADERS. */
	{ 22, false, true, 40, 40, 2500, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, 3 },
	/* Flags: FIN and PSH only on the last segment, CWR only on the first. */
	{ 23, false, false, 0, 0, 4000, 1000, F_ACK | F_PSH | F_FIN, GSO_AUTO, 0, 0, SM_NONE,
	  EXACT, 4 },
	{ 24, true, false, 0, 0, 3500, 1000, F_ACK | F_PSH, GSO_AUTO, 0, 0, SM_NONE, EXACT, 4 },
	{ 25, false, false, 0, 0, 500, 1000, F_ACK | F_PSH | F_FIN, GSO_AUTO, 0, 0, SM_NONE,
	  EXACT, 1 },
	{ 26, false, false, 0, 0, 3000, 1000, F_ACK | F_CWR, OFFLOAD_GSO_TCPV4 | OFFLOAD_GSO_ECN, 0,
	  0, SM_NONE, EXACT, 3 },
	{ 27, true, false, 0, 0, 3000, 1000, F_ACK | F_CWR | F_ECE | F_PSH,
	  OFFLOAD_GSO_TCPV6 | OFFLOAD_GSO_ECN, 0, 0, SM_NONE, EXACT, 3 },
	{ 28, false, false, 0, 0, 3000, 1000, F_ACK | F_CWR | F_FIN | F_PSH, GSO_AUTO, 0, 0,
	  SM_NONE, EXACT, 3 },
	{ 29, false, false, 0, 0, 0, 1000, F_ACK | F_CWR | F_FIN | F_PSH, GSO_AUTO, 0, 0, SM_NONE,
	  EXACT, 1 },
	{ 30, false, false, 0, 0, 3000, 1000, F_ACK | F_URG | F_ECE, GSO_AUTO, 0, 0, SM_NONE,
	  EXACT, 3 },
	/* Headroom and tailroom around each slot. */
	{ 31, false, false, 0, 0, 3500, 1000, F_ACK, GSO_AUTO, 16, 8, SM_NONE, EXACT, 4 },
	{ 32, true, true, 0, TS_OPT_LEN, 3500, 1000, F_ACK, GSO_AUTO, 1, 3, SM_NONE, EXACT, 4 },
	{ 33, false, false, 0, 0, 3500, 1000, F_ACK, GSO_AUTO, 0, 100, SM_NONE, EXACT, 4 },
	{ 34, false, false, 0, 0, 3500, 1000, F_ACK, GSO_AUTO, 100, 0, SM_NONE, EXACT, 4 },
	/* Ethernet padding is not payload; counters wrap. */
	{ 35, false, false, 0, 0, 2500, 1000, F_ACK, GSO_AUTO, 0, 0, SM_PAD, EXACT, 3 },
	{ 36, false, false, 0, 0, 4000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_WRAP, EXACT, 4 },
	/* Not a TCP super-frame of the announced kind. */
	{ 37, false, false, 0, 0, 3000, 1000, F_ACK, GSO_UDP, 0, 0, SM_NONE, EXACT, BAD_GSO },
	{ 38, false, false, 0, 0, 3000, 1000, F_ACK, OFFLOAD_GSO_NONE, 0, 0, SM_NONE, EXACT,
	  BAD_GSO },
	{ 39, false, false, 0, 0, 3000, 1000, F_ACK, OFFLOAD_GSO_ECN, 0, 0, SM_NONE, EXACT,
	  BAD_GSO },
	{ 40, false, false, 0, 0, 3000, 0, F_ACK, GSO_AUTO, 0, 0, SM_NONE, EXACT, BAD_GSO },
	{ 41, false, false, 0, 0, 3000, 1000, F_ACK, OFFLOAD_GSO_TCPV6, 0, 0, SM_NONE, EXACT,
	  BAD_GSO },
	{ 42, true, false, 0, 0, 3000, 1000, F_ACK, OFFLOAD_GSO_TCPV4, 0, 0, SM_NONE, EXACT,
	  BAD_GSO },
	{ 43, false, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_MF, EXACT, BAD_GSO },
	{ 44, false, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_FRAG_OFF, EXACT, BAD_GSO },
	{ 45, false, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_TRUNC, EXACT, BAD_GSO },
	{ 46, true, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_TRUNC, EXACT, BAD_GSO },
	{ 47, false, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_ETH_ONLY, EXACT, BAD_GSO },
	{ 48, false, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_EMPTY, EXACT, BAD_GSO },
	{ 49, false, true, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_VLAN_CUT, EXACT, BAD_GSO },
	{ 50, true, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_V6_EXT, EXACT, 3 },
	{ 65, true, true, 0, TS_OPT_LEN, 3001, 1000, F_ACK | F_PSH, GSO_AUTO, 4, 4, SM_V6_EXT,
	  EXACT, 4 },
	{ 66, true, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_V6_ROUTING, EXACT, BAD_GSO },
	{ 67, true, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_V6_LONG_OPTS, EXACT,
	  BAD_GSO },
	{ 68, true, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_V6_MAX_OPTS, EXACT, 3 },
	{ 51, false, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_UDP, EXACT, BAD_GSO },
	{ 52, true, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_UDP, EXACT, BAD_GSO },
	{ 53, false, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_DOFF_SMALL, EXACT,
	  BAD_GSO },
	{ 54, false, false, 0, 0, 0, 1000, F_ACK, GSO_AUTO, 0, 0, SM_DOFF_LONG, EXACT, BAD_GSO },
	{ 55, false, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_IHL_SMALL, EXACT, BAD_GSO },
	{ 56, false, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_IP_SHORT, EXACT, BAD_GSO },
	{ 57, false, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_ARP, EXACT, BAD_GSO },
	{ 58, false, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_VERSION, EXACT, BAD_GSO },
	{ 59, true, false, 0, 0, 3000, 1000, F_ACK, GSO_AUTO, 0, 0, SM_VERSION, EXACT, BAD_GSO },
	/* Room for one segment less than needed, in count or in bytes. */
	{ 60, false, false, 0, 0, 3001, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, SEGS_SHORT,
	  TOO_MANY },
	{ 61, false, false, 0, 0, 3001, 1000, F_ACK, GSO_AUTO, 4, 4, SM_NONE, CAP_SHORT, TOO_MANY },
	{ 62, true, false, 0, 0, 100, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, SEGS_SHORT, TOO_MANY },
	{ 63, true, false, 0, 0, 100, 1000, F_ACK, GSO_AUTO, 2, 0, SM_NONE, CAP_SHORT, TOO_MANY },
	{ 64, false, false, 0, 0, 0, 1000, F_ACK, GSO_AUTO, 0, 0, SM_NONE, CAP_SHORT, TOO_MANY },
};

static size_t div_up(size_t a, size_t b)
{
	return (a + b - 1) / b;
}

static size_t build_seg_case(const struct seg_case *c, struct spec *s, struct layout *l)
{
	size_t len;

	*s = base_spec(c->v6);
	s->vlan = c->vlan;
	s->ip_opt_len = c->ip_opt;
	s->tcp_opt_len = c->tcp_opt;
	s->payload_len = c->payload;
	s->flags = c->flags;
	s->partial = true;
	s->payload = pattern + 3;
	switch (c->mut) {
	case SM_PAD: s->pad = 6; break;
	case SM_WRAP:
		s->ip_id = 0xfffe;
		s->seq = 0xffffffffu - 1500;
		break;
	case SM_MF: s->frag = IP_MF; break;
	case SM_FRAG_OFF: s->frag = 1; break;
	case SM_V6_EXT:
	case SM_V6_ROUTING: s->v6_ext = true; break;
	case SM_V6_MAX_OPTS:
	case SM_V6_LONG_OPTS:
		s->v6_ext = true;
		s->v6_opts[0] = OFFLOAD_IPV6_OPTS_MAX - 8;
		s->v6_opts[1] = c->mut == SM_V6_MAX_OPTS ? 8 : 16;
		break;
	case SM_UDP: s->proto = PROTO_UDP; break;
	default: break;
	}
	len = build(super_buf, s, l);
	switch (c->mut) {
	case SM_TRUNC: return l->end - 1;
	case SM_ETH_ONLY: return ETH_LEN;
	case SM_EMPTY: return 0;
	case SM_VLAN_CUT: return ETH_LEN + VLAN_LEN - 1;
	case SM_DOFF_SMALL: super_buf[l->l4 + 12] = 4 << 4; break;
	case SM_DOFF_LONG: super_buf[l->l4 + 12] = (TCP_LEN + 4) / 4 << 4; break;
	case SM_IHL_SMALL: super_buf[l->l3] = 0x44; break;
	case SM_IP_SHORT: put16(super_buf + l->l3 + 2, IP4_LEN + TCP_LEN - 1); break;
	case SM_ARP: put16(super_buf + 12, 0x0806); break;
	case SM_VERSION: super_buf[l->l3] ^= 0x20; break; /* 4 <-> 6 */
	case SM_V6_ROUTING: super_buf[l->l3 + 6] = 43; break;
	default: break;
	}
	return len;
}

/* Every byte outside the frames written must keep the fill. */
static void check_untouched(int id, const uint8_t *out, size_t out_cap, size_t stride,
			    size_t headroom, const size_t *lens, size_t n)
{
	for (size_t at = 0; at < out_cap; at++) {
		size_t slot = at / stride, in = at % stride;

		if (slot < n && in >= headroom && in < headroom + lens[slot])
			continue;
		check(out[at] == 0xa5, id);
	}
}

static void check_segment(int id, const uint8_t *seg, size_t seg_len, const uint8_t *sup,
			  const struct layout *l, const struct spec *s, size_t i, size_t n,
			  size_t mss)
{
	const uint8_t *ip = seg + l->l3, *tcp = seg + l->l4, *sip = sup + l->l3,
		      *stcp = sup + l->l4;
	size_t plen = s->payload_len - i * mss < mss ? s->payload_len - i * mss : mss;
	size_t tcp_len = l->hdr - l->l4 + plen;
	uint8_t flags = s->flags;

	check(seg_len == l->hdr + plen, id);
	check(memcmp(seg, sup, l->l3) == 0, id);
	if (!l->v6) {
		check(memcmp(ip, sip, 2) == 0, id);
		check(get16(ip + 2) == l->l4 - l->l3 + tcp_len, id);
		check(get16(ip + 4) == (uint16_t)(s->ip_id + i), id);
		check(memcmp(ip + 6, sip + 6, 4) == 0, id);
		check(memcmp(ip + 12, sip + 12, l->l4 - l->l3 - 12) == 0, id);
		check(ipv4_csum_ok(seg, l), id);
	} else {
		check(memcmp(ip, sip, 4) == 0, id);
		check(get16(ip + 4) == l->l4 - l->l3 - IP6_LEN + tcp_len, id);
		check(memcmp(ip + 6, sip + 6, l->l4 - l->l3 - 6) == 0, id);
	}
	check(memcmp(tcp, stcp, TCP_SEQ_AT) == 0, id);
	check(get32(tcp + TCP_SEQ_AT) == (uint32_t)(s->seq + i * mss), id);
	check(memcmp(tcp + 8, stcp + 8, 5) == 0, id);
	if (i + 1 < n)
		flags &= (uint8_t)~(F_FIN | F_PSH);
	if (i > 0)
		flags &= (uint8_t)~F_CWR;
	if (tcp[TCP_FLAGS_AT] != flags)
		fail_msg("case %d: segment %zu flags 0x%02x, want 0x%02x", id, i,
			 tcp[TCP_FLAGS_AT], flags);
	check(memcmp(tcp + 14, stcp + 14, 2) == 0, id);
	check(memcmp(tcp + 18, stcp + 18, l->hdr - l->l4 - 18) == 0, id);
	if (!partial_ok(seg, seg_len, l, PROTO_TCP))
		fail_msg("case %d: segment %zu: TCP checksum not left partial", id, i);
	check(memcmp(seg + l->hdr, sup + l->hdr + i * mss, plen) == 0, id);
}

static void check_segments(int id, const uint8_t *out, size_t out_cap, const size_t *lens,
			   size_t n, size_t stride, size_t headroom, size_t tailroom,
			   const uint8_t *sup, const struct layout *l, const struct spec *s,
			   size_t mss)
{
	check(n == (s->payload_len ? div_up(s->payload_len, mss) : 1), id);
	check(stride == headroom + l->hdr + mss + tailroom, id);
	for (size_t i = 0; i < n; i++)
		check_segment(id, out + i * stride + headroom, lens[i], sup, l, s, i, n, mss);
	check_untouched(id, out, out_cap, stride, headroom, lens, n);
}

static void run_seg_case(const struct seg_case *c)
{
	struct spec s;
	struct layout l;
	size_t len = build_seg_case(c, &s, &l);
	size_t mss = c->mss ? c->mss : 1;
	size_t n = c->payload ? div_up(c->payload, mss) : 1;
	size_t stride = c->headroom + l.hdr + mss + c->tailroom, got_stride = 0;
	size_t max_segs = n, out_cap = n * stride;
	struct offload_hdr h = {
		.flags = OFFLOAD_F_NEEDS_CSUM,
		.gso_type = c->gso == GSO_AUTO ? (c->v6 ? OFFLOAD_GSO_TCPV6 : OFFLOAD_GSO_TCPV4)
						  : c->gso,
		.hdr_len = (uint16_t)l.hdr,
		.gso_size = c->mss,
		.csum_start = (uint16_t)l.l4,
		.csum_offset = TCP_CSUM_AT,
	};
	uint8_t *in = dup_frame(super_buf, len), *out;
	size_t *lens;
	int r;

	if (c->room == SEGS_SHORT)
		max_segs--;
	if (c->room == CAP_SHORT)
		out_cap--;
	if (c->want < 0 && c->room == EXACT) {
		max_segs += 8; /* plenty, so that only the frame can be refused */
		out_cap += 8 * stride;
	}
	out = malloc(out_cap ? out_cap : 1);
	lens = malloc((max_segs ? max_segs : 1) * sizeof(*lens));
	assert_non_null(out);
	assert_non_null(lens);
	memset(out, 0xa5, out_cap);
	r = offload_segment(in, len, &h, out, out_cap, c->headroom, c->tailroom, lens,
				max_segs, &got_stride);
	if (r != c->want)
		fail_msg("case %d: got %d, want %d", c->id, r, c->want);
	check(memcmp(in, super_buf, len) == 0, c->id); /* input is const */
	if (r > 0)
		check_segments(c->id, out, out_cap, lens, (size_t)r, got_stride, c->headroom,
			       c->tailroom, in, &l, &s, c->mss);
	else
		check_untouched(c->id, out, out_cap, stride, 0, lens, 0);
	free(lens);
	free(out);
	free(in);
}

static void test_segment_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(seg_cases) / sizeof(seg_cases[0]); i++)
		run_seg_case(&seg_cases[i]);
}

/* ---- offload_coalesce_next: checks shared by the tests below ------------- */

static bool is_len_or_csum(const struct layout *l, size_t at)
{
	size_t ip = at - l->l3;

	if (at >= l->l4)
		return at - l->l4 == TCP_CSUM_AT || at - l->l4 == TCP_CSUM_AT + 1;
	if (at < l->l3)
		return false;
	if (l->v6)
		return ip == 4 || ip == 5;
	return ip == 2 || ip == 3 || ip == 10 || ip == 11;
}

/*
 * frames[first .. first + count) were merged into vnet and hdr. Check them
 * against the first frame (whose layout is l) by hand, then finish the checksum
 * of the super-frame they make and verify it.
 */
static void check_merged(int id, const struct offload_frame *fr, size_t first, size_t count,
			 const struct layout *l, const uint8_t vnet[OFFLOAD_VNET_HDR_LEN],
			 const uint8_t *hdr, size_t hdr_len)
{
	const uint8_t *f0 = fr[first].data;
	uint8_t psh = fr[first + count - 1].data[l->l4 + TCP_FLAGS_AT] & F_PSH;
	size_t total = 0, tcp_len, at;
	struct offload_hdr h;

	for (size_t k = first; k < first + count; k++)
		total += fr[k].len - l->hdr;
	tcp_len = l->hdr - l->l4 + total;
	check(hdr_len == l->hdr, id);
	offload_hdr_decode(vnet, &h);
	check(h.flags == OFFLOAD_F_NEEDS_CSUM, id);
	check(h.gso_type == (l->v6 ? OFFLOAD_GSO_TCPV6 : OFFLOAD_GSO_TCPV4), id);
	check(h.hdr_len == l->hdr, id);
	check(h.gso_size == fr[first].len - l->hdr, id);
	check(h.csum_start == l->l4, id);
	check(h.csum_offset == TCP_CSUM_AT, id);
	for (size_t i = 0; i < l->hdr; i++) {
		if (is_len_or_csum(l, i))
			continue;
		if (i == l->l4 + TCP_FLAGS_AT)
			check(hdr[i] == (f0[i] | psh), id);
		else if (hdr[i] != f0[i])
			fail_msg("case %d: merged header byte %zu is 0x%02x, first frame's 0x%02x",
				 id, i, hdr[i], f0[i]);
	}
	if (l->v6) {
		check(get16(hdr + l->l3 + 4) == l->l4 - l->l3 - IP6_LEN + tcp_len, id);
	} else {
		check(get16(hdr + l->l3 + 2) == l->l4 - l->l3 + tcp_len, id);
		check(ipv4_csum_ok(hdr, l), id);
	}
	/* CHECKSUM_PARTIAL: the un-complemented pseudo-header sum for the whole length. */
	check(get16(hdr + l->l4 + TCP_CSUM_AT) ==
		      naive_fold(naive_pseudo(hdr, l, PROTO_TCP, tcp_len)),
	      id);
	memcpy(join_buf, hdr, hdr_len);
	at = hdr_len;
	for (size_t k = first; k < first + count; k++) {
		memcpy(join_buf + at, fr[k].data + l->hdr, fr[k].len - l->hdr);
		at += fr[k].len - l->hdr;
	}
	check(offload_finish_csum(join_buf, at, h.csum_start, h.csum_offset) == OFFLOAD_OK, id);
	check(l4_csum_ok(join_buf, l, PROTO_TCP, tcp_len), id);
}

/* ---- round trip: segment, then coalesce ---------------------------------- */

struct rt_case {
	int id;
	bool v6, vlan;
	uint8_t ip_opt, tcp_opt;
	size_t payload;
	uint16_t mss;
	uint8_t flags;
	size_t groups[5]; /* expected counts, 0-terminated */
};

static const struct rt_case rt_cases[] = {
	{ 1, false, false, 0, 0, 3000, 1000, F_ACK, { 3 } },
	{ 2, false, false, 0, 0, 3001, 1000, F_ACK, { 4 } },
	{ 3, true, false, 0, 0, 10000, 1000, F_ACK, { 10 } },
	{ 4, true, false, 0, 0, 9999, 1000, F_ACK, { 10 } },
	{ 5, false, true, 0, TS_OPT_LEN, 8000, 1448, F_ACK, { 6 } },
	{ 6, true, true, 0, TS_OPT_LEN, 8000, 1428, F_ACK | F_PSH, { 6 } },
	{ 7, false, true, 40, 40, 5000, 1000, F_ACK | F_PSH, { 5 } },
	{ 8, false, false, 8, TS_OPT_LEN, 2001, 1000, F_ACK, { 3 } },
	{ 9, false, false, 0, 0, V4_MAX_PAYLOAD, 1460, F_ACK | F_PSH, { 45 } },
	/* The IP packet the merged header describes stays within 65535 bytes,
	 * IPv6 header included (OFFLOAD_MAX_FRAME). */
	{ 10, true, false, 0, 0, IP_MAX - IP6_LEN - TCP_LEN, 1440, F_ACK, { 46 } },
	/* More than OFFLOAD_MAX_COALESCE segments: groups of at most 64. */
	{ 11, false, false, 0, 0, 64 * 100, 100, F_ACK, { 64 } },
	{ 12, false, false, 0, 0, 64 * 100 + 1, 100, F_ACK, { 64, 1 } },
	{ 13, false, false, 0, 0, 65 * 100, 100, F_ACK, { 64, 1 } },
	{ 14, true, false, 0, 0, 10000, 100, F_ACK | F_PSH, { 64, 36 } },
	{ 15, false, false, 0, 0, 200 * 50 + 7, 50, F_ACK, { 64, 64, 64, 9 } },
	/* One segment: nothing to merge. */
	{ 16, false, false, 0, 0, 1000, 1000, F_ACK, { 1 } },
	{ 17, true, false, 0, 0, 1, 1000, F_ACK, { 1 } },
	{ 18, false, false, 0, 0, 2, 1, F_ACK, { 2 } },
};

static void run_rt_case(const struct rt_case *c)
{
	struct spec s = base_spec(c->v6);
	struct layout l;
	struct offload_hdr h = { .gso_size = c->mss };
	struct offload_frame *fr;
	size_t len, n, stride, out_cap, i = 0, g = 0, *lens;
	uint8_t *out, *in, vnet[OFFLOAD_VNET_HDR_LEN], hdr[OFFLOAD_MAX_HEADERS];
	int r;

	s.vlan = c->vlan;
	s.ip_opt_len = c->ip_opt;
	s.tcp_opt_len = c->tcp_opt;
	s.payload_len = c->payload;
	s.flags = c->flags;
	s.partial = true;
	len = build(super_buf, &s, &l);
	in = dup_frame(super_buf, len);
	h.gso_type = c->v6 ? OFFLOAD_GSO_TCPV6 : OFFLOAD_GSO_TCPV4;
	n = div_up(c->payload, c->mss);
	out_cap = n * (l.hdr + c->mss);
	out = malloc(out_cap);
	lens = malloc(n * sizeof(*lens));
	fr = malloc(n * sizeof(*fr));
	assert_true(out && lens && fr);
	r = offload_segment(in, len, &h, out, out_cap, 0, 0, lens, n, &stride);
	check(r == (int)n, c->id);
	for (size_t k = 0; k < n; k++)
		fr[k] = (struct offload_frame){ out + k * stride, lens[k], true };
	while (i < n) {
		size_t hdr_len = 0, want, got;

		check(g + 1 < sizeof(c->groups) / sizeof(c->groups[0]), c->id);
		want = c->groups[g++];
		got = offload_coalesce_next(fr, n, i, true, vnet, hdr, &hdr_len);

		if (got != want)
			fail_msg("case %d: group at %zu: got %zu, want %zu", c->id, i, got, want);
		if (got > 1) {
			check_merged(c->id, fr, i, got, &l, vnet, hdr, hdr_len);
			check(get32(hdr + l.l4 + TCP_SEQ_AT) == (uint32_t)(s.seq + i * c->mss),
			      c->id);
			if (!c->v6)
				check(get16(hdr + l.l3 + 4) == (uint16_t)(s.ip_id + i), c->id);
		}
		if (got == n && n > 1) {
			/* One group: the super-frame's headers come back, checksums
			 * aside; its TCP field held the same pseudo-header sum. */
			for (size_t k = 0; k < l.hdr; k++)
				if (!(k >= l.l3 + 10 && k < l.l3 + 12 && !c->v6))
					check(hdr[k] == in[k], c->id);
		}
		i += got;
	}
	check(c->groups[g] == 0, c->id);
	free(fr);
	free(lens);
	free(out);
	free(in);
}

static void test_round_trip_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rt_cases) / sizeof(rt_cases[0]); i++)
		run_rt_case(&rt_cases[i]);
}

/* ---- coalescing refusals ------------------------------------------------- */

enum co_mut {
	CM_NONE,
	CM_SPORT, CM_DPORT, CM_SRC, CM_DST, CM_MAC, CM_VLAN, CM_VLAN_TCI,
	CM_SEQ_GAP, CM_SEQ_BACK, CM_ACK, CM_TSVAL, CM_NO_OPTS, CM_WIN, CM_WIN_HI, CM_NS,
	CM_SYN, CM_FIN, CM_RST, CM_URG, CM_ECE, CM_CWR, CM_NO_ACK, CM_PSH,
	CM_LEN,      /* payload length arg (0: pure ACK) */
	CM_PAD, CM_MF, CM_FRAG_OFF, CM_DF, CM_TTL, CM_TOS, CM_IP_ID, CM_FLOW,
	CM_IP_OPTS,  /* IPv4 options, TCP options shortened to keep hdr_len */
	CM_FAMILY,   /* the other IP version */
	CM_UDP, CM_V6_EXT, CM_TRUNC,
	CM_BAD_CSUM, /* last payload byte flipped after the checksum was computed */
	CM_BAD_IP_CSUM, /* a bit of the IPv4 header checksum flipped */
	CM_NO_DF,       /* every segment without DF (IP IDs count up by one) */
	CM_NO_DF_ID,    /* ... and the victim's IP ID out of step */
	CM_PARTIAL,     /* every segment's TCP checksum left partial (none checked) */
	CM_PARTIAL_BAD_IP, /* ... and the victim's IPv4 header checksum wrong */
	CM_PARTIAL_BAD_SEED, /* ... and the victim's field not its pseudo-header sum */
	CM_PARTIAL_MIXED,  /* odd segments partial, even ones complete */
	/* Every segment with IPv4 options, IPv6 hop-by-hop options or two VLAN
	 * tags; the victim's differ in content, not in length. */
	CM_IP_OPT_BYTE, CM_V6_PAD_BYTE, CM_INNER_TCI, CM_OUTER_TCI,
};

struct co_case {
	int id;
	bool v6, vlan;
	size_t n, mss, first, victim;
	enum co_mut mut;
	size_t arg, want;
};

#define ROOM_V4 (IP_MAX - IP4_LEN - TCP_LEN - TS_OPT_LEN - 46 * 1400)
#define ROOM_V6 (IP_MAX - IP6_LEN - TCP_LEN - TS_OPT_LEN - 46 * 1400)

static const struct co_case co_cases[] = {
	{ 1, false, false, 4, 100, 0, 0, CM_NONE, 0, 4 },
	{ 2, true, false, 4, 100, 0, 0, CM_NONE, 0, 4 },
	{ 3, false, true, 4, 100, 0, 0, CM_NONE, 0, 4 },
	{ 4, false, false, 4, 100, 1, 0, CM_NONE, 0, 3 },
	{ 5, false, false, 4, 100, 3, 0, CM_NONE, 0, 1 },
	/* Another flow. */
	{ 6, false, false, 4, 100, 0, 1, CM_SPORT, 0, 1 },
	{ 7, false, false, 4, 100, 0, 2, CM_DPORT, 0, 2 },
	{ 8, false, false, 4, 100, 0, 1, CM_SRC, 0, 1 },
	{ 9, true, false, 4, 100, 0, 1, CM_SRC, 0, 1 },
	{ 10, true, false, 4, 100, 0, 3, CM_DST, 0, 3 },
	{ 11, false, false, 4, 100, 0, 1, CM_MAC, 0, 1 },
	{ 12, false, false, 4, 100, 0, 1, CM_VLAN, 0, 1 },
	{ 13, false, true, 4, 100, 0, 1, CM_VLAN_TCI, 0, 1 },
	{ 14, false, false, 4, 100, 0, 1, CM_FAMILY, 0, 1 },
	{ 15, true, false, 4, 100, 0, 2, CM_FAMILY, 0, 2 },
	/* Sequence numbers must follow on. */
	{ 16, false, false, 4, 100, 0, 1, CM_SEQ_GAP, 0, 1 },
	{ 17, false, false, 4, 100, 0, 2, CM_SEQ_BACK, 0, 2 },
	{ 18, true, false, 4, 100, 0, 1, CM_SEQ_GAP, 0, 1 },
	/* Other TCP header fields. */
	{ 19, false, false, 4, 100, 0, 1, CM_ACK, 0, 1 },
	{ 20, false, false, 4, 100, 0, 1, CM_TSVAL, 0, 1 },
	{ 21, true, false, 4, 100, 0, 2, CM_TSVAL, 0, 2 },
	{ 22, false, false, 4, 100, 0, 1, CM_NO_OPTS, 0, 1 },
	{ 23, false, false, 4, 100, 0, 1, CM_WIN, 0, 1 },
	{ 24, true, false, 4, 100, 0, 3, CM_WIN_HI, 0, 3 },
	{ 25, false, false, 4, 100, 0, 1, CM_NS, 0, 1 },
	/* Flags: only ACK, and PSH to end a group. */
	{ 26, false, false, 4, 100, 0, 0, CM_SYN, 0, 1 },
	{ 27, false, false, 4, 100, 0, 1, CM_SYN, 0, 1 },
	{ 28, false, false, 4, 100, 0, 1, CM_FIN, 0, 1 },
	{ 29, false, false, 4, 100, 0, 3, CM_FIN, 0, 3 },
	{ 30, false, false, 4, 100, 0, 0, CM_FIN, 0, 1 },
	{ 31, false, false, 4, 100, 0, 2, CM_RST, 0, 2 },
	{ 32, false, false, 4, 100, 0, 1, CM_URG, 0, 1 },
	{ 33, true, false, 4, 100, 0, 1, CM_ECE, 0, 1 },
	{ 34, false, false, 4, 100, 0, 0, CM_CWR, 0, 1 },
	{ 35, false, false, 4, 100, 0, 1, CM_CWR, 0, 1 },
	{ 36, false, false, 4, 100, 0, 1, CM_NO_ACK, 0, 1 },
	{ 37, false, false, 4, 100, 0, 0, CM_NO_ACK, 0, 1 },
	{ 38, false, false, 4, 100, 0, 1, CM_PSH, 0, 2 },
	{ 39, true, false, 4, 100, 0, 3, CM_PSH, 0, 4 },
	{ 40, false, false, 4, 100, 0, 0, CM_PSH, 0, 1 },
	{ 41, false, false, 4, 100, 2, 3, CM_PSH, 0, 2 },
	/* Payload lengths: no pure ACKs, all gso_size long but the last. */
	{ 42, false, false, 4, 100, 0, 0, CM_LEN, 0, 1 },
	{ 43, false, false, 4, 100, 0, 1, CM_LEN, 0, 1 },
	{ 44, false, false, 4, 100, 0, 1, CM_LEN, 50, 2 },
	{ 45, true, false, 4, 100, 0, 2, CM_LEN, 1, 3 },
	{ 46, false, false, 4, 100, 0, 3, CM_LEN, 99, 4 },
	{ 47, false, false, 4, 100, 0, 1, CM_LEN, 101, 1 },
	{ 48, false, false, 4, 100, 0, 3, CM_LEN, 101, 3 },
	{ 49, false, false, 4, 100, 0, 0, CM_LEN, 50, 1 },
	{ 50, false, false, 4, 100, 0, 0, CM_LEN, 150, 2 },
	/* IP fields. */
	{ 51, false, false, 4, 100, 0, 1, CM_PAD, 0, 1 },
	{ 52, false, false, 4, 100, 0, 0, CM_PAD, 0, 1 },
	{ 53, true, false, 4, 100, 0, 2, CM_PAD, 0, 2 },
	{ 54, false, false, 4, 100, 0, 1, CM_MF, 0, 1 },
	{ 55, false, false, 4, 100, 0, 0, CM_MF, 0, 1 },
	{ 56, false, false, 4, 100, 0, 2, CM_FRAG_OFF, 0, 2 },
	{ 57, false, false, 4, 100, 0, 1, CM_DF, 0, 1 },
	{ 58, false, false, 4, 100, 0, 1, CM_TTL, 0, 1 },
	{ 59, true, false, 4, 100, 0, 1, CM_TTL, 0, 1 },
	{ 60, false, false, 4, 100, 0, 1, CM_TOS, 0, 1 },
	{ 61, true, false, 4, 100, 0, 1, CM_TOS, 0, 1 },
	{ 62, true, false, 4, 100, 0, 1, CM_FLOW, 0, 1 },
	{ 63, false, false, 4, 100, 0, 1, CM_IP_OPTS, 0, 1 },
	{ 64, false, false, 4, 100, 0, 1, CM_UDP, 0, 1 },
	{ 65, true, false, 4, 100, 0, 0, CM_V6_EXT, 0, 1 },
	{ 66, true, false, 4, 100, 0, 1, CM_V6_EXT, 0, 1 },
	{ 67, false, false, 4, 100, 0, 1, CM_TRUNC, 0, 1 },
	{ 68, false, false, 4, 100, 0, 0, CM_TRUNC, 0, 1 },
	/* With DF, IP IDs are the merge's to rewrite, not to match (so are
	 * checksums, once each is right). */
	{ 69, false, false, 4, 100, 0, 2, CM_IP_ID, 0, 4 },
	/* 65535-byte IP packet: exactly, and one byte over. */
	{ 70, false, false, 47, 1400, 0, 46, CM_LEN, ROOM_V4, 47 },
	{ 71, false, false, 47, 1400, 0, 46, CM_LEN, ROOM_V4 + 1, 46 },
	{ 72, true, false, 47, 1400, 0, 46, CM_LEN, ROOM_V6, 47 },
	{ 73, true, false, 47, 1400, 0, 46, CM_LEN, ROOM_V6 + 1, 46 },
	/* At most OFFLOAD_MAX_COALESCE frames. */
	{ 74, false, false, 63, 10, 0, 0, CM_NONE, 0, 63 },
	{ 75, false, false, 64, 10, 0, 0, CM_NONE, 0, 64 },
	{ 76, false, false, 65, 10, 0, 0, CM_NONE, 0, 64 },
	{ 77, true, false, 80, 10, 0, 0, CM_NONE, 0, 64 },
	{ 78, false, false, 80, 10, 64, 0, CM_NONE, 0, 16 },
	{ 79, false, false, 80, 10, 1, 0, CM_NONE, 0, 64 },
	/* n bounds the search, whatever follows. */
	{ 80, false, false, 1, 100, 0, 0, CM_NONE, 0, 1 },
	/* The window's high byte alone (case 23 changes the low one). */
	{ 81, false, false, 4, 100, 0, 2, CM_WIN_HI, 0, 2 },
	/* A corrupted segment is never merged: it ends the group, or stands alone. */
	{ 82, false, false, 4, 100, 0, 2, CM_BAD_CSUM, 0, 2 },
	{ 83, false, false, 4, 100, 0, 0, CM_BAD_CSUM, 0, 1 },
	{ 84, true, true, 4, 100, 0, 1, CM_BAD_CSUM, 0, 1 },
	/* ... nor one whose IPv4 header does not add up: the merge writes a
	 * fresh header checksum, which would make it look right. */
	{ 85, false, false, 4, 100, 0, 2, CM_BAD_IP_CSUM, 0, 2 },
	{ 86, false, false, 4, 100, 0, 0, CM_BAD_IP_CSUM, 0, 1 },
	{ 87, false, true, 4, 100, 0, 1, CM_BAD_IP_CSUM, 0, 1 },
	/* Without DF the IDs matter (fragments are reassembled by them) and
	 * must count up by one, as the merged frame's segments will; the
	 * trains' IDs wrap past 0xffff from the 16th segment. */
	{ 88, false, false, 4, 100, 0, 0, CM_NO_DF, 0, 4 },
	{ 89, false, false, 20, 10, 0, 0, CM_NO_DF, 0, 20 },
	{ 90, false, true, 4, 100, 0, 2, CM_NO_DF_ID, 0, 2 },
	{ 91, false, false, 20, 10, 0, 17, CM_NO_DF_ID, 0, 17 },
	{ 92, false, false, 4, 100, 1, 1, CM_NO_DF_ID, 0, 1 },
	{ 93, false, false, 4, 100, 2, 1, CM_NO_DF_ID, 0, 2 },
	/* A checksum left partial by the sender is not there to check yet: its
	 * field holds the pseudo-header sum, which would fail as a full one. */
	{ 94, false, false, 4, 100, 0, 0, CM_PARTIAL, 0, 4 },
	{ 95, true, true, 4, 100, 0, 2, CM_PARTIAL, 0, 4 },
	{ 96, true, false, 20, 1400, 0, 19, CM_PARTIAL, 0, 20 },
	/* The IPv4 header's checksum is still the sender's and still checked. */
	{ 97, false, false, 4, 100, 0, 2, CM_PARTIAL_BAD_IP, 0, 2 },
	{ 98, false, true, 4, 100, 0, 0, CM_PARTIAL_BAD_IP, 0, 1 },
	/* ... and so is the pseudo-header sum the field must hold: one made
	 * another way (a source route, a wrong sender) would be finished wrong. */
	{ 99, false, false, 4, 100, 0, 2, CM_PARTIAL_BAD_SEED, 0, 2 },
	{ 100, true, false, 4, 100, 0, 0, CM_PARTIAL_BAD_SEED, 0, 1 },
	/* Partial and complete checksums side by side merge alike. */
	{ 101, false, false, 6, 100, 0, 0, CM_PARTIAL_MIXED, 0, 6 },
	{ 102, true, true, 6, 100, 1, 0, CM_PARTIAL_MIXED, 0, 5 },
	/* Headers that differ only in content are other flows' (or altered):
	 * options, padding and tags must match byte for byte. With no victim
	 * (99) the same trains merge whole. */
	{ 103, false, false, 4, 100, 0, 99, CM_IP_OPT_BYTE, 0, 4 },
	{ 104, false, false, 4, 100, 0, 2, CM_IP_OPT_BYTE, 0, 2 },
	{ 105, true, false, 4, 100, 0, 99, CM_V6_PAD_BYTE, 0, 4 },
	{ 106, true, false, 4, 100, 0, 1, CM_V6_PAD_BYTE, 0, 1 },
	{ 107, false, true, 4, 100, 0, 99, CM_INNER_TCI, 0, 4 },
	{ 108, false, true, 4, 100, 0, 3, CM_INNER_TCI, 0, 3 },
	{ 109, true, true, 4, 100, 0, 1, CM_OUTER_TCI, 0, 1 },
};

/* Mutations of the victim's spec; the rest are made after building. */
static void mutate_spec(struct spec *s, enum co_mut m, size_t arg)
{
	switch (m) {
	case CM_SPORT: s->sport++; break;
	case CM_DPORT: s->dport++; break;
	case CM_SRC: s->src_last = 9; break;
	case CM_DST: s->dst_last = 9; break;
	case CM_MAC: s->mac_last = 9; break;
	case CM_VLAN: s->vlan = true; break;
	case CM_VLAN_TCI: s->vlan_tci++; break;
	case CM_SEQ_GAP: s->seq++; break;
	case CM_SEQ_BACK: s->seq--; break;
	case CM_ACK: s->ack++; break;
	case CM_TSVAL: s->tsval++; break;
	case CM_NO_OPTS: s->tcp_opt_len = 0; break;
	case CM_WIN: s->win++; break;
	case CM_WIN_HI: s->win += 0x100; break;
	case CM_NS: s->ns = true; break;
	case CM_SYN: s->flags |= F_SYN; break;
	case CM_FIN: s->flags |= F_FIN; break;
	case CM_RST: s->flags |= F_RST; break;
	case CM_URG: s->flags |= F_URG; break;
	case CM_ECE: s->flags |= F_ECE; break;
	case CM_CWR: s->flags |= F_CWR; break;
	case CM_NO_ACK: s->flags = F_PSH; break;
	case CM_PSH: s->flags |= F_PSH; break;
	case CM_LEN: s->payload_len = arg; break;
	case CM_PAD: s->pad = 6; break;
	case CM_MF: s->frag |= IP_MF; break;
	case CM_FRAG_OFF: s->frag |= 1; break;
	case CM_DF: s->frag = 0; break;
	case CM_TTL: s->ttl--; break;
	case CM_TOS: s->tos = 2; break; /* ECT(0) */
	case CM_IP_ID: s->ip_id = 0x7777; break;
	case CM_FLOW: s->flow++; break;
	case CM_IP_OPTS:
		s->ip_opt_len = 4;
		s->tcp_opt_len = TS_OPT_LEN - 4;
		break;
	case CM_FAMILY: s->v6 = !s->v6; break;
	case CM_UDP: s->proto = PROTO_UDP; break;
	case CM_V6_EXT: s->v6_ext = true; break;
	case CM_IP_OPT_BYTE: s->ip_opt_last = 0; break; /* END */
	case CM_V6_PAD_BYTE: s->v6_pad = 0x5a; break;
	case CM_INNER_TCI: s->vlan_tci++; break;
	case CM_OUTER_TCI: s->outer_tci++; break;
	default: break;
	}
}

struct train {
	struct offload_frame fr[MAX_TRAIN];
	struct layout lay[MAX_TRAIN];
	size_t n;
};

/* n frames of one flow, mss payload bytes each, contiguous; the victim mutated. */
static void build_train(struct train *t, const struct co_case *c)
{
	uint32_t seq = 0xfffff000; /* wraps within the longer trains */

	t->n = c->n;
	for (size_t k = 0; k < c->n; k++) {
		struct spec s = base_spec(c->v6);
		size_t len;

		s.vlan = c->vlan;
		s.tcp_opt_len = TS_OPT_LEN;
		s.seq = seq;
		s.ip_id = (uint16_t)(0xfff0 + k);
		if (c->mut == CM_NO_DF || c->mut == CM_NO_DF_ID)
			s.frag = 0;
		if (c->mut == CM_IP_OPT_BYTE) {
			s.ip_opt_len = 4;
			s.tcp_opt_len = TS_OPT_LEN - 4;
		}
		s.v6_ext = c->mut == CM_V6_PAD_BYTE;
		s.qinq = c->mut == CM_INNER_TCI || c->mut == CM_OUTER_TCI;
		s.partial = c->mut == CM_PARTIAL || c->mut == CM_PARTIAL_BAD_IP ||
			    c->mut == CM_PARTIAL_BAD_SEED || (c->mut == CM_PARTIAL_MIXED && k % 2);
		if (k == c->victim && c->mut == CM_NO_DF_ID)
			s.ip_id = (uint16_t)(s.ip_id + 2);
		s.payload = pattern + k * c->mss % 4096;
		s.payload_len = c->mss;
		if (k == c->victim)
			mutate_spec(&s, c->mut, c->arg);
		seq += (uint32_t)s.payload_len;
		len = build(super_buf, &s, &t->lay[k]);
		if (k == c->victim && c->mut == CM_TRUNC)
			len = t->lay[k].end - 1;
		if (k == c->victim && c->mut == CM_BAD_CSUM)
			super_buf[t->lay[k].end - 1] ^= 1;
		if (k == c->victim && (c->mut == CM_BAD_IP_CSUM || c->mut == CM_PARTIAL_BAD_IP))
			super_buf[t->lay[k].l3 + 10] ^= 0x40;
		if (k == c->victim && c->mut == CM_PARTIAL_BAD_SEED)
			super_buf[t->lay[k].l4 + TCP_CSUM_AT + 1] ^= 1;
		t->fr[k] = (struct offload_frame){ dup_frame(super_buf, len), len, s.partial };
	}
}

static void free_train(struct train *t)
{
	for (size_t k = 0; k < t->n; k++)
		free(t->fr[k].data);
}

/* The pseudo-header sum with another destination than the IP header's: where
 * a source route or a routing header makes the kernel sum the last hop. */
static uint64_t pseudo_to(const uint8_t *f, const struct layout *l, const uint8_t *dst,
			  size_t l4_len)
{
	uint64_t sum = PROTO_TCP + l4_len;

	if (l->v6)
		return naive_sum(naive_sum(sum, f + l->l3 + 8, 16), dst, 16);
	return naive_sum(naive_sum(sum, f + l->l3 + 12, 4), dst, 4);
}

/* Cuts super_buf (len bytes, headers as in l, TCP header at l4, checksum
 * seeded for dst) and checks what offload_segment_finished makes of it. */
static void check_finished(size_t len, const struct layout *l, const uint8_t *dst, size_t mss)
{
	static uint8_t out[BUF_LEN];
	struct offload_hdr h = {
		.flags = OFFLOAD_F_NEEDS_CSUM,
		.gso_type = l->v6 ? OFFLOAD_GSO_TCPV6 : OFFLOAD_GSO_TCPV4,
		.hdr_len = (uint16_t)l->hdr,
		.gso_size = (uint16_t)mss,
		.csum_start = (uint16_t)l->l4,
		.csum_offset = TCP_CSUM_AT,
	};
	size_t lens[16], stride = 0, payload = l->end - l->hdr, want = (payload + mss - 1) / mss;
	uint32_t seq = get32(super_buf + l->l4 + 4);
	struct offload_hdr bad;
	int n;

	put16(super_buf + l->l4 + TCP_CSUM_AT,
	      naive_fold(pseudo_to(super_buf, l, dst, l->end - l->l4)));
	/* The partial path cannot read these headers... */
	assert_int_equal(offload_segment(super_buf, len, &h, out, sizeof(out), 0, 0, lens, 16,
					 &stride),
			 -OFFLOAD_BAD_GSO);
	/* ... nor this one a header that disagrees with the frame. */
	bad = h;
	bad.csum_start -= 4;
	assert_int_equal(offload_segment_finished(super_buf, len, &bad, out, sizeof(out), 0, 0,
						  lens, 16, &stride),
			 -OFFLOAD_BAD_GSO);
	bad = h;
	bad.csum_offset = 6;
	assert_int_equal(offload_segment_finished(super_buf, len, &bad, out, sizeof(out), 0, 0,
						  lens, 16, &stride),
			 -OFFLOAD_BAD_GSO);
	bad = h;
	bad.flags = 0;
	assert_int_equal(offload_segment_finished(super_buf, len, &bad, out, sizeof(out), 0, 0,
						  lens, 16, &stride),
			 -OFFLOAD_BAD_GSO);
	n = offload_segment_finished(super_buf, len, &h, out, sizeof(out), 0, 0, lens, 16, &stride);
	assert_int_equal(n, (int)want);
	for (int i = 0; i < n; i++) {
		const uint8_t *seg = out + (size_t)i * stride;
		size_t plen = lens[i] - l->hdr, l4_len = lens[i] - l->l4;

		assert_int_equal(plen, i + 1 < n ? mss : payload - (size_t)i * mss);
		/* The headers as in the super-frame, options and routing header
		 * included, but for lengths, the IPv4 ID and checksums. */
		assert_memory_equal(seg, super_buf, l->l3 + (l->v6 ? 4 : 2));
		if (l->v6) {
			assert_memory_equal(seg + l->l3 + 6, super_buf + l->l3 + 6,
					    l->l4 - l->l3 - 6);
		} else {
			assert_memory_equal(seg + l->l3 + 6, super_buf + l->l3 + 6, 4);
			assert_memory_equal(seg + l->l3 + 12, super_buf + l->l3 + 12,
					    l->l4 - l->l3 - 12);
			assert_int_equal(get16(seg + l->l3 + 4),
					 (uint16_t)(get16(super_buf + l->l3 + 4) + i));
		}
		assert_memory_equal(seg + l->hdr, super_buf + l->hdr + (size_t)i * mss, plen);
		if (l->v6) {
			assert_int_equal(get16(seg + l->l3 + 4), lens[i] - l->l3 - IP6_LEN);
		} else {
			assert_int_equal(get16(seg + l->l3 + 2), lens[i] - l->l3);
			assert_true(ipv4_csum_ok(seg, l));
		}
		assert_int_equal(get32(seg + l->l4 + 4), seq + (uint32_t)((size_t)i * mss));
		/* Complete, over the pseudo-header the kernel used. */
		assert_int_equal(naive_fold(naive_sum(pseudo_to(seg, l, dst, l4_len), seg + l->l4,
						      l4_len)),
				 0xffff);
	}
}

/* Super-frames whose checksums' destination is not the IP header's (an IPv4
 * loose source route, an IPv6 routing header as Segment Routing's inline
 * mode adds): cut where the kernel's header says, checksums finished from the
 * kernel's own pseudo-header sum. */
static void test_segment_finished(void **state)
{
	static const uint8_t last_hop4[4] = { 10, 0, 0, 77 };
	static const uint8_t last_hop6[16] = { 0xfd, 0, [15] = 77 };
	struct spec sp = base_spec(false);
	struct layout l;
	size_t len, rh = 24;
	uint8_t *ip;

	(void)state;
	/* IPv4: LSRR (type, length 7, pointer, the last hop), then END. */
	sp.ip_opt_len = 8;
	sp.tcp_opt_len = 0;
	sp.payload_len = 3500;
	len = build(super_buf, &sp, &l);
	ip = super_buf + l.l3;
	memcpy(ip + IP4_LEN, (const uint8_t[4]){ 0x83, 7, 4, 0 }, 3);
	memcpy(ip + IP4_LEN + 3, last_hop4, 4);
	ip[IP4_LEN + 7] = 0;
	check_finished(len, &l, last_hop4, 1000);

	/* IPv6: a 24-byte segment routing header before TCP. */
	sp = base_spec(true);
	sp.payload_len = 3000;
	len = build(super_buf, &sp, &l);
	ip = super_buf + l.l3;
	memmove(super_buf + l.l4 + rh, super_buf + l.l4, len - l.l4);
	memset(super_buf + l.l4, 0, rh);
	super_buf[l.l4] = ip[6]; /* next header: TCP */
	super_buf[l.l4 + 1] = (uint8_t)(rh / 8 - 1);
	super_buf[l.l4 + 2] = 4; /* segment routing */
	memcpy(super_buf + l.l4 + 8, last_hop6, 16);
	ip[6] = 43; /* routing */
	put16(ip + 4, (uint32_t)(get16(ip + 4) + rh));
	len += rh;
	l.l4 += rh;
	l.hdr += rh;
	l.end += rh;
	check_finished(len, &l, last_hop6, 1200);
}

/* Two VLAN tags, an 802.1ad or an 802.1Q outer one over an 802.1Q one (VLAN
 * devices stacked; Linux makes both 802.1Q unless told otherwise): segments
 * keep both tags and verify; coalescing them gives the headers back. */
static void test_qinq(void **state)
{
	static const uint16_t outer_types[] = { 0x88a8, 0x8100 };
	static uint8_t qinq[BUF_LEN], out[BUF_LEN];
	struct spec sp = base_spec(false);
	struct offload_hdr h = { .gso_type = OFFLOAD_GSO_TCPV4, .gso_size = 1000 };
	struct offload_frame fr[8];
	struct layout lay, seg_lay;
	uint8_t vnet[OFFLOAD_VNET_HDR_LEN], hdr[OFFLOAD_MAX_HEADERS];
	size_t len, lens[8], stride = 0, hdr_len = 0;
	int n;

	(void)state;
	sp.vlan = true;
	sp.payload_len = 3500;
	len = build(super_buf, &sp, &lay);
	for (size_t t = 0; t < sizeof(outer_types) / sizeof(outer_types[0]); t++) {
		memcpy(qinq, super_buf, 12);
		put16(qinq + 12, outer_types[t]);
		put16(qinq + 14, 7);
		memcpy(qinq + 16, super_buf + 12, len - 12);
		n = offload_segment(qinq, len + 4, &h, out, sizeof(out), 0, 0, lens, 8, &stride);
		assert_int_equal(n, 4);
		seg_lay = lay;
		seg_lay.l3 += 4;
		seg_lay.l4 += 4;
		for (int i = 0; i < n; i++) {
			uint8_t *seg = out + (size_t)i * stride;

			assert_memory_equal(seg, qinq, 22); /* MACs and both tags */
			assert_true(ipv4_csum_ok(seg, &seg_lay));
			assert_true(partial_ok(seg, lens[i], &seg_lay, PROTO_TCP));
			fr[i] = (struct offload_frame){ seg, lens[i], true };
		}
		assert_int_equal(offload_coalesce_next(fr, (size_t)n, 0, true, vnet, hdr, &hdr_len),
				 4);
		assert_int_equal(hdr_len, seg_lay.l4 + (lay.hdr - lay.l4));
		assert_memory_equal(hdr, qinq, 22);
	}
}

static void test_coalesce_table(void **state)
{
	static struct train t;

	(void)state;
	for (size_t i = 0; i < sizeof(co_cases) / sizeof(co_cases[0]); i++) {
		const struct co_case *c = &co_cases[i];
		uint8_t vnet[OFFLOAD_VNET_HDR_LEN], hdr[OFFLOAD_MAX_HEADERS];
		size_t hdr_len = 0, got;

		build_train(&t, c);
		got = offload_coalesce_next(t.fr, t.n, c->first, true, vnet, hdr, &hdr_len);
		if (got != c->want)
			fail_msg("coalesce case %d: got %zu, want %zu", c->id, got, c->want);
		if (got > 1)
			check_merged(c->id, t.fr, c->first, got, &t.lay[c->first], vnet, hdr,
				     hdr_len);
		free_train(&t);
	}
}

/* ---- randomized: segment, coalesce, compare with a naive model ----------- */

static uint64_t rng_state = 0x243f6a8885a308d3u;

static uint32_t rnd(uint32_t bound)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return bound ? (uint32_t)(rng_state % bound) : 0;
}

/* How many of the segments, described by flags and payload lengths, one
 * coalesce call should take from first: the header's rules, spelled out. */
static size_t model_group(const uint8_t *flags, const size_t *plen, size_t n, size_t first,
			  size_t ip_hdr_len)
{
	size_t count = 1, total = plen[first];

#define PLAIN(k) (plen[k] > 0 && (flags[k] & (uint8_t)~F_PSH) == F_ACK)
	if (!PLAIN(first) || (flags[first] & F_PSH))
		return 1;
	for (size_t j = first + 1; j < n && count < OFFLOAD_MAX_COALESCE; j++) {
		if (!PLAIN(j) || plen[j] > plen[first] || ip_hdr_len + total + plen[j] > IP_MAX)
			break;
		count++;
		total += plen[j];
		if ((flags[j] & F_PSH) || plen[j] < plen[first])
			break;
	}
#undef PLAIN
	return count;
}

static void random_round(int id)
{
	static const uint8_t extra[] = { F_PSH, F_FIN, F_CWR, F_ECE, F_URG };
	struct spec s = base_spec(rnd(2));
	struct layout l;
	struct offload_hdr h = { .flags = OFFLOAD_F_NEEDS_CSUM };
	static uint8_t seg_flags[IP_MAX];
	static size_t plen[IP_MAX];
	size_t len, n, mss, max_payload, headroom = rnd(40), tailroom = rnd(40), stride, out_cap,
	       joined = 0, *lens;
	struct offload_frame *fr;
	uint8_t *in, *out;
	int r;

	s.vlan = rnd(4) == 0;
	s.ip_opt_len = s.v6 || rnd(4) ? 0 : (uint8_t)(4 * rnd(11));
	s.tcp_opt_len = rnd(2) ? TS_OPT_LEN : (uint8_t)(4 * rnd(11));
	s.flags = rnd(8) ? F_ACK : 0;
	for (size_t k = 0; k < sizeof(extra); k++)
		if (rnd(5) == 0)
			s.flags |= extra[k];
	s.seq = (uint32_t)rnd(UINT32_MAX);
	s.ip_id = (uint16_t)rnd(0x10000);
	s.partial = true;
	s.payload = pattern + rnd(1000);
	max_payload = IP_MAX - (s.v6 ? IP6_LEN : IP4_LEN + s.ip_opt_len) - TCP_LEN - s.tcp_opt_len;
	s.payload_len = rnd(3) ? rnd((uint32_t)max_payload + 1) : rnd(5000);
	mss = 1 + rnd(rnd(4) ? 1500 : 9000);
	if (s.payload_len / mss > 2000)
		mss = s.payload_len / 2000 + 1;
	len = build(super_buf, &s, &l);
	in = dup_frame(super_buf, len);
	h.gso_type = (uint8_t)((s.v6 ? OFFLOAD_GSO_TCPV6 : OFFLOAD_GSO_TCPV4) |
			       (rnd(2) ? OFFLOAD_GSO_ECN : 0));
	h.gso_size = (uint16_t)mss;
	n = s.payload_len ? div_up(s.payload_len, mss) : 1;
	stride = headroom + l.hdr + mss + tailroom;
	out_cap = n * stride + rnd(2) * rnd((uint32_t)stride);
	out = malloc(out_cap);
	lens = malloc(n * sizeof(*lens));
	fr = malloc(n * sizeof(*fr));
	assert_true(out && lens && fr);
	memset(out, 0xa5, out_cap);
	r = offload_segment(in, len, &h, out, out_cap, headroom, tailroom, lens, n, &stride);
	if (r != (int)n)
		fail_msg("random %d: segment returned %d, want %zu", id, r, n);
	check_segments(id, out, out_cap, lens, n, stride, headroom, tailroom, in, &l, &s, mss);
	for (size_t k = 0; k < n; k++) {
		fr[k] = (struct offload_frame){ out + k * stride + headroom, lens[k], true };
		plen[k] = lens[k] - l.hdr;
		seg_flags[k] = s.flags;
		if (k + 1 < n)
			seg_flags[k] &= (uint8_t)~(F_FIN | F_PSH);
		if (k > 0)
			seg_flags[k] &= (uint8_t)~F_CWR;
	}
	for (size_t i = 0; i < n;) {
		uint8_t vnet[OFFLOAD_VNET_HDR_LEN], hdr[OFFLOAD_MAX_HEADERS];
		size_t hdr_len = 0;
		size_t got = offload_coalesce_next(fr, n, i, true, vnet, hdr, &hdr_len);
		size_t want = model_group(seg_flags, plen, n, i, l.hdr - l.l3);

		if (got != want)
			fail_msg("random %d: group at %zu of %zu: got %zu, want %zu", id, i, n,
				 got, want);
		if (got > 1)
			check_merged(id, fr, i, got, &l, vnet, hdr, hdr_len);
		for (size_t k = i; k < i + got; k++) {
			check(memcmp(fr[k].data + l.hdr, in + l.hdr + joined, plen[k]) == 0, id);
			joined += plen[k];
		}
		i += got;
	}
	check(joined == s.payload_len, id);
	free(fr);
	free(lens);
	free(out);
	free(in);
}

static void test_random_round_trips(void **state)
{
	(void)state;
	for (int i = 0; i < 400; i++)
		random_round(i);
}

/* ---- UDP: segmentation (USO) and coalescing ------------------------------ */

#define UDP_LEN 8
#define UDP_CSUM_AT 6

/* Ethernet [+ VLAN] + IPv4/IPv6 + UDP + payload. The UDP checksum is complete,
 * the pseudo-header sum (partial, as a USO super-frame carries), or none
 * (zero_csum). */
static size_t build_udp(uint8_t *f, const struct spec *s, bool zero_csum, struct layout *l)
{
	size_t udp_len = UDP_LEN + s->payload_len;
	struct spec ip = *s;
	uint8_t *udp;

	put_link(f, s, l);
	ip.proto = PROTO_UDP;
	l->l4 = l->l3 + put_ip(f + l->l3, &ip, udp_len);
	udp = f + l->l4;
	put16(udp, s->sport);
	put16(udp + 2, s->dport);
	put16(udp + 4, (uint32_t)udp_len);
	put16(udp + UDP_CSUM_AT, 0);
	l->hdr = l->l4 + UDP_LEN;
	memcpy(f + l->hdr, s->payload, s->payload_len);
	l->end = l->hdr + s->payload_len;
	memset(f + l->end, 0, s->pad);
	l->len = l->end + s->pad;
	if (s->partial) {
		put16(udp + UDP_CSUM_AT, naive_fold(naive_pseudo(f, l, PROTO_UDP, udp_len)));
	} else if (!zero_csum) {
		uint16_t c = (uint16_t)~naive_fold(
			naive_sum(naive_pseudo(f, l, PROTO_UDP, udp_len), udp, udp_len));

		put16(udp + UDP_CSUM_AT, c ? c : 0xffff);
	}
	return l->len;
}

/* Cut frame (a USO super-frame) into exact-size copies in fr; returns the count. */
static int cut_udp(int id, const uint8_t *frame, size_t len, uint16_t mss, uint8_t gso_type,
		   struct offload_frame *fr, size_t max)
{
	struct offload_hdr h = { .gso_type = gso_type, .gso_size = mss };
	size_t out_cap = max * (OFFLOAD_MAX_HEADERS + (size_t)mss), stride = 0;
	size_t *lens = malloc(max * sizeof(*lens));
	uint8_t *out = malloc(out_cap);
	int n;

	check(out && lens, id);
	n = offload_segment(frame, len, &h, out, out_cap, 0, 0, lens, max, &stride);
	for (int i = 0; i < n; i++) {
		uint8_t *copy = dup_frame(out + (size_t)i * stride, lens[i]);

		fr[i] = (struct offload_frame){ copy, lens[i], true };
	}
	free(lens);
	free(out);
	return n;
}

static void free_frames(struct offload_frame *fr, size_t n)
{
	for (size_t k = 0; k < n; k++)
		free(fr[k].data);
}

struct uso_case {
	int id;
	bool v6, vlan;
	uint8_t ip_opt;
	size_t payload;
	uint16_t mss, ip_id;
	uint8_t gso; /* GSO_AUTO: OFFLOAD_GSO_UDP_L4 */
	enum { UM_NONE, UM_TCP, UM_UDP_LEN, UM_MF } mut;
	int want;
};

static const struct uso_case uso_cases[] = {
	{ 1, false, false, 0, 3000, 1000, 7, GSO_AUTO, UM_NONE, 3 },
	{ 2, false, false, 0, 3001, 1000, 7, GSO_AUTO, UM_NONE, 4 },
	{ 3, true, false, 0, 3500, 1000, 7, GSO_AUTO, UM_NONE, 4 },
	{ 4, false, true, 0, 1000, 1000, 7, GSO_AUTO, UM_NONE, 1 },
	{ 5, false, false, 8, 2000, 64, 0xfff0, GSO_AUTO, UM_NONE, 32 }, /* IDs wrap */
	{ 6, true, true, 0, 64 * 64, 64, 7, GSO_AUTO, UM_NONE, 64 },
	{ 7, false, false, 0, 0, 1000, 7, GSO_AUTO, UM_NONE, 1 },
	/* Not a UDP super-frame of the announced kind. */
	{ 8, false, false, 0, 3000, 1000, 7, OFFLOAD_GSO_TCPV4, UM_NONE, BAD_GSO },
	{ 9, false, false, 0, 3000, 1000, 7, OFFLOAD_GSO_UDP_L4 | OFFLOAD_GSO_ECN, UM_NONE,
	  BAD_GSO },
	{ 10, false, false, 0, 3000, 1000, 7, GSO_AUTO, UM_TCP, BAD_GSO },
	{ 11, true, false, 0, 3000, 1000, 7, GSO_AUTO, UM_UDP_LEN, BAD_GSO },
	{ 12, false, false, 0, 3000, 1000, 7, GSO_AUTO, UM_MF, BAD_GSO },
	{ 13, false, false, 0, 3000, 0, 7, GSO_AUTO, UM_NONE, BAD_GSO },
};

/* Each datagram: the super-frame's headers but for lengths, ID and checksums,
 * its slice of the payload, every checksum right and the UDP one not zero. */
static void run_uso_case(const struct uso_case *c)
{
	struct spec s = base_spec(c->v6);
	struct offload_frame fr[64];
	struct layout l, sl;
	size_t len, off = 0;
	int n;

	s.vlan = c->vlan;
	s.ip_opt_len = c->ip_opt;
	s.ip_id = c->ip_id;
	s.payload = pattern + 5;
	s.payload_len = c->payload;
	s.partial = true;
	len = build_udp(super_buf, &s, false, &l);
	if (c->mut == UM_TCP)
		len = build(super_buf, &s, &l);
	if (c->mut == UM_UDP_LEN)
		put16(super_buf + l.l4 + 4, get16(super_buf + l.l4 + 4) - 1);
	if (c->mut == UM_MF)
		put16(super_buf + l.l3 + 6, IP_MF);
	n = cut_udp(c->id, super_buf, len, c->mss,
		    c->gso == GSO_AUTO ? OFFLOAD_GSO_UDP_L4 : c->gso, fr, 64);
	if (n != c->want)
		fail_msg("uso case %d: got %d, want %d", c->id, n, c->want);
	sl = l;
	for (int i = 0; i < n; i++) {
		const uint8_t *f = fr[i].data;
		size_t plen = fr[i].len - l.hdr;

		check(fr[i].len >= l.hdr && plen == (i + 1 < n ? c->mss : c->payload - off), c->id);
		check(memcmp(f + l.hdr, s.payload + off, plen) == 0, c->id);
		off += plen;
		for (size_t k = 0; k < l.hdr; k++)
			if (!is_len_or_csum(&l, k) && !(k >= l.l4 + 4) &&
			    !(!c->v6 && (k == l.l3 + 4 || k == l.l3 + 5)))
				check(f[k] == super_buf[k], c->id);
		check(get16(f + l.l4 + 4) == UDP_LEN + plen, c->id);
		if (c->v6) {
			check(get16(f + l.l3 + 4) == UDP_LEN + plen, c->id);
		} else {
			check(get16(f + l.l3 + 2) == l.l4 - l.l3 + UDP_LEN + plen, c->id);
			check(get16(f + l.l3 + 4) == (uint16_t)(c->ip_id + i), c->id);
			check(ipv4_csum_ok(f, &sl), c->id);
		}
		check(partial_ok(f, fr[i].len, &sl, PROTO_UDP), c->id);
	}
	if (n > 0)
		check(off == c->payload, c->id);
	free_frames(fr, n > 0 ? (size_t)n : 0);
}

static void test_uso_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(uso_cases) / sizeof(uso_cases[0]); i++)
		run_uso_case(&uso_cases[i]);
}

/* A datagram whose checksum comes out zero is finished as 0xffff: zero in
 * UDP says "no checksum". */
static void test_uso_zero_csum(void **state)
{
	static uint8_t payload[100];
	struct spec s = base_spec(false);
	struct offload_frame fr[1];
	struct layout l;
	size_t len;
	uint16_t sum;

	(void)state;
	memcpy(payload, pattern, sizeof(payload));
	payload[98] = payload[99] = 0;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	build_udp(super_buf, &s, true, &l);
	sum = naive_fold(naive_sum(naive_pseudo(super_buf, &l, PROTO_UDP, UDP_LEN + 100),
				   super_buf + l.l4, UDP_LEN + 100));
	put16(payload + 98, (uint16_t)(0xffff - sum)); /* the sum becomes 0xffff */
	s.partial = true;
	len = build_udp(super_buf, &s, false, &l);
	assert_int_equal(cut_udp(0, super_buf, len, 1000, OFFLOAD_GSO_UDP_L4, fr, 1), 1);
	assert_true(partial_ok(fr[0].data, fr[0].len, &l, PROTO_UDP));
	assert_int_equal(offload_finish_csum(fr[0].data, fr[0].len, (uint16_t)l.l4, UDP_CSUM_AT),
			 OFFLOAD_OK);
	assert_int_equal(get16(fr[0].data + l.l4 + UDP_CSUM_AT), 0xffff);
	assert_true(l4_csum_ok(fr[0].data, &l, PROTO_UDP, UDP_LEN + 100));
	free_frames(fr, 1);
}

/* Merged headers and payloads, cut again, give back the same datagrams byte
 * for byte, once the checksums are finished where the originals' were: the
 * kernel does the same cut. */
static void check_recut(int id, const struct offload_frame *fr, size_t count,
			const uint8_t vnet[OFFLOAD_VNET_HDR_LEN], const uint8_t *hdr,
			size_t hdr_len)
{
	struct offload_frame again[OFFLOAD_MAX_COALESCE];
	struct offload_hdr h;
	size_t at = hdr_len;
	int n;

	offload_hdr_decode(vnet, &h);
	check(h.flags == OFFLOAD_F_NEEDS_CSUM && h.gso_type == OFFLOAD_GSO_UDP_L4, id);
	check(h.hdr_len == hdr_len && h.gso_size == fr[0].len - hdr_len, id);
	check((size_t)h.csum_start + UDP_LEN == hdr_len && h.csum_offset == UDP_CSUM_AT, id);
	memcpy(join_buf, hdr, hdr_len);
	for (size_t k = 0; k < count; k++) {
		memcpy(join_buf + at, fr[k].data + hdr_len, fr[k].len - hdr_len);
		at += fr[k].len - hdr_len;
	}
	n = cut_udp(id, join_buf, at, h.gso_size, h.gso_type, again, OFFLOAD_MAX_COALESCE);
	check(n == (int)count, id);
	for (size_t k = 0; k < count; k++) {
		struct offload_hdr p;

		check(again[k].len == fr[k].len, id);
		check(offload_partial_at(again[k].data, again[k].len, &p), id);
		if (!fr[k].csum_partial)
			check(offload_finish_csum(again[k].data, again[k].len, p.csum_start,
						  p.csum_offset) == OFFLOAD_OK,
			      id);
		check(memcmp(again[k].data, fr[k].data, fr[k].len) == 0, id);
	}
	free_frames(again, count);
}

/* A run of datagrams cut from one super-frame merges back into groups of at
 * most 64 that recut to the same datagrams; without udp nothing merges. */
static void test_udp_round_trip(void **state)
{
	static const struct {
		bool v6, vlan;
		size_t payload;
		uint16_t mss;
		size_t groups[4];
	} cases[] = {
		{ false, false, 3000, 1000, { 3 } },
		{ true, true, 3001, 1000, { 4 } },
		{ false, false, 100 * 64, 64, { 64, 36 } },
		{ true, false, 64 * 64 + 1, 64, { 64, 1 } },
		{ false, false, 45 * 1400, 1400, { 45 } },
	};
	static struct offload_frame fr[128];

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct spec s = base_spec(cases[c].v6);
		struct layout l;
		size_t len, i = 0, g = 0;
		int n;

		s.vlan = cases[c].vlan;
		s.payload_len = cases[c].payload;
		s.partial = true;
		s.frag = 0; /* no DF: IDs must count up */
		len = build_udp(super_buf, &s, false, &l);
		n = cut_udp((int)c, super_buf, len, cases[c].mss, OFFLOAD_GSO_UDP_L4, fr, 128);
		check(n > 0, c);
		for (size_t k = 0; k < (size_t)n; k++) {
			uint8_t vnet[OFFLOAD_VNET_HDR_LEN], hdr[OFFLOAD_MAX_HEADERS];
			size_t hdr_len = 0;

			check(offload_coalesce_next(fr, (size_t)n, k, false, vnet, hdr, &hdr_len) ==
				      1,
			      c);
		}
		while (i < (size_t)n) {
			uint8_t vnet[OFFLOAD_VNET_HDR_LEN], hdr[OFFLOAD_MAX_HEADERS];
			size_t hdr_len = 0, got;

			got = offload_coalesce_next(fr, (size_t)n, i, true, vnet, hdr, &hdr_len);
			if (got != cases[c].groups[g])
				fail_msg("udp round trip %zu: group %zu got %zu", c, g, got);
			if (got > 1)
				check_recut((int)c, fr + i, got, vnet, hdr, hdr_len);
			g++;
			i += got;
		}
		free_frames(fr, (size_t)n);
	}
}

enum udp_mut {
	UC_NONE, UC_SPORT, UC_DPORT, UC_LONGER, UC_SHORTER, UC_EMPTY, UC_BAD_CSUM,
	UC_ZERO_CSUM, UC_TTL, UC_TOS, UC_NO_DF, UC_NO_DF_ID, UC_UDP_LEN, UC_TCP, UC_PAD,
	UC_FAMILY,
};

/* Four datagrams of one flow (100 bytes each, IDs counting up), the third
 * (index 2) mutated: how many merge from the first. */
static void test_udp_coalesce_refusals(void **state)
{
	static const struct {
		bool v6;
		enum udp_mut mut;
		size_t want;
	} cases[] = {
		{ false, UC_NONE, 4 },      { true, UC_NONE, 4 },     { false, UC_SPORT, 2 },
		{ true, UC_DPORT, 2 },      { false, UC_LONGER, 2 },  { true, UC_SHORTER, 3 },
		{ false, UC_EMPTY, 2 },     { false, UC_BAD_CSUM, 2 }, { true, UC_BAD_CSUM, 2 },
		{ false, UC_ZERO_CSUM, 2 }, { true, UC_ZERO_CSUM, 2 }, { false, UC_TTL, 2 },
		{ true, UC_TOS, 2 },        { false, UC_NO_DF, 4 },   { false, UC_NO_DF_ID, 2 },
		{ false, UC_UDP_LEN, 2 },   { true, UC_UDP_LEN, 2 },  { false, UC_TCP, 2 },
		{ false, UC_PAD, 2 },       { false, UC_FAMILY, 2 },
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct offload_frame fr[4];
		uint8_t vnet[OFFLOAD_VNET_HDR_LEN], hdr[OFFLOAD_MAX_HEADERS];
		size_t hdr_len = 0, got;
		enum udp_mut m = cases[c].mut;

		for (size_t k = 0; k < 4; k++) {
			struct spec s = base_spec(cases[c].v6);
			bool victim = k == 2, zero = false;
			struct layout l;
			size_t len;

			s.ip_id = (uint16_t)(100 + k);
			s.payload = pattern + 100 * k;
			s.payload_len = 100;
			if (m == UC_NO_DF || m == UC_NO_DF_ID)
				s.frag = 0;
			if (victim) {
				switch (m) {
				case UC_SPORT: s.sport++; break;
				case UC_DPORT: s.dport++; break;
				case UC_LONGER: s.payload_len = 101; break;
				case UC_SHORTER: s.payload_len = 99; break;
				case UC_EMPTY: s.payload_len = 0; break;
				case UC_ZERO_CSUM: zero = true; break;
				case UC_TTL: s.ttl++; break;
				case UC_TOS: s.tos = 2; break;
				case UC_NO_DF_ID: s.ip_id += 2; break;
				case UC_PAD: s.pad = 4; break;
				case UC_FAMILY:
					s = base_spec(!cases[c].v6);
					s.payload_len = 100;
					break;
				default: break;
				}
			}
			len = victim && m == UC_TCP ? build(super_buf, &s, &l)
						    : build_udp(super_buf, &s, zero, &l);
			if (victim && m == UC_BAD_CSUM)
				super_buf[l.end - 1] ^= 1;
			if (victim && m == UC_ZERO_CSUM) {
				/* Make the zero field one that would verify: the
				 * datagram's sum folds to 0xffff with it. */
				size_t ul = l.end - l.l4;
				uint16_t sum;

				put16(super_buf + l.end - 2, 0);
				sum = naive_fold(naive_sum(naive_pseudo(super_buf, &l, PROTO_UDP, ul),
							   super_buf + l.l4, ul));
				put16(super_buf + l.end - 2, (uint16_t)(0xffff - sum));
			}
			if (victim && m == UC_UDP_LEN) /* one byte of payload outside UDP */
				put16(super_buf + l.l4 + 4, get16(super_buf + l.l4 + 4) - 1);
			fr[k] = (struct offload_frame){ dup_frame(super_buf, len), len, false };
		}
		got = offload_coalesce_next(fr, 4, 0, true, vnet, hdr, &hdr_len);
		if (got != cases[c].want)
			fail_msg("udp refusal case %zu: got %zu, want %zu", c, got, cases[c].want);
		if (got > 1)
			check_recut((int)c, fr, got, vnet, hdr, hdr_len);
		free_frames(fr, 4);
	}
}

/* 1400-byte datagrams: the merged IP packet stays within 65535 bytes. */
static void test_udp_ip_limit(void **state)
{
	static struct offload_frame fr[50];
	uint8_t vnet[OFFLOAD_VNET_HDR_LEN], hdr[OFFLOAD_MAX_HEADERS];
	size_t hdr_len = 0, want4 = (IP_MAX - IP4_LEN - UDP_LEN) / 1400;

	(void)state;
	for (size_t k = 0; k < 50; k++) {
		struct spec s = base_spec(false);
		struct layout l;
		size_t len;

		s.ip_id = (uint16_t)k;
		s.payload_len = 1400;
		len = build_udp(super_buf, &s, false, &l);
		fr[k] = (struct offload_frame){ dup_frame(super_buf, len), len, false };
	}
	assert_int_equal(offload_coalesce_next(fr, 50, 0, true, vnet, hdr, &hdr_len), want4);
	assert_int_equal(get16(hdr + ETH_LEN + 2), IP4_LEN + UDP_LEN + want4 * 1400);
	assert_int_equal(get16(hdr + ETH_LEN + IP4_LEN + 4), UDP_LEN + want4 * 1400);
	free_frames(fr, 50);
}

/* IPv6 with a hop-by-hop options header (an application's socket option):
 * cut and merged again like any other, TCP and UDP, the header kept. */
static void test_v6_options_round_trip(void **state)
{
	static struct offload_frame fr[8];
	struct spec s = base_spec(true);
	struct offload_hdr h = { .gso_type = OFFLOAD_GSO_TCPV6, .gso_size = 1000 };
	uint8_t vnet[OFFLOAD_VNET_HDR_LEN], hdr[OFFLOAD_MAX_HEADERS], *out;
	size_t len, lens[8], stride = 0, hdr_len = 0;
	struct layout l;
	int n;

	(void)state;
	s.v6_ext = true;
	s.payload_len = 5000;
	s.partial = true;
	len = build(super_buf, &s, &l);
	out = malloc(8 * (l.hdr + 1000));
	assert_non_null(out);
	n = offload_segment(super_buf, len, &h, out, 8 * (l.hdr + 1000), 0, 0, lens, 8, &stride);
	assert_int_equal(n, 5);
	for (int i = 0; i < n; i++)
		fr[i] = (struct offload_frame){ out + (size_t)i * stride, lens[i], true };
	assert_int_equal(offload_coalesce_next(fr, 5, 0, true, vnet, hdr, &hdr_len), 5);
	check_merged(1, fr, 0, 5, &l, vnet, hdr, hdr_len);
	free(out);

	len = build_udp(super_buf, &s, false, &l);
	n = cut_udp(2, super_buf, len, 1000, OFFLOAD_GSO_UDP_L4, fr, 8);
	assert_int_equal(n, 5);
	for (int i = 0; i < n; i++)
		assert_true(partial_ok(fr[i].data, fr[i].len, &l, PROTO_UDP));
	assert_int_equal(offload_coalesce_next(fr, 5, 0, true, vnet, hdr, &hdr_len), 5);
	assert_int_equal(hdr_len, l.hdr);
	check_recut(2, fr, 5, vnet, hdr, hdr_len);
	free_frames(fr, 5);
}

/* Where a receiver finds a checksum left partial: in TCP or UDP over IPv4 or
 * IPv6, VLAN tags and IPv6 options followed. Anything else is refused, and so
 * is a frame with bytes after its IP packet (the kernel would sum them too). */
static void test_partial_at(void **state)
{
	enum {
		PA_NONE, PA_PAD, PA_TRUNC, PA_ARP, PA_MF, PA_ICMP, PA_ROUTING, PA_SEED,
		PA_IP_NOPS, PA_LSRR, PA_SSRR, PA_IP_OPT_ZERO, PA_IP_OPT_LONG, PA_HAO,
		PA_DEST_PADS, PA_DEST_OVERRUN,
	};
	static const struct {
		int id;
		bool v6, vlan, v6_ext;
		uint8_t proto;
		int mut;
		bool want;
	} cases[] = {
		{ 1, false, false, false, PROTO_TCP, PA_NONE, true },
		{ 2, true, true, false, PROTO_TCP, PA_NONE, true },
		{ 3, false, true, false, PROTO_UDP, PA_NONE, true },
		{ 4, true, false, true, PROTO_TCP, PA_NONE, true },
		{ 5, true, false, true, PROTO_UDP, PA_NONE, true },
		{ 6, false, false, false, PROTO_TCP, PA_PAD, false },
		{ 7, true, false, false, PROTO_UDP, PA_PAD, false },
		{ 8, false, false, false, PROTO_TCP, PA_TRUNC, false },
		{ 9, true, true, false, PROTO_UDP, PA_TRUNC, false },
		{ 10, false, false, false, PROTO_TCP, PA_ARP, false },
		{ 11, false, false, false, PROTO_UDP, PA_MF, false },
		{ 12, false, true, false, PROTO_TCP, PA_ICMP, false },
		{ 13, true, false, true, PROTO_TCP, PA_ROUTING, false },
		/* The field must hold the frame's own pseudo-header sum. */
		{ 14, false, false, false, PROTO_TCP, PA_SEED, false },
		{ 15, true, true, false, PROTO_UDP, PA_SEED, false },
		/* Options that move the pseudo-header's addresses, or that do not
		 * read right, are refused; others are stepped over. */
		{ 16, false, false, false, PROTO_TCP, PA_IP_NOPS, true },
		{ 17, false, false, false, PROTO_TCP, PA_LSRR, false },
		{ 18, false, true, false, PROTO_UDP, PA_SSRR, false },
		{ 19, false, false, false, PROTO_TCP, PA_IP_OPT_ZERO, false },
		{ 20, false, false, false, PROTO_TCP, PA_IP_OPT_LONG, false },
		{ 21, true, false, true, PROTO_TCP, PA_HAO, false },
		{ 22, true, false, true, PROTO_UDP, PA_DEST_PADS, true },
		{ 23, true, false, true, PROTO_TCP, PA_DEST_OVERRUN, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int id = cases[i].id, mut = cases[i].mut;
		size_t csum_off = cases[i].proto == PROTO_UDP ? UDP_CSUM_AT : TCP_CSUM_AT;
		uint8_t route[7] = { mut == PA_LSRR ? 0x83 : 0x89, 7, 4, 10, 0, 0, 9 };
		struct spec s = base_spec(cases[i].v6);
		struct offload_hdr h;
		struct layout l;
		size_t len;
		uint8_t *f;
		bool got;

		s.vlan = cases[i].vlan;
		s.v6_ext = cases[i].v6_ext;
		s.payload = pattern + 11;
		s.payload_len = 300;
		s.partial = true;
		s.pad = mut == PA_PAD ? 6 : 0;
		if (mut == PA_MF)
			s.frag |= IP_MF;
		if (mut >= PA_IP_NOPS && mut <= PA_IP_OPT_LONG)
			s.ip_opt_len = 8; /* NOPs, some overwritten below */
		if (mut >= PA_HAO)
			s.v6_opts[1] = 32; /* a destination options header after hop-by-hop */
		len = cases[i].proto == PROTO_UDP ? build_udp(super_buf, &s, false, &l)
						  : build(super_buf, &s, &l);
		if (mut == PA_TRUNC)
			len = l.end - 1;
		if (mut == PA_ARP)
			put16(super_buf + 12, 0x0806);
		if (mut == PA_ICMP)
			super_buf[l.l3 + 9] = 1;
		if (mut == PA_ROUTING)
			super_buf[l.l3 + 6] = 43;
		if (mut == PA_SEED)
			super_buf[l.l4 + csum_off] ^= 0x10;
		if (mut == PA_LSRR || mut == PA_SSRR) /* a route of one hop, 10.0.0.9 */
			memcpy(super_buf + l.l3 + IP4_LEN, route, sizeof(route));
		if (mut == PA_IP_OPT_ZERO) /* a timestamp option of length 0 */
			memcpy(super_buf + l.l3 + IP4_LEN + 4, (const uint8_t[]){ 0x44, 0 }, 2);
		if (mut == PA_IP_OPT_LONG) /* ... of 5 bytes, where 4 are left */
			memcpy(super_buf + l.l3 + IP4_LEN + 4, (const uint8_t[]){ 0x44, 5 }, 2);
		if (mut == PA_HAO) /* after the header's own PadN: a home address */
			memcpy(super_buf + l.l3 + IP6_LEN + V6_EXT_LEN + 8,
			       (const uint8_t[]){ 0xc9, 16 }, 2);
		if (mut == PA_DEST_OVERRUN) /* an option running past its header */
			memcpy(super_buf + l.l3 + IP6_LEN + V6_EXT_LEN + 8,
			       (const uint8_t[]){ 0x1e, 23 }, 2);
		f = dup_frame(super_buf, len);
		got = offload_partial_at(f, len, &h);
		check(got == cases[i].want, id);
		if (got) {
			check(h.flags == OFFLOAD_F_NEEDS_CSUM, id);
			check(h.gso_type == OFFLOAD_GSO_NONE && h.hdr_len == 0 && h.gso_size == 0, id);
			check(h.csum_start == l.l4 && h.csum_offset == csum_off, id);
			check(partial_ok(f, len, &l, cases[i].proto), id);
		}
		free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_rfc1071),
		cmocka_unit_test(test_csum_odd_and_edges),
		cmocka_unit_test(test_finish_tcp_ipv4),
		cmocka_unit_test(test_finish_udp_ipv6),
		cmocka_unit_test(test_finish_table),
		cmocka_unit_test(test_finish_zero_is_ffff),
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_vnet_hdr_codec),
		cmocka_unit_test(test_segment_table),
		cmocka_unit_test(test_round_trip_table),
		cmocka_unit_test(test_coalesce_table),
		cmocka_unit_test(test_qinq),
		cmocka_unit_test(test_segment_finished),
		cmocka_unit_test(test_random_round_trips),
		cmocka_unit_test(test_uso_table),
		cmocka_unit_test(test_uso_zero_csum),
		cmocka_unit_test(test_udp_round_trip),
		cmocka_unit_test(test_udp_coalesce_refusals),
		cmocka_unit_test(test_udp_ip_limit),
		cmocka_unit_test(test_v6_options_round_trip),
		cmocka_unit_test(test_partial_at),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
