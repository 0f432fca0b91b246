/* offload — TCP and UDP segmentation, checksums and coalescing. See offload.h. */
#include "offload.h"

#include <string.h>

#define ETH_LEN 14
#define VLAN_LEN 4
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPV4_MIN_LEN 20
#define IPV4_LEN_AT 2
#define IPV4_ID_AT 4
#define IPV4_FRAG_AT 6 /* flags and fragment offset */
#define IPV4_DF 0x4000
#define IPV4_CSUM_AT 10
#define IPV6_LEN 40
#define IPV6_PAYLOAD_LEN_AT 4
#define IPV6_HOP_BY_HOP 0
#define IPV6_DEST_OPTS 60
#define IPV6_OPTS_MAX 4 /* option headers followed before giving up */
#define IPV4_OPT_END 0
#define IPV4_OPT_NOP 1
#define IPV4_OPT_LSRR 0x83 /* loose source route */
#define IPV4_OPT_SSRR 0x89 /* strict source route */
#define IPV6_OPT_PAD1 0
#define IPV6_OPT_HOME_ADDRESS 0xc9
#define TCP_MIN_LEN 20
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80
#define TCP_SEQ_AT 4
#define TCP_FLAGS_AT 13
#define TCP_CSUM_AT 16
#define UDP_LEN 8
#define UDP_LEN_AT 4
#define UDP_CSUM_AT 6
/* The IP length fields are 16 bits: a super-frame's IP packet stays under this. */
#define IP_MAX_PACKET 65535u

static const char *const result_names[OFFLOAD_RESULT_COUNT] = {
	[OFFLOAD_OK] = "ok",
	[OFFLOAD_BAD_CSUM] = "bad_csum_offset",
	[OFFLOAD_BAD_GSO] = "bad_gso",
	[OFFLOAD_TOO_MANY] = "too_many_segments",
};

const char *offload_result_name(enum offload_result r)
{
	return (unsigned)r < OFFLOAD_RESULT_COUNT ? result_names[r] : "unknown";
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

void offload_hdr_decode(const uint8_t in[OFFLOAD_VNET_HDR_LEN], struct offload_hdr *h)
{
	/* virtio_net_hdr fields are in the host's byte order for a TAP device. */
	h->flags = in[0];
	h->gso_type = in[1];
	memcpy(&h->hdr_len, in + 2, 2);
	memcpy(&h->gso_size, in + 4, 2);
	memcpy(&h->csum_start, in + 6, 2);
	memcpy(&h->csum_offset, in + 8, 2);
}

void offload_hdr_encode(uint8_t out[OFFLOAD_VNET_HDR_LEN], const struct offload_hdr *h)
{
	out[0] = h->flags;
	out[1] = h->gso_type;
	memcpy(out + 2, &h->hdr_len, 2);
	memcpy(out + 4, &h->gso_size, 2);
	memcpy(out + 6, &h->csum_start, 2);
	memcpy(out + 8, &h->csum_offset, 2);
}

/*
 * RFC 1071: the ones'-complement sum does not depend on byte order, except
 * that summing little-endian words gives the byte-swapped result (section
 * 2B). So the bulk is summed as native 32-bit halves of 64-bit loads, which
 * is several times faster than byte-wise big-endian words, then folded and
 * swapped once. Odd lengths only in a last call.
 */
static uint16_t sum_native(const uint8_t *p, size_t len)
{
	uint64_t a = 0, b = 0, c = 0, d = 0, acc;

	/* Four independent sums, 32 bytes a round (one chain waits on its own
	 * adds), each word loaded on its own: one 32-byte memcpy became a vector
	 * load, a spill and four reloads, 89 ns per 1400 bytes against 37. A
	 * sum gains under 2^33 a round, so none can carry out of 64 bits below
	 * 2^31 rounds of input. */
	while (len >= 32) {
		uint64_t w0, w1, w2, w3;

		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		memcpy(&w2, p + 16, 8);
		memcpy(&w3, p + 24, 8);
		a += (w0 & 0xffffffffu) + (w0 >> 32);
		b += (w1 & 0xffffffffu) + (w1 >> 32);
		c += (w2 & 0xffffffffu) + (w2 >> 32);
		d += (w3 & 0xffffffffu) + (w3 >> 32);
		p += 32;
		len -= 32;
	}
	acc = (uint64_t)offload_csum_fold(a) + offload_csum_fold(b) + offload_csum_fold(c) +
	      offload_csum_fold(d);
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		acc += (w & 0xffffffffu) + (w >> 32);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len) { /* the byte pads with a zero to a native 16-bit word */
		const uint8_t last[2] = { p[0], 0 };
		uint16_t w;

		memcpy(&w, last, 2);
		acc += w;
	}
	return offload_csum_fold(acc);
}

uint64_t offload_csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	uint16_t native = sum_native(p, len);
	const uint16_t probe = 1;
	uint8_t first;

	memcpy(&first, &probe, 1);
	/* On a little-endian host, swap to the big-endian sum the callers add. */
	if (first == 1)
		native = (uint16_t)(native << 8 | native >> 8);
	return sum + native;
}

uint16_t offload_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

enum offload_result offload_finish_csum(uint8_t *frame, size_t len, uint16_t csum_start,
					uint16_t csum_offset)
{
	uint16_t csum;

	if ((size_t)csum_start + csum_offset + 2 > len)
		return OFFLOAD_BAD_CSUM;
	csum = (uint16_t)~offload_csum_fold(offload_csum_add(0, frame + csum_start,
							       len - csum_start));
	/* As the kernel does: a computed zero is sent as 0xffff (a zero UDP
	 * checksum would mean "none"; for TCP the two are the same value). */
	put16(frame + csum_start + csum_offset, csum ? csum : 0xffff);
	return OFFLOAD_OK;
}

/* Where the headers of a TCP or UDP frame are. */
struct l4_view {
	size_t l3, l4, hdr_len, end, payload_len;
	uint8_t proto; /* IPPROTO_TCP_ or IPPROTO_UDP_ */
	bool is_v6;
};

static bool is_l4(uint8_t proto)
{
	return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_;
}

/* A source route makes the pseudo-header's destination the route's last hop,
 * not the header's: frames with one (or options we cannot read) are not ours
 * to cut, merge or leave partial. */
static bool ipv4_options_ok(const uint8_t *opt, size_t len)
{
	size_t i = 0;

	while (i < len && opt[i] != IPV4_OPT_END) {
		if (opt[i] == IPV4_OPT_NOP) {
			i++;
			continue;
		}
		if (opt[i] == IPV4_OPT_LSRR || opt[i] == IPV4_OPT_SSRR || i + 1 >= len ||
		    opt[i + 1] < 2 || opt[i + 1] > len - i)
			return false;
		i += opt[i + 1];
	}
	return true;
}

/* The same for IPv6's home address option (the pseudo-header's source) in a
 * destination options header: hdr points at its len bytes. */
static bool ipv6_dest_opts_ok(const uint8_t *hdr, size_t len)
{
	size_t i = 2;

	while (i < len) {
		if (hdr[i] == IPV6_OPT_PAD1) {
			i++;
			continue;
		}
		if (hdr[i] == IPV6_OPT_HOME_ADDRESS || i + 1 >= len || hdr[i + 1] > len - i - 2)
			return false;
		i += 2 + (size_t)hdr[i + 1];
	}
	return true;
}

static bool parse_ip(const uint8_t *f, size_t len, struct l4_view *v)
{
	const uint8_t *ip = f + v->l3;

	if (!v->is_v6) {
		size_t ihl, total;

		if (len < v->l3 + IPV4_MIN_LEN || ip[0] >> 4 != 4)
			return false;
		ihl = (size_t)(ip[0] & 15) * 4;
		total = get16(ip + IPV4_LEN_AT);
		/* No fragments: a fragment's L4 header may be elsewhere. */
		if (ihl < IPV4_MIN_LEN || total < ihl || v->l3 + total > len || !is_l4(ip[9]) ||
		    (get16(ip + IPV4_FRAG_AT) & 0x3fff) != 0 ||
		    !ipv4_options_ok(ip + IPV4_MIN_LEN, ihl - IPV4_MIN_LEN))
			return false;
		v->proto = ip[9];
		v->l4 = v->l3 + ihl;
		v->end = v->l3 + total;
		return true;
	}
	/* Hop-by-hop and destination options (up to OFFLOAD_IPV6_OPTS_MAX bytes)
	 * are followed. A routing header or a home address option would change
	 * the checksum's addresses and a fragment header the payload's place:
	 * frames with them are not merged, and a super-frame with them is
	 * refused. */
	if (len < v->l3 + IPV6_LEN || ip[0] >> 4 != 6)
		return false;
	v->proto = ip[6];
	v->l4 = v->l3 + IPV6_LEN;
	v->end = v->l4 + get16(ip + IPV6_PAYLOAD_LEN_AT);
	for (int k = 0; k < IPV6_OPTS_MAX; k++) {
		size_t hdr_len;

		if (v->proto != IPV6_HOP_BY_HOP && v->proto != IPV6_DEST_OPTS)
			break;
		if (len < v->l4 + 2)
			return false;
		hdr_len = ((size_t)f[v->l4 + 1] + 1) * 8;
		if (v->proto == IPV6_DEST_OPTS &&
		    (len < v->l4 + hdr_len || !ipv6_dest_opts_ok(f + v->l4, hdr_len)))
			return false;
		v->proto = f[v->l4];
		v->l4 += hdr_len;
	}
	return is_l4(v->proto) && v->l4 - v->l3 - IPV6_LEN <= OFFLOAD_IPV6_OPTS_MAX &&
	       v->l4 <= v->end && v->end <= len;
}

/* Ethernet, up to two VLAN tags, and IPv4 or IPv6: sets l3 and is_v6. */
static bool parse_link(const uint8_t *f, size_t len, struct l4_view *v)
{
	uint16_t type;

	if (len < ETH_LEN)
		return false;
	v->l3 = ETH_LEN;
	type = get16(f + 12);
	/* Up to two tags, as VLAN devices stack them: an 802.1ad outer tag then an
	 * 802.1Q one, or 802.1Q twice (Linux's default for a VLAN on a VLAN). */
	for (int tags = 0; tags < 2 && (type == ETHERTYPE_QINQ || type == ETHERTYPE_VLAN); tags++) {
		if (len < v->l3 + VLAN_LEN)
			return false;
		type = get16(f + v->l3 + 2);
		v->l3 += VLAN_LEN;
	}
	if (type != ETHERTYPE_IPV4 && type != ETHERTYPE_IPV6)
		return false;
	v->is_v6 = type == ETHERTYPE_IPV6;
	return true;
}

/* The TCP or UDP header at l4 of a packet that ends at end, its lengths
 * agreeing: sets hdr_len and payload_len. */
static bool parse_l4_header(const uint8_t *f, struct l4_view *v)
{
	size_t l4_hdr;

	if (v->proto == IPPROTO_UDP_) {
		if (v->end < v->l4 + UDP_LEN || get16(f + v->l4 + UDP_LEN_AT) != v->end - v->l4)
			return false;
		l4_hdr = UDP_LEN;
	} else {
		if (v->end < v->l4 + TCP_MIN_LEN)
			return false;
		l4_hdr = (size_t)(f[v->l4 + 12] >> 4) * 4;
		if (l4_hdr < TCP_MIN_LEN || v->l4 + l4_hdr > v->end)
			return false;
	}
	v->hdr_len = v->l4 + l4_hdr;
	v->payload_len = v->end - v->hdr_len;
	return true;
}

/* A TCP segment or a UDP datagram whose lengths agree, in an Ethernet frame.
 * Through offload_partial_at this decides which frames may travel with a
 * partial checksum: docs/protocol.md gives these rules, and a receiver drops
 * a flagged frame that does not meet them, so change both together. */
static bool parse_l4(const uint8_t *f, size_t len, struct l4_view *v)
{
	return parse_link(f, len, v) && parse_ip(f, len, v) && parse_l4_header(f, v);
}

/* A super-frame parse_l4 does not read (an IPv4 source route, an IPv6
 * routing header or home address, more option headers than it follows),
 * taken where the kernel's header says its TCP or UDP header is. Its IP
 * header must agree with that place and with the frame's length. */
static bool kernel_view(const uint8_t *f, size_t len, const struct offload_hdr *h, uint8_t type,
			struct l4_view *v)
{
	const uint8_t *ip;

	if (!(h->flags & OFFLOAD_F_NEEDS_CSUM) || !parse_link(f, len, v))
		return false;
	ip = f + v->l3;
	v->l4 = h->csum_start;
	v->end = len;
	v->proto = type == OFFLOAD_GSO_UDP_L4 ? IPPROTO_UDP_ : IPPROTO_TCP_;
	if (h->csum_offset != (v->proto == IPPROTO_UDP_ ? UDP_CSUM_AT : TCP_CSUM_AT) ||
	    v->l4 >= len)
		return false;
	if (v->is_v6) {
		if (len < v->l3 + IPV6_LEN || ip[0] >> 4 != 6 || v->l4 < v->l3 + IPV6_LEN ||
		    get16(ip + IPV6_PAYLOAD_LEN_AT) != len - v->l3 - IPV6_LEN)
			return false;
	} else if (len < v->l3 + IPV4_MIN_LEN || ip[0] >> 4 != 4 ||
		   v->l4 != v->l3 + (size_t)(ip[0] & 15) * 4 || v->l4 < v->l3 + IPV4_MIN_LEN ||
		   ip[9] != v->proto || get16(ip + IPV4_LEN_AT) != len - v->l3 ||
		   (get16(ip + IPV4_FRAG_AT) & 0x3fff) != 0) {
		return false;
	}
	return parse_l4_header(f, v);
}

/* The pseudo-header sum (RFC 768 / RFC 793 / RFC 8200 section 8.1) for l4_len bytes. */
static uint64_t pseudo_sum(const uint8_t *f, const struct l4_view *v, size_t l4_len)
{
	const uint8_t *ip = f + v->l3;
	uint64_t sum = v->proto + l4_len;

	if (v->is_v6)
		return offload_csum_add(sum, ip + 8, 32);
	return offload_csum_add(sum, ip + 12, 8);
}

static size_t csum_at(const struct l4_view *v)
{
	return v->l4 + (v->proto == IPPROTO_UDP_ ? UDP_CSUM_AT : TCP_CSUM_AT);
}

/* The parts of a header's sums that its segments share: made once per
 * super-frame, so that each segment's sums cost a few additions. */
struct shared_sums {
	uint64_t ipv4; /* the IPv4 header but its length, ID and checksum */
	uint64_t pseudo; /* the pseudo-header but its length */
};

static uint64_t ipv4_shared_sum(const uint8_t *f, const struct l4_view *v)
{
	const uint8_t *ip = f + v->l3;
	uint64_t sum;

	if (v->is_v6)
		return 0;
	sum = offload_csum_add(0, ip, IPV4_LEN_AT);
	sum = offload_csum_add(sum, ip + IPV4_FRAG_AT, IPV4_CSUM_AT - IPV4_FRAG_AT);
	return offload_csum_add(sum, ip + IPV4_CSUM_AT + 2, v->l4 - v->l3 - IPV4_CSUM_AT - 2);
}

static struct shared_sums shared_sums(const uint8_t *f, const struct l4_view *v)
{
	return (struct shared_sums){ .ipv4 = ipv4_shared_sum(f, v), .pseudo = pseudo_sum(f, v, 0) };
}

/* The IP length fields (and a UDP header's) for l4_len bytes of TCP or UDP,
 * the IPv4 header checksum, and the TCP or UDP checksum left partial: the
 * pseudo-header sum, folded and not complemented, as the kernel leaves it. */
static void set_lengths_and_sums(uint8_t *f, const struct l4_view *v, size_t l4_len,
				 const struct shared_sums *s)
{
	uint8_t *ip = f + v->l3;
	size_t ip_len = v->l4 - v->l3 + l4_len;

	if (v->proto == IPPROTO_UDP_)
		put16(f + v->l4 + UDP_LEN_AT, (uint16_t)l4_len);
	if (v->is_v6) {
		put16(ip + IPV6_PAYLOAD_LEN_AT, (uint16_t)(ip_len - IPV6_LEN));
	} else {
		put16(ip + IPV4_LEN_AT, (uint16_t)ip_len);
		put16(ip + IPV4_CSUM_AT,
		      (uint16_t)~offload_csum_fold(s->ipv4 + ip_len + get16(ip + IPV4_ID_AT)));
	}
	put16(f + csum_at(v), offload_csum_fold(s->pseudo + l4_len));
}

/* A checksum left partial holds the pseudo-header sum of the frame's own
 * addresses and length, folded and not complemented, as the kernel leaves it;
 * one holding anything else would be finished wrong. */
static bool partial_seed_ok(const uint8_t *f, const struct l4_view *v)
{
	return get16(f + csum_at(v)) == offload_csum_fold(pseudo_sum(f, v, v->end - v->l4));
}

static void segment_fix(uint8_t *seg, const struct l4_view *v, const struct shared_sums *s,
			size_t i, size_t n, uint32_t seq, uint16_t ip_id, size_t payload_len)
{
	size_t l4_len = v->hdr_len - v->l4 + payload_len;
	uint8_t *l4 = seg + v->l4;

	if (!v->is_v6)
		put16(seg + v->l3 + IPV4_ID_AT, (uint16_t)(ip_id + i));
	/* The checksum is left partial, as the kernel handed the super-frame over
	 * (cut() finishes it where asked). */
	set_lengths_and_sums(seg, v, l4_len, s);
	if (v->proto == IPPROTO_TCP_) {
		uint8_t flags = l4[TCP_FLAGS_AT];

		put32(l4 + TCP_SEQ_AT, seq);
		if (i + 1 < n)
			flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (i > 0)
			flags &= (uint8_t)~TCP_CWR;
		l4[TCP_FLAGS_AT] = flags;
	}
}

/* Does a GSO type name this frame's protocol and IP version? */
static bool gso_fits(uint8_t type, const struct l4_view *v)
{
	if (type == OFFLOAD_GSO_UDP_L4)
		return v->proto == IPPROTO_UDP_;
	return v->proto == IPPROTO_TCP_ &&
	       (type == OFFLOAD_GSO_TCPV4 || type == OFFLOAD_GSO_TCPV6) &&
	       v->is_v6 == (type == OFFLOAD_GSO_TCPV6);
}

/* Cuts frame (its headers in v) into slots of out, as offload_segment says;
 * with finish, each segment's checksum is finished from the pseudo-header sum
 * in sums. */
static int cut(const uint8_t *frame, const struct l4_view *v, const struct shared_sums *sums,
	       const struct offload_hdr *h, uint8_t *out, size_t out_cap, size_t headroom,
	       size_t tailroom, size_t *lens, size_t max_segs, size_t *stride, bool finish)
{
	size_t mss = h->gso_size, n;
	uint32_t seq;
	uint16_t ip_id;

	if (mss == 0 || (v->proto == IPPROTO_UDP_ && (h->gso_type & OFFLOAD_GSO_ECN)))
		return -OFFLOAD_BAD_GSO;
	n = v->payload_len == 0 ? 1 : (v->payload_len + mss - 1) / mss;
	*stride = headroom + v->hdr_len + mss + tailroom;
	if (n > max_segs || n > out_cap / *stride)
		return -OFFLOAD_TOO_MANY;
	seq = v->proto == IPPROTO_TCP_ ? get32(frame + v->l4 + TCP_SEQ_AT) : 0;
	ip_id = v->is_v6 ? 0 : get16(frame + v->l3 + IPV4_ID_AT);
	for (size_t i = 0; i < n; i++) {
		uint8_t *seg = out + i * *stride + headroom;
		size_t off = i * mss;
		size_t plen = v->payload_len - off < mss ? v->payload_len - off : mss;

		memcpy(seg, frame, v->hdr_len);
		memcpy(seg + v->hdr_len, frame + v->hdr_len + off, plen);
		segment_fix(seg, v, sums, i, n, seq + (uint32_t)off, ip_id, plen);
		lens[i] = v->hdr_len + plen;
		if (finish) /* cannot fail: the TCP or UDP header is within the segment */
			(void)offload_finish_csum(seg, lens[i], (uint16_t)v->l4,
						  (uint16_t)(csum_at(v) - v->l4));
	}
	return (int)n;
}

/* offload_segment, or with finished offload_segment_finished: the headers
 * read by parse_l4, or where the kernel's header says, with its sum. */
static int segment(const uint8_t *frame, size_t len, const struct offload_hdr *h, uint8_t *out,
		   size_t out_cap, size_t headroom, size_t tailroom, size_t *lens, size_t max_segs,
		   size_t *stride, bool finished)
{
	uint8_t type = h->gso_type & (uint8_t)~OFFLOAD_GSO_ECN;
	struct l4_view v;
	struct shared_sums sums;

	if (!(finished ? kernel_view(frame, len, h, type, &v) : parse_l4(frame, len, &v)) ||
	    !gso_fits(type, &v))
		return -OFFLOAD_BAD_GSO;
	sums.ipv4 = ipv4_shared_sum(frame, &v);
	/* Finished: the kernel's own pseudo-header sum, with the addresses it
	 * used, less the super-frame's TCP or UDP length (each segment adds its
	 * own). */
	sums.pseudo = finished ? get16(frame + csum_at(&v)) + (uint16_t)~(uint16_t)(len - v.l4)
			       : pseudo_sum(frame, &v, 0);
	return cut(frame, &v, &sums, h, out, out_cap, headroom, tailroom, lens, max_segs, stride,
		   finished);
}

int offload_segment(const uint8_t *frame, size_t len, const struct offload_hdr *h, uint8_t *out,
		    size_t out_cap, size_t headroom, size_t tailroom, size_t *lens, size_t max_segs,
		    size_t *stride)
{
	return segment(frame, len, h, out, out_cap, headroom, tailroom, lens, max_segs, stride,
		       false);
}

int offload_segment_finished(const uint8_t *frame, size_t len, const struct offload_hdr *h,
			     uint8_t *out, size_t out_cap, size_t headroom, size_t tailroom,
			     size_t *lens, size_t max_segs, size_t *stride)
{
	return segment(frame, len, h, out, out_cap, headroom, tailroom, lens, max_segs, stride,
		       true);
}

bool offload_partial_at(const uint8_t *frame, size_t len, struct offload_hdr *h)
{
	struct l4_view v;

	if (!parse_l4(frame, len, &v) || v.end != len || !partial_seed_ok(frame, &v))
		return false;
	*h = (struct offload_hdr){
		.flags = OFFLOAD_F_NEEDS_CSUM,
		.csum_start = (uint16_t)v.l4,
		.csum_offset = (uint16_t)(csum_at(&v) - v.l4),
	};
	return true;
}

/* The bits of each header byte that may differ between segments of one
 * super-frame: the lengths, the IPv4 ID and checksum, TCP's sequence number,
 * checksum and PSH flag, UDP's checksum. Made once per run, so that each
 * segment is compared eight bytes at a time. */
static void differ_mask(const struct l4_view *v, uint8_t mask[OFFLOAD_MAX_HEADERS])
{
	uint8_t *ip = mask + v->l3, *l4 = mask + v->l4;

	memset(mask, 0, v->hdr_len);
	if (v->is_v6) {
		memset(ip + IPV6_PAYLOAD_LEN_AT, 0xff, 2);
	} else {
		memset(ip + IPV4_LEN_AT, 0xff, 4); /* the length and the ID */
		memset(ip + IPV4_CSUM_AT, 0xff, 2);
	}
	if (v->proto == IPPROTO_UDP_) {
		memset(l4 + UDP_LEN_AT, 0xff, 4); /* the length and the checksum */
		return;
	}
	memset(l4 + TCP_SEQ_AT, 0xff, 4);
	memset(l4 + TCP_CSUM_AT, 0xff, 2);
	l4[TCP_FLAGS_AT] = TCP_PSH;
}

static bool headers_match(const uint8_t *a, const uint8_t *b, const uint8_t *mask, size_t len)
{
	uint64_t diff = 0;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t x, y, m;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		memcpy(&m, mask + i, 8);
		diff |= (x ^ y) & ~m;
	}
	for (; i < len; i++)
		diff |= (uint8_t)((a[i] ^ b[i]) & ~mask[i]);
	return diff == 0;
}

/* The merged frame goes to the kernel as "checksum to be computed", with an
 * IPv4 header checksum written anew, which would hide a corrupted segment:
 * like the kernel's GRO, merge only segments whose own checksums are right
 * (a wrong one is written alone and dropped by the receiving stack as usual).
 * A frame whose TCP or UDP checksum was left partial has none to check yet,
 * only the pseudo-header sum it must hold.
 * A UDP checksum of zero (none in IPv4, invalid in IPv6) is left alone too, as
 * the kernel's GRO does: cut again, the datagram would come out with one. */
static bool csums_ok(const struct offload_frame *fr, const struct l4_view *v)
{
	const uint8_t *f = fr->data;
	size_t l4_len = v->end - v->l4;

	if (!v->is_v6 && offload_csum_fold(offload_csum_add(0, f + v->l3, v->l4 - v->l3)) != 0xffff)
		return false;
	if (fr->csum_partial)
		return partial_seed_ok(f, v);
	if (v->proto == IPPROTO_UDP_ && get16(f + csum_at(v)) == 0)
		return false;
	return offload_csum_fold(offload_csum_add(pseudo_sum(f, v, l4_len), f + v->l4, l4_len)) ==
	       0xffff;
}

static bool coalescable(const struct offload_frame *fr, bool udp, struct l4_view *v)
{
	if (!parse_l4(fr->data, fr->len, v) || fr->len != v->end || v->payload_len == 0)
		return false;
	if (v->proto == IPPROTO_UDP_)
		return udp && csums_ok(fr, v);
	return (fr->data[v->l4 + TCP_FLAGS_AT] & (uint8_t)~TCP_PSH) == TCP_ACK && csums_ok(fr, v);
}

static void build_merged(const uint8_t *first, const struct l4_view *v, size_t payload,
			 uint8_t last_flags, size_t gso_size, uint8_t vnet[OFFLOAD_VNET_HDR_LEN],
			 uint8_t *hdr)
{
	struct shared_sums sums;
	size_t l4_len = v->hdr_len - v->l4 + payload;
	bool udp = v->proto == IPPROTO_UDP_;
	struct offload_hdr h = {
		.flags = OFFLOAD_F_NEEDS_CSUM,
		.gso_type = udp ? OFFLOAD_GSO_UDP_L4
			  : v->is_v6 ? OFFLOAD_GSO_TCPV6
				     : OFFLOAD_GSO_TCPV4,
		.hdr_len = (uint16_t)v->hdr_len,
		.gso_size = (uint16_t)gso_size,
		.csum_start = (uint16_t)v->l4,
		.csum_offset = (uint16_t)(csum_at(v) - v->l4),
	};

	memcpy(hdr, first, v->hdr_len);
	if (!udp)
		hdr[v->l4 + TCP_FLAGS_AT] |= last_flags & TCP_PSH;
	sums = shared_sums(hdr, v);
	set_lengths_and_sums(hdr, v, l4_len, &sums); /* CHECKSUM_PARTIAL, as in a super-frame */
	offload_hdr_encode(vnet, &h);
}

size_t offload_coalesce_next(const struct offload_frame *frames, size_t n, size_t first, bool udp,
			     uint8_t vnet[OFFLOAD_VNET_HDR_LEN], uint8_t hdr[OFFLOAD_MAX_HEADERS],
			     size_t *hdr_len)
{
	const uint8_t *f = frames[first].data;
	struct l4_view fv, bv;
	size_t count = 1, gso, total, prev_len;
	uint32_t next_seq = 0;
	uint16_t next_id;
	uint8_t last_flags = 0, mask[OFFLOAD_MAX_HEADERS];
	bool check_id, tcp;

	if (!coalescable(&frames[first], udp, &fv) || fv.hdr_len > OFFLOAD_MAX_HEADERS)
		return 1;
	tcp = fv.proto == IPPROTO_TCP_;
	differ_mask(&fv, mask);
	if (tcp) {
		last_flags = f[fv.l4 + TCP_FLAGS_AT];
		if (last_flags & TCP_PSH)
			return 1;
	}
	gso = prev_len = total = fv.payload_len;
	if (tcp)
		next_seq = get32(f + fv.l4 + TCP_SEQ_AT) + (uint32_t)gso;
	/* Without DF an IPv4 ID matters (fragments are joined by it): like the
	 * kernel's GRO, merge only IDs that count up by one, as the merged
	 * frame's segments will if it is cut again. With DF they mean nothing. */
	check_id = !fv.is_v6 && !(get16(f + fv.l3 + IPV4_FRAG_AT) & IPV4_DF);
	next_id = (uint16_t)(get16(f + fv.l3 + IPV4_ID_AT) + 1);
	for (size_t j = first + 1; j < n && prev_len == gso && count < OFFLOAD_MAX_COALESCE; j++) {
		const uint8_t *b = frames[j].data;

		if (!coalescable(&frames[j], udp, &bv) || bv.proto != fv.proto ||
		    bv.hdr_len != fv.hdr_len || bv.is_v6 != fv.is_v6 || bv.payload_len > gso ||
		    !headers_match(f, b, mask, fv.hdr_len) ||
		    (tcp && get32(b + fv.l4 + TCP_SEQ_AT) != next_seq) ||
		    (check_id && get16(b + fv.l3 + IPV4_ID_AT) != next_id) ||
		    fv.hdr_len - fv.l3 + total + bv.payload_len > IP_MAX_PACKET)
			break;
		count++;
		next_id++;
		total += bv.payload_len;
		prev_len = bv.payload_len;
		if (!tcp)
			continue;
		next_seq += (uint32_t)bv.payload_len;
		last_flags = b[fv.l4 + TCP_FLAGS_AT];
		if (last_flags & TCP_PSH)
			break;
	}
	if (count == 1)
		return 1;
	build_merged(f, &fv, total, last_flags, gso, vnet, hdr);
	*hdr_len = fv.hdr_len;
	return count;
}
