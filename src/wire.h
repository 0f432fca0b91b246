/*
 * wire — every vswitch message, encoded and decoded byte by byte as
 * docs/protocol.md describes. Pure. All constants of the wire format live here.
 *
 * Every message starts with a 4-byte header: version, type, two reserved
 * bytes (zero, but for a data message's flags). Integers are little endian.
 * Decoders check the version, the type and the exact length before anything
 * else, and return views into the datagram (no copies); they never read past
 * len.
 */
#ifndef VSWITCH_WIRE_H
#define VSWITCH_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "noise.h"

#define WIRE_VERSION 1
#define WIRE_HEADER_LEN 4
#define WIRE_INDEX_LEN 4
#define WIRE_COUNTER_LEN 8
#define WIRE_MAC1_LEN 16

enum wire_type {
	WIRE_HANDSHAKE_INIT = 1,
	WIRE_HANDSHAKE_RESP = 2,
	WIRE_DATA = 3,
};

/* A data message's flags: the first reserved byte of its header; the second
 * stays zero. The flags are also the first byte of the message's nonce, so
 * the tag covers them (docs/protocol.md). */
/* The frame's TCP or UDP checksum field holds only the pseudo-header sum: the
 * receiver (or its kernel) completes it. */
#define WIRE_DATA_CSUM_PARTIAL 0x01
#define WIRE_DATA_FLAGS_KNOWN WIRE_DATA_CSUM_PARTIAL

/* The initiator's handshake payload: a timestamp (seconds and nanoseconds, big
 * endian, as TAI64N) that only grows, so a replayed initiation is refused. */
#define WIRE_TIMESTAMP_LEN 12
#define WIRE_INIT_NOISE_LEN (NOISE_MSG1_OVERHEAD + WIRE_TIMESTAMP_LEN)
#define WIRE_RESP_NOISE_LEN (NOISE_MSG2_OVERHEAD)
#define WIRE_INIT_LEN (WIRE_HEADER_LEN + WIRE_INDEX_LEN + WIRE_INIT_NOISE_LEN + WIRE_MAC1_LEN)
#define WIRE_RESP_LEN                                                                              \
	(WIRE_HEADER_LEN + 2 * WIRE_INDEX_LEN + WIRE_RESP_NOISE_LEN + WIRE_MAC1_LEN)
#define WIRE_DATA_HEADER_LEN (WIRE_HEADER_LEN + WIRE_INDEX_LEN + WIRE_COUNTER_LEN)
/* Data overhead around one frame: header plus the Poly1305 tag. */
#define WIRE_DATA_OVERHEAD (WIRE_DATA_HEADER_LEN + NOISE_TAG_LEN)
/* Largest frame a data message may carry; keeps every datagram under 64 KiB. */
#define WIRE_MAX_FRAME 65000

/* Outer headers, for MTU arithmetic: the worst case is IPv6. */
#define WIRE_UDP_HEADER_LEN 8
#define WIRE_IPV4_HEADER_LEN 20
#define WIRE_IPV6_HEADER_LEN 40
#define WIRE_UNDERLAY_MTU 1500
/*
 * The default TAP MTU: a full-size frame, with one 802.1Q tag, encapsulated and
 * sent over IPv6 (the larger outer header) fits a 1500-byte underlay unfragmented:
 * 1500 - 40 (IPv6) - 8 (UDP) - 16 (data header) - 16 (tag) - 14 (Ethernet)
 *      - 4 (802.1Q) = 1402.
 */
#define WIRE_DEFAULT_TAP_MTU                                                                       \
	(WIRE_UNDERLAY_MTU - WIRE_IPV6_HEADER_LEN - WIRE_UDP_HEADER_LEN - WIRE_DATA_OVERHEAD -       \
	 FRAME_HEADER_LEN - FRAME_VLAN_TAG_LEN)
#define WIRE_MIN_TAP_MTU 576
#define WIRE_MAX_TAP_MTU (WIRE_MAX_FRAME - FRAME_HEADER_LEN - FRAME_VLAN_TAG_LEN)

enum wire_error {
	WIRE_OK = 0,
	WIRE_ERR_SHORT,    /* shorter than the header */
	WIRE_ERR_VERSION,  /* unknown version */
	WIRE_ERR_TYPE,     /* unknown type */
	WIRE_ERR_LENGTH,   /* wrong length for its type */
	WIRE_ERR_RESERVED, /* reserved bytes not zero (or unknown data flags) */
	WIRE_ERR_COUNT,
};
const char *wire_error_name(enum wire_error e);

struct wire_init {
	uint32_t sender_index;
	const uint8_t *noise; /* WIRE_INIT_NOISE_LEN bytes */
	const uint8_t *mac1;  /* WIRE_MAC1_LEN bytes */
	size_t mac1_offset;   /* bytes of the message covered by mac1 */
};
struct wire_resp {
	uint32_t sender_index;
	uint32_t receiver_index;
	const uint8_t *noise; /* WIRE_RESP_NOISE_LEN bytes */
	const uint8_t *mac1;
	size_t mac1_offset;
};
struct wire_data {
	uint8_t flags; /* WIRE_DATA_* */
	uint32_t receiver_index;
	uint64_t counter;
	uint8_t *ciphertext;   /* frame then tag, decrypted in place */
	size_t ciphertext_len; /* >= NOISE_TAG_LEN; == NOISE_TAG_LEN for a keepalive */
};

/* The type of a datagram after checking header, version and reserved bytes;
 * sets *type. The per-type decoders below check the exact length. */
enum wire_error wire_peek(const uint8_t *buf, size_t len, enum wire_type *type);
enum wire_error wire_decode_init(const uint8_t *buf, size_t len, struct wire_init *out);
enum wire_error wire_decode_resp(const uint8_t *buf, size_t len, struct wire_resp *out);
enum wire_error wire_decode_data(uint8_t *buf, size_t len, struct wire_data *out);

/* Encoders write a whole message into out (cap bytes) and return its length, or
 * 0 if cap is too small or an input length is wrong. mac1 is computed here. */
size_t wire_encode_init(uint8_t *out, size_t cap, uint32_t sender_index, const uint8_t *noise_msg,
			size_t noise_len, const uint8_t mac1_key[NOISE_KEY_LEN]);
size_t wire_encode_resp(uint8_t *out, size_t cap, uint32_t sender_index, uint32_t receiver_index,
			const uint8_t *noise_msg, size_t noise_len,
			const uint8_t mac1_key[NOISE_KEY_LEN]);
/* Writes the data header in front of an already sealed payload: out must have
 * WIRE_DATA_HEADER_LEN bytes free. */
void wire_encode_data_header(uint8_t out[WIRE_DATA_HEADER_LEN], uint8_t flags,
			     uint32_t receiver_index, uint64_t counter);

/*
 * mac1: a keyed BLAKE2b-128 over the message up to the mac1 field, keyed with
 * BLAKE2b-256("mac1----" || receiver's static public key). Anyone who knows the
 * receiver's public key can compute it, so it proves nothing about the sender;
 * it lets a node drop random datagrams and scans for the wrong key with one
 * hash, before any Diffie-Hellman (WireGuard does the same).
 */
void wire_mac1_key(uint8_t key[NOISE_KEY_LEN], const uint8_t receiver_pub[NOISE_KEY_LEN]);
bool wire_mac1_valid(const uint8_t *msg, size_t mac1_offset, const uint8_t mac1[WIRE_MAC1_LEN],
		     const uint8_t key[NOISE_KEY_LEN]);

void wire_timestamp_encode(uint8_t out[WIRE_TIMESTAMP_LEN], uint64_t sec, uint32_t nsec);
/* Compare two encoded timestamps: <0, 0, >0 as memcmp (big endian makes that right). */
int wire_timestamp_cmp(const uint8_t a[WIRE_TIMESTAMP_LEN], const uint8_t b[WIRE_TIMESTAMP_LEN]);

/* The prologue both sides mix into the handshake: binds it to this protocol. */
#define WIRE_PROLOGUE "vswitch v1"

#endif
