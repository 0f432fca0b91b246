/*
 * udpblast — send a burst of hostile datagrams at a vswitch or vport socket.
 *
 *     udpblast [-k PUBKEY] [-s SRC-ADDR:SRC-PORT] HOST PORT COUNT [SEED]
 *
 * HOST and SRC-ADDR are numeric IPv4 or IPv6 addresses ([::1]:PORT for IPv6). The datagrams mix four kinds, so
 * every early exit of a receiver's validate-then-dispatch path is hit:
 *   - random lengths 0..1500 of random bytes;
 *   - a valid-looking header (version 1, type 1, 2 or 3, reserved 0) followed
 *     by a random body, which is truncated or overlong for its type;
 *   - data messages with random receiver indices and counters;
 *   - a table of crafted lengths at each message type's boundaries (exact,
 *     one short, one long), and headers with one bad field each.
 * With -k PUBKEY (the receiver's base64 public key), handshake messages also
 * get a valid mac1, so they pass the cheap check and reach the Noise layer,
 * where their random contents must be refused.
 *
 * With -s, the datagrams claim to come from SRC-ADDR:SRC-PORT, which need not
 * be local (IP_TRANSPARENT, so root): a vport's socket is connected to its
 * switch and only hears the switch's address, and an attacker on the path can
 * forge that address, so this is how junk reaches a port at all.
 *
 * With -g (needs -k), only handshake initiations with a valid mac1 are sent,
 * GSO_BURST at a time in one UDP GSO send, so the datagrams come faster than
 * a receiver can work through them and its receive batches stay full: a flood
 * as a determined sender would make it.
 *
 * A test tool: the same SEED sends the same datagrams. Exits 0 once COUNT
 * datagrams were attempted; send errors (a full buffer, ICMP unreachable) are
 * counted and printed, not fatal.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "key.h"
#include "wire.h"

#define RANDOM_LEN_MAX 1500u
/* Room for the largest crafted datagram: a data message one byte past the
 * largest frame, which is still under the 65507-byte UDP payload limit. */
#define DATAGRAM_MAX (WIRE_DATA_OVERHEAD + WIRE_MAX_FRAME + 1)

enum kind { KIND_RANDOM, KIND_HEADER_BODY, KIND_DATA, KIND_CRAFTED, KIND_COUNT };

struct crafted {
	uint8_t version, type, reserved;
	size_t len;
};

#define GSO_BURST 64

struct blaster {
	uint64_t rng;
	bool has_mac1_key;
	uint8_t mac1_key[NOISE_KEY_LEN];
	struct crafted table[64];
	size_t table_len, next_crafted;
	uint8_t buf[DATAGRAM_MAX];
};

/* xorshift64*: reproducible from the seed, good enough to spread lengths. */
static uint64_t rng_next(struct blaster *b)
{
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 2685821657736338717ull;
}

static uint32_t rng_below(struct blaster *b, uint32_t n)
{
	return (uint32_t)(rng_next(b) % n);
}

static void rng_fill(struct blaster *b, uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(rng_next(b) >> 56);
}

static void put_header(uint8_t *p, uint8_t version, uint8_t type, uint8_t reserved)
{
	p[0] = version;
	p[1] = type;
	p[2] = reserved;
	p[3] = 0;
}

static void table_add(struct blaster *b, uint8_t version, uint8_t type, uint8_t reserved,
		      size_t len)
{
	if (b->table_len < sizeof(b->table) / sizeof(b->table[0]))
		b->table[b->table_len++] = (struct crafted){ version, type, reserved, len };
}

/* Each type at its exact length, one byte short and one byte long. */
static void table_add_boundaries(struct blaster *b, uint8_t type, size_t exact)
{
	table_add(b, WIRE_VERSION, type, 0, exact - 1);
	table_add(b, WIRE_VERSION, type, 0, exact);
	table_add(b, WIRE_VERSION, type, 0, exact + 1);
}

static void table_build(struct blaster *b)
{
	for (size_t len = 0; len <= WIRE_HEADER_LEN; len++)
		table_add(b, WIRE_VERSION, WIRE_DATA, 0, len);
	table_add_boundaries(b, WIRE_HANDSHAKE_INIT, WIRE_INIT_LEN);
	table_add_boundaries(b, WIRE_HANDSHAKE_RESP, WIRE_RESP_LEN);
	table_add_boundaries(b, WIRE_DATA, WIRE_DATA_HEADER_LEN);
	table_add_boundaries(b, WIRE_DATA, WIRE_DATA_OVERHEAD); /* a keepalive */
	table_add_boundaries(b, WIRE_DATA, WIRE_DATA_OVERHEAD + FRAME_HEADER_LEN);
	table_add_boundaries(b, WIRE_DATA, WIRE_DATA_OVERHEAD + WIRE_MAX_FRAME);
	/* One bad field each, at an otherwise exact length. */
	table_add(b, 0, WIRE_HANDSHAKE_INIT, 0, WIRE_INIT_LEN);
	table_add(b, WIRE_VERSION + 1, WIRE_HANDSHAKE_INIT, 0, WIRE_INIT_LEN);
	table_add(b, 0xff, WIRE_DATA, 0, WIRE_DATA_OVERHEAD);
	table_add(b, WIRE_VERSION, 0, 0, WIRE_INIT_LEN);
	table_add(b, WIRE_VERSION, WIRE_DATA + 1, 0, WIRE_DATA_OVERHEAD);
	table_add(b, WIRE_VERSION, 0xff, 0, WIRE_RESP_LEN);
	table_add(b, WIRE_VERSION, WIRE_HANDSHAKE_INIT, 1, WIRE_INIT_LEN);
	table_add(b, WIRE_VERSION, WIRE_HANDSHAKE_RESP, 0x80, WIRE_RESP_LEN);
	table_add(b, WIRE_VERSION, WIRE_DATA, 0xff, WIRE_DATA_OVERHEAD);
}

static size_t make_random(struct blaster *b)
{
	size_t len = rng_below(b, RANDOM_LEN_MAX + 1);

	rng_fill(b, b->buf, len);
	return len;
}

static size_t make_header_body(struct blaster *b)
{
	size_t len = WIRE_HEADER_LEN + rng_below(b, RANDOM_LEN_MAX - WIRE_HEADER_LEN + 1);

	rng_fill(b, b->buf, len);
	put_header(b->buf, WIRE_VERSION, (uint8_t)(WIRE_HANDSHAKE_INIT + rng_below(b, 3)), 0);
	return len;
}

/* Half the indices keep the low 16 bits small, where a switch's port slots
 * are, so the lookup finds a slot and must still refuse the index. */
static size_t make_data(struct blaster *b)
{
	size_t len = WIRE_DATA_OVERHEAD + rng_below(b, RANDOM_LEN_MAX - WIRE_DATA_OVERHEAD + 1);
	uint32_t index = (uint32_t)rng_next(b);

	if (rng_below(b, 2))
		index = (index & 0xffff0000u) | rng_below(b, 16);
	rng_fill(b, b->buf, len);
	put_header(b->buf, WIRE_VERSION, WIRE_DATA, 0);
	put_u32le(b->buf + WIRE_HEADER_LEN, index);
	put_u64le(b->buf + WIRE_HEADER_LEN + WIRE_INDEX_LEN, rng_next(b));
	return len;
}

/* A structurally exact handshake message with a valid mac1 over random
 * contents: it must fail in the Noise layer, not earlier. */
static size_t make_handshake_with_mac1(struct blaster *b, uint8_t type)
{
	uint8_t noise_msg[WIRE_INIT_NOISE_LEN];
	uint32_t sender = (uint32_t)rng_next(b);

	rng_fill(b, noise_msg, sizeof(noise_msg));
	if (type == WIRE_HANDSHAKE_INIT)
		return wire_encode_init(b->buf, sizeof(b->buf), sender, noise_msg,
					WIRE_INIT_NOISE_LEN, b->mac1_key);
	return wire_encode_resp(b->buf, sizeof(b->buf), sender, (uint32_t)rng_next(b), noise_msg,
				WIRE_RESP_NOISE_LEN, b->mac1_key);
}

static size_t make_crafted(struct blaster *b)
{
	const struct crafted *c = &b->table[b->next_crafted++ % b->table_len];

	if (b->has_mac1_key && c->version == WIRE_VERSION && c->reserved == 0 &&
	    ((c->type == WIRE_HANDSHAKE_INIT && c->len == WIRE_INIT_LEN) ||
	     (c->type == WIRE_HANDSHAKE_RESP && c->len == WIRE_RESP_LEN)))
		return make_handshake_with_mac1(b, c->type);
	rng_fill(b, b->buf, c->len);
	if (c->len >= WIRE_HEADER_LEN)
		put_header(b->buf, c->version, c->type, c->reserved);
	return c->len;
}

static size_t make_datagram(struct blaster *b)
{
	switch ((enum kind)rng_below(b, KIND_COUNT)) {
	case KIND_RANDOM:
		return make_random(b);
	case KIND_HEADER_BODY:
		return make_header_body(b);
	case KIND_DATA:
		return make_data(b);
	default:
		return make_crafted(b);
	}
}

static int resolve(const char *host, const char *port, struct sockaddr_storage *out,
		   socklen_t *out_len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	int rc = getaddrinfo(host, port, &hints, &ai);

	if (rc != 0) {
		fprintf(stderr, "udpblast: bad address %s port %s: %s\n", host, port,
			gai_strerror(rc));
		return -1;
	}
	memcpy(out, ai->ai_addr, ai->ai_addrlen);
	*out_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* "ADDR:PORT" or "[ADDR]:PORT", split in place. */
static int resolve_endpoint(char *text, struct sockaddr_storage *out, socklen_t *out_len)
{
	char *colon = strrchr(text, ':');
	char *host = text;

	if (!colon) {
		fprintf(stderr, "udpblast: bad source '%s' (want ADDR:PORT)\n", text);
		return -1;
	}
	*colon = '\0';
	if (host[0] == '[' && colon > host && colon[-1] == ']') {
		host++;
		colon[-1] = '\0';
	}
	return resolve(host, colon + 1, out, out_len);
}

/* Bind to a source address that need not be ours (IP_TRANSPARENT). */
static int bind_spoofed(int fd, const struct sockaddr_storage *src, socklen_t src_len)
{
	int on = 1;
	int level = src->ss_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
	int name = src->ss_family == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT;

	if (setsockopt(fd, level, name, &on, sizeof(on)) < 0) {
		fprintf(stderr, "udpblast: cannot set IP_TRANSPARENT: %s\n", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, (const struct sockaddr *)src, src_len) < 0) {
		fprintf(stderr, "udpblast: cannot bind the source address: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno == 0 && *s != '\0' && *s != '-' && *end == '\0';
}

static int usage(void)
{
	fprintf(stderr,
		"usage: udpblast [-k PUBKEY [-g]] [-s SRC-ADDR:SRC-PORT] HOST PORT COUNT [SEED]\n");
	return 2;
}

static bool set_mac1_key(struct blaster *b, const char *text)
{
	uint8_t pub[NOISE_KEY_LEN];

	if (!key_from_base64(pub, text, strlen(text))) {
		fprintf(stderr, "udpblast: bad public key '%s'\n", text);
		return false;
	}
	wire_mac1_key(b->mac1_key, pub);
	b->has_mac1_key = true;
	return true;
}

struct target {
	struct sockaddr_storage to, from;
	socklen_t to_len, from_len;
	bool is_spoofed;
};

static int open_socket(const struct target *t)
{
	int fd = socket(t->to.ss_family, SOCK_DGRAM, 0);

	if (fd < 0) {
		fprintf(stderr, "udpblast: cannot open UDP socket: %s\n", strerror(errno));
		return -1;
	}
	if (t->is_spoofed) {
		if (t->from.ss_family != t->to.ss_family) {
			fprintf(stderr, "udpblast: source and destination families differ\n");
			close(fd);
			return -1;
		}
		if (bind_spoofed(fd, &t->from, t->from_len) < 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* -g: COUNT initiations, GSO_BURST per send; returns how many sends failed. */
static uint64_t flood(struct blaster *b, int fd, const struct target *t, uint64_t count)
{
	static uint8_t burst[GSO_BURST * WIRE_INIT_LEN];
	char control[CMSG_SPACE(sizeof(uint16_t))] = { 0 };
	struct iovec iov = { .iov_base = burst };
	struct msghdr mh = {
		.msg_name = (void *)&t->to,
		.msg_namelen = t->to_len,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	uint16_t seg = WIRE_INIT_LEN;
	uint64_t errors = 0;

	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	for (size_t i = 0; i < GSO_BURST; i++) {
		make_handshake_with_mac1(b, WIRE_HANDSHAKE_INIT);
		memcpy(burst + i * WIRE_INIT_LEN, b->buf, WIRE_INIT_LEN);
	}
	for (uint64_t sent = 0; sent < count; sent += GSO_BURST) {
		iov.iov_len = (count - sent < GSO_BURST ? count - sent : GSO_BURST) * WIRE_INIT_LEN;
		if (sendmsg(fd, &mh, 0) < 0)
			errors++;
	}
	return errors;
}

int main(int argc, char **argv)
{
	static struct blaster b; /* 64 KiB buffer: keep it off the stack */
	struct target t = { 0 };
	uint64_t count, seed = 1, bytes = 0, errors = 0;
	int opt, fd;
	bool gso = false;

	if (sodium_init() < 0)
		return 1;
	while ((opt = getopt(argc, argv, "gk:s:")) != -1) {
		gso |= opt == 'g';
		if (opt == 'k' && !set_mac1_key(&b, optarg))
			return 2;
		if (opt == 's' && resolve_endpoint(optarg, &t.from, &t.from_len) < 0)
			return 2;
		t.is_spoofed |= opt == 's';
		if (opt == '?')
			return usage();
	}
	argv += optind;
	argc -= optind;
	if (argc < 3 || argc > 4)
		return usage();
	if (!parse_u64(argv[2], &count)) {
		fprintf(stderr, "udpblast: bad count '%s'\n", argv[2]);
		return 2;
	}
	if (argc > 3 && !parse_u64(argv[3], &seed)) {
		fprintf(stderr, "udpblast: bad seed '%s'\n", argv[3]);
		return 2;
	}
	b.rng = seed ? seed : 1; /* xorshift never leaves zero */
	table_build(&b);
	if (resolve(argv[0], argv[1], &t.to, &t.to_len) < 0)
		return 2;
	if (gso && !b.has_mac1_key)
		return usage();
	fd = open_socket(&t);
	if (fd < 0)
		return 1;
	if (gso) {
		errors = flood(&b, fd, &t, count);
		close(fd);
		printf("udpblast: sent %" PRIu64 " initiations in GSO bursts (%" PRIu64
		       " sends failed) to %s port %s\n",
		       count, errors, argv[0], argv[1]);
		return 0;
	}
	for (uint64_t i = 0; i < count; i++) {
		size_t len = make_datagram(&b);

		if (sendto(fd, b.buf, len, 0, (struct sockaddr *)&t.to, t.to_len) < 0)
			errors++;
		else
			bytes += len;
	}
	close(fd);
	printf("udpblast: sent %" PRIu64 " datagrams (%" PRIu64 " bytes, %" PRIu64
	       " send errors) to %s port %s\n",
	       count - errors, bytes, errors, argv[0], argv[1]);
	return 0;
}
