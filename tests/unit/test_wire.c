/*
 * Unit tests for wire.c: every message encoded then decoded field by field,
 * mac1 over the covered bytes, a numbered table of malformed headers, every
 * length around the exact one, and timestamps in time order. Every decoder
 * call gets an exact-size heap copy, so ASan catches a read past len.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define SENDER_INDEX 0x04030201u
#define RECEIVER_INDEX 0xa1b2c3d4u
#define DATA_COUNTER 0x0807060504030201ULL

static uint8_t receiver_pub[NOISE_KEY_LEN];
static uint8_t mac1_key[NOISE_KEY_LEN];
static uint8_t init_noise[WIRE_INIT_NOISE_LEN];
static uint8_t resp_noise[WIRE_RESP_NOISE_LEN];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (size_t i = 0; i < sizeof(receiver_pub); i++)
		receiver_pub[i] = (uint8_t)(0x40 + i);
	wire_mac1_key(mac1_key, receiver_pub);
	/* Distinct, recognisable bytes so any offset error shows. */
	for (size_t i = 0; i < sizeof(init_noise); i++)
		init_noise[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(resp_noise); i++)
		resp_noise[i] = (uint8_t)(i * 13 + 5);
	return 0;
}

/* An exact-size heap copy of len bytes of src (src may be shorter: zero fill). */
static uint8_t *copy_of(const uint8_t *src, size_t src_len, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	memset(p, 0, len);
	memcpy(p, src, src_len < len ? src_len : len);
	return p;
}

static size_t encode_init(uint8_t out[WIRE_INIT_LEN])
{
	return wire_encode_init(out, WIRE_INIT_LEN, SENDER_INDEX, init_noise, sizeof(init_noise),
				mac1_key);
}

static size_t encode_resp(uint8_t out[WIRE_RESP_LEN])
{
	return wire_encode_resp(out, WIRE_RESP_LEN, SENDER_INDEX, RECEIVER_INDEX, resp_noise,
				sizeof(resp_noise), mac1_key);
}

static void assert_header(const uint8_t *msg, enum wire_type type)
{
	assert_int_equal(msg[0], WIRE_VERSION);
	assert_int_equal(msg[1], type);
	assert_int_equal(msg[2], 0);
	assert_int_equal(msg[3], 0);
}

static void test_sizes(void **state)
{
	(void)state;
	/* docs/protocol.md: 4 + 4 + (32 + 32 + 16 + 16 + 12) + 16 and 4 + 8 + 48 + 16. */
	assert_int_equal(WIRE_INIT_LEN, 132);
	assert_int_equal(WIRE_RESP_LEN, 76);
	assert_int_equal(WIRE_DATA_HEADER_LEN, 16);
	assert_int_equal(WIRE_DATA_OVERHEAD, 32);
}

static void test_init_round_trip(void **state)
{
	uint8_t msg[WIRE_INIT_LEN];
	struct wire_init in;
	enum wire_type type = 0;
	uint8_t *copy;

	(void)state;
	assert_int_equal(encode_init(msg), WIRE_INIT_LEN);
	assert_header(msg, WIRE_HANDSHAKE_INIT);
	/* Little endian sender index right after the header. */
	assert_int_equal(msg[4], 0x01);
	assert_int_equal(msg[5], 0x02);
	assert_int_equal(msg[6], 0x03);
	assert_int_equal(msg[7], 0x04);
	assert_memory_equal(msg + 8, init_noise, sizeof(init_noise));

	copy = copy_of(msg, sizeof(msg), sizeof(msg));
	assert_int_equal(wire_peek(copy, sizeof(msg), &type), WIRE_OK);
	assert_int_equal(type, WIRE_HANDSHAKE_INIT);
	assert_int_equal(wire_decode_init(copy, sizeof(msg), &in), WIRE_OK);
	assert_int_equal(in.sender_index, SENDER_INDEX);
	assert_ptr_equal(in.noise, copy + WIRE_HEADER_LEN + WIRE_INDEX_LEN);
	assert_memory_equal(in.noise, init_noise, WIRE_INIT_NOISE_LEN);
	assert_int_equal(in.mac1_offset, WIRE_INIT_LEN - WIRE_MAC1_LEN);
	assert_ptr_equal(in.mac1, copy + WIRE_INIT_LEN - WIRE_MAC1_LEN);
	assert_true(wire_mac1_valid(copy, in.mac1_offset, in.mac1, mac1_key));
	free(copy);
}

static void test_resp_round_trip(void **state)
{
	uint8_t msg[WIRE_RESP_LEN];
	struct wire_resp r;
	enum wire_type type = 0;
	uint8_t *copy;

	(void)state;
	assert_int_equal(encode_resp(msg), WIRE_RESP_LEN);
	assert_header(msg, WIRE_HANDSHAKE_RESP);
	assert_int_equal(msg[4], 0x01);
	assert_int_equal(msg[7], 0x04);
	assert_int_equal(msg[8], 0xd4);
	assert_int_equal(msg[11], 0xa1);
	assert_memory_equal(msg + 12, resp_noise, sizeof(resp_noise));

	copy = copy_of(msg, sizeof(msg), sizeof(msg));
	assert_int_equal(wire_peek(copy, sizeof(msg), &type), WIRE_OK);
	assert_int_equal(type, WIRE_HANDSHAKE_RESP);
	assert_int_equal(wire_decode_resp(copy, sizeof(msg), &r), WIRE_OK);
	assert_int_equal(r.sender_index, SENDER_INDEX);
	assert_int_equal(r.receiver_index, RECEIVER_INDEX);
	assert_ptr_equal(r.noise, copy + WIRE_HEADER_LEN + 2 * WIRE_INDEX_LEN);
	assert_memory_equal(r.noise, resp_noise, WIRE_RESP_NOISE_LEN);
	assert_int_equal(r.mac1_offset, WIRE_RESP_LEN - WIRE_MAC1_LEN);
	assert_ptr_equal(r.mac1, copy + WIRE_RESP_LEN - WIRE_MAC1_LEN);
	assert_true(wire_mac1_valid(copy, r.mac1_offset, r.mac1, mac1_key));
	free(copy);
}

static void test_data_round_trip(void **state)
{
	static const size_t payloads[] = { 0, 1, 60, 1514, WIRE_MAX_FRAME };

	(void)state;
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		size_t len = WIRE_DATA_OVERHEAD + payloads[i];
		uint8_t *msg = malloc(len);
		struct wire_data d;
		enum wire_type type = 0;

		assert_non_null(msg);
		for (size_t j = WIRE_DATA_HEADER_LEN; j < len; j++)
			msg[j] = (uint8_t)j;
		wire_encode_data_header(msg, 0, RECEIVER_INDEX, DATA_COUNTER);
		assert_header(msg, WIRE_DATA);
		assert_int_equal(msg[4], 0xd4);
		assert_int_equal(msg[7], 0xa1);
		for (int j = 0; j < 8; j++)
			assert_int_equal(msg[8 + j], j + 1);
		/* The header writer stays inside its 16 bytes. */
		assert_int_equal(msg[WIRE_DATA_HEADER_LEN], WIRE_DATA_HEADER_LEN & 0xff);

		assert_int_equal(wire_peek(msg, len, &type), WIRE_OK);
		assert_int_equal(type, WIRE_DATA);
		assert_int_equal(wire_decode_data(msg, len, &d), WIRE_OK);
		assert_int_equal(d.flags, 0);
		assert_int_equal(d.receiver_index, RECEIVER_INDEX);
		assert_true(d.counter == DATA_COUNTER);
		assert_ptr_equal(d.ciphertext, msg + WIRE_DATA_HEADER_LEN);
		assert_int_equal(d.ciphertext_len, payloads[i] + NOISE_TAG_LEN);
		/* Flags go in the first reserved byte and come back out. */
		wire_encode_data_header(msg, WIRE_DATA_CSUM_PARTIAL, RECEIVER_INDEX, DATA_COUNTER);
		assert_int_equal(msg[2], WIRE_DATA_CSUM_PARTIAL);
		assert_int_equal(msg[3], 0);
		assert_int_equal(wire_decode_data(msg, len, &d), WIRE_OK);
		assert_int_equal(d.flags, WIRE_DATA_CSUM_PARTIAL);
		assert_true(d.counter == DATA_COUNTER);
		free(msg);
	}
}

/* Extreme index and counter values survive the trip. */
static void test_data_extremes(void **state)
{
	static const uint64_t counters[] = { 0, 1, UINT32_MAX, (uint64_t)UINT32_MAX + 1,
					     UINT64_MAX };
	static const uint32_t indices[] = { 0, 1, 0x80000000u, UINT32_MAX };

	(void)state;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		for (size_t j = 0; j < sizeof(indices) / sizeof(indices[0]); j++) {
			uint8_t msg[WIRE_DATA_OVERHEAD] = { 0 };
			struct wire_data d;

			wire_encode_data_header(msg, 0, indices[j], counters[i]);
			assert_int_equal(wire_decode_data(msg, sizeof(msg), &d), WIRE_OK);
			assert_true(d.counter == counters[i]);
			assert_int_equal(d.receiver_index, indices[j]);
		}
	}
}

/* Flipping any single bit of the covered part, or of mac1 itself, breaks it. */
static void check_mac1_flips(uint8_t *msg, size_t len)
{
	const size_t mac1_at = len - WIRE_MAC1_LEN;

	assert_true(wire_mac1_valid(msg, mac1_at, msg + mac1_at, mac1_key));
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			msg[i] ^= (uint8_t)(1u << bit);
			if (wire_mac1_valid(msg, mac1_at, msg + mac1_at, mac1_key))
				fail_msg("mac1 still valid with byte %zu bit %d flipped", i, bit);
			msg[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_true(wire_mac1_valid(msg, mac1_at, msg + mac1_at, mac1_key));
}

static void test_mac1(void **state)
{
	uint8_t init[WIRE_INIT_LEN], resp[WIRE_RESP_LEN];
	uint8_t other_pub[NOISE_KEY_LEN], other_key[NOISE_KEY_LEN];

	(void)state;
	assert_int_equal(encode_init(init), WIRE_INIT_LEN);
	assert_int_equal(encode_resp(resp), WIRE_RESP_LEN);
	check_mac1_flips(init, sizeof(init));
	check_mac1_flips(resp, sizeof(resp));

	/* Keyed by the receiver's public key: another receiver's key fails. */
	memcpy(other_pub, receiver_pub, sizeof(other_pub));
	other_pub[31] ^= 1;
	wire_mac1_key(other_key, other_pub);
	assert_memory_not_equal(other_key, mac1_key, NOISE_KEY_LEN);
	assert_false(wire_mac1_valid(init, WIRE_INIT_LEN - WIRE_MAC1_LEN,
				     init + WIRE_INIT_LEN - WIRE_MAC1_LEN, other_key));
	/* The mac1 key is not the public key itself. */
	assert_memory_not_equal(mac1_key, receiver_pub, NOISE_KEY_LEN);
	/* mac1 covers exactly mac1_offset bytes: one fewer does not verify. */
	assert_false(wire_mac1_valid(init, WIRE_INIT_LEN - WIRE_MAC1_LEN - 1,
				     init + WIRE_INIT_LEN - WIRE_MAC1_LEN, mac1_key));
}

/* The mac1 key is BLAKE2b-256("mac1----" || pub), as wire.h documents. */
static void test_mac1_key_derivation(void **state)
{
	uint8_t in[8 + NOISE_KEY_LEN], want[NOISE_KEY_LEN];

	(void)state;
	memcpy(in, "mac1----", 8);
	memcpy(in + 8, receiver_pub, NOISE_KEY_LEN);
	crypto_generichash_blake2b(want, sizeof(want), in, sizeof(in), NULL, 0);
	assert_memory_equal(mac1_key, want, NOISE_KEY_LEN);
}

enum decoder { PEEK, INIT, RESP, DATA };
static const char *const decoder_names[] = { "peek", "init", "resp", "data" };

static enum wire_error run_decoder(enum decoder which, const uint8_t *src, size_t src_len,
				   size_t len)
{
	uint8_t *copy = copy_of(src, src_len, len);
	enum wire_error err = WIRE_ERR_COUNT;
	enum wire_type type;
	struct wire_init in;
	struct wire_resp r;
	struct wire_data d;

	switch (which) {
	case PEEK:
		err = wire_peek(copy, len, &type);
		break;
	case INIT:
		err = wire_decode_init(copy, len, &in);
		break;
	case RESP:
		err = wire_decode_resp(copy, len, &r);
		break;
	case DATA:
		err = wire_decode_data(copy, len, &d);
		break;
	}
	free(copy);
	return err;
}

struct header_case {
	int id;
	uint8_t bytes[4];
	size_t len; /* of the message; the rest is zero */
	enum wire_error want[4]; /* peek, init, resp, data */
};

#define ALL(e) { e, e, e, e }
#define L_INIT WIRE_INIT_LEN
#define L_RESP WIRE_RESP_LEN
#define L_DATA WIRE_DATA_OVERHEAD

/* Every header at the length its own type wants (so only the header is wrong),
 * judged by peek and by each decoder. */
static const struct header_case header_cases[] = {
	{ 1, { 0 }, 0, ALL(WIRE_ERR_SHORT) },
	{ 2, { 1 }, 1, ALL(WIRE_ERR_SHORT) },
	{ 3, { 1, 1 }, 2, ALL(WIRE_ERR_SHORT) },
	{ 4, { 1, 1, 0 }, 3, ALL(WIRE_ERR_SHORT) },
	{ 5, { 1, 3, 0 }, 3, ALL(WIRE_ERR_SHORT) },
	/* Wrong version, with each type. */
	{ 6, { 0, 1, 0, 0 }, L_INIT, ALL(WIRE_ERR_VERSION) },
	{ 7, { 2, 2, 0, 0 }, L_RESP, ALL(WIRE_ERR_VERSION) },
	{ 8, { 0xff, 3, 0, 0 }, L_DATA, ALL(WIRE_ERR_VERSION) },
	{ 9, { 0x81, 1, 0, 0 }, L_INIT, ALL(WIRE_ERR_VERSION) },
	/* Unknown types. */
	{ 10, { 1, 0, 0, 0 }, L_INIT, ALL(WIRE_ERR_TYPE) },
	{ 11, { 1, 4, 0, 0 }, L_INIT, ALL(WIRE_ERR_TYPE) },
	{ 12, { 1, 0xff, 0, 0 }, L_DATA, ALL(WIRE_ERR_TYPE) },
	{ 13, { 1, 0x81, 0, 0 }, L_INIT, ALL(WIRE_ERR_TYPE) },
	/* Nonzero reserved bytes, each byte, each type. */
	{ 14, { 1, 1, 1, 0 }, L_INIT, ALL(WIRE_ERR_RESERVED) },
	{ 15, { 1, 1, 0, 1 }, L_INIT, ALL(WIRE_ERR_RESERVED) },
	{ 16, { 1, 2, 0x80, 0 }, L_RESP, ALL(WIRE_ERR_RESERVED) },
	{ 17, { 1, 3, 0, 0x80 }, L_DATA, ALL(WIRE_ERR_RESERVED) },
	{ 18, { 1, 3, 0xff, 0xff }, L_DATA, ALL(WIRE_ERR_RESERVED) },
	/* A header that is only four bytes long: peek is satisfied, decoders are not. */
	{ 19, { 1, 1, 0, 0 }, 4, { WIRE_OK, WIRE_ERR_LENGTH, WIRE_ERR_TYPE, WIRE_ERR_TYPE } },
	{ 20, { 1, 2, 0, 0 }, 4, { WIRE_OK, WIRE_ERR_TYPE, WIRE_ERR_LENGTH, WIRE_ERR_TYPE } },
	{ 21, { 1, 3, 0, 0 }, 4, { WIRE_OK, WIRE_ERR_TYPE, WIRE_ERR_TYPE, WIRE_ERR_LENGTH } },
	/* Good headers: each decoder refuses the other types. */
	{ 22, { 1, 1, 0, 0 }, L_INIT, { WIRE_OK, WIRE_OK, WIRE_ERR_TYPE, WIRE_ERR_TYPE } },
	{ 23, { 1, 2, 0, 0 }, L_RESP, { WIRE_OK, WIRE_ERR_TYPE, WIRE_OK, WIRE_ERR_TYPE } },
	{ 24, { 1, 3, 0, 0 }, L_DATA, { WIRE_OK, WIRE_ERR_TYPE, WIRE_ERR_TYPE, WIRE_OK } },
	/* The data length is right for nothing else, and an init is a valid data length. */
	{ 25, { 1, 3, 0, 0 }, L_INIT, { WIRE_OK, WIRE_ERR_TYPE, WIRE_ERR_TYPE, WIRE_OK } },
	/* A data message's first reserved byte holds its flags: the known ones
	 * pass, any other bit, the second byte, and flags on a handshake do not. */
	{ 26, { 1, 3, WIRE_DATA_CSUM_PARTIAL, 0 }, L_DATA,
	  { WIRE_OK, WIRE_ERR_TYPE, WIRE_ERR_TYPE, WIRE_OK } },
	{ 27, { 1, 3, 2, 0 }, L_DATA, ALL(WIRE_ERR_RESERVED) },
	{ 28, { 1, 3, 0x81, 0 }, L_DATA, ALL(WIRE_ERR_RESERVED) },
	{ 29, { 1, 3, WIRE_DATA_CSUM_PARTIAL, 1 }, L_DATA, ALL(WIRE_ERR_RESERVED) },
	{ 30, { 1, 2, WIRE_DATA_CSUM_PARTIAL, 0 }, L_RESP, ALL(WIRE_ERR_RESERVED) },
};

static void test_header_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		const struct header_case *c = &header_cases[i];

		for (enum decoder dec = PEEK; dec <= DATA; dec++) {
			enum wire_error got = run_decoder(dec, c->bytes, sizeof(c->bytes), c->len);

			if (got != c->want[dec])
				fail_msg("case %d (%s, len %zu): got %s, want %s", c->id,
					 decoder_names[dec], c->len, wire_error_name(got),
					 wire_error_name(c->want[dec]));
		}
	}
}

/* Every length from 0 to exact + 1, except the exact one, is refused. */
static void check_lengths(enum decoder dec, const uint8_t *msg, size_t exact)
{
	for (size_t len = 0; len <= exact + 1; len++) {
		enum wire_error want = len < WIRE_HEADER_LEN ? WIRE_ERR_SHORT
				       : len == exact        ? WIRE_OK
							     : WIRE_ERR_LENGTH;
		/* Longer than the message: the extra byte is zero. */
		enum wire_error got = run_decoder(dec, msg, exact, len);

		if (got != want)
			fail_msg("%s len %zu: got %s, want %s", decoder_names[dec], len,
				 wire_error_name(got), wire_error_name(want));
	}
}

static void test_init_lengths(void **state)
{
	uint8_t msg[WIRE_INIT_LEN];

	(void)state;
	assert_int_equal(encode_init(msg), WIRE_INIT_LEN);
	check_lengths(INIT, msg, WIRE_INIT_LEN);
}

static void test_resp_lengths(void **state)
{
	uint8_t msg[WIRE_RESP_LEN];

	(void)state;
	assert_int_equal(encode_resp(msg), WIRE_RESP_LEN);
	check_lengths(RESP, msg, WIRE_RESP_LEN);
}

static void test_data_lengths(void **state)
{
	const size_t max = WIRE_DATA_OVERHEAD + WIRE_MAX_FRAME;
	uint8_t hdr[WIRE_DATA_HEADER_LEN];
	static const size_t big[] = { max - 1, max, max + 1, max + 2, 65535, 65536 };

	(void)state;
	wire_encode_data_header(hdr, 0, RECEIVER_INDEX, DATA_COUNTER);
	for (size_t len = 0; len <= WIRE_DATA_OVERHEAD + 1; len++) {
		enum wire_error want = len < WIRE_HEADER_LEN	 ? WIRE_ERR_SHORT
				       : len < WIRE_DATA_OVERHEAD ? WIRE_ERR_LENGTH
								  : WIRE_OK;
		enum wire_error got = run_decoder(DATA, hdr, sizeof(hdr), len);

		if (got != want)
			fail_msg("data len %zu: got %s, want %s", len, wire_error_name(got),
				 wire_error_name(want));
	}
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		enum wire_error want = big[i] <= max ? WIRE_OK : WIRE_ERR_LENGTH;
		enum wire_error got = run_decoder(DATA, hdr, sizeof(hdr), big[i]);

		if (got != want)
			fail_msg("data len %zu: got %s, want %s", big[i], wire_error_name(got),
				 wire_error_name(want));
	}
	/* A huge claimed length must not wrap the arithmetic: no read happens past
	 * the header, so a 16-byte buffer with SIZE_MAX is safe to pass. */
	{
		struct wire_data d;
		uint8_t msg[WIRE_DATA_HEADER_LEN];

		memcpy(msg, hdr, sizeof(msg));
		assert_int_equal(wire_decode_data(msg, SIZE_MAX, &d), WIRE_ERR_LENGTH);
	}
}

static void test_encoders_refuse(void **state)
{
	uint8_t *buf;

	(void)state;
	/* cap one short: 0, and nothing written past the (exact-size) buffer. */
	buf = malloc(WIRE_INIT_LEN - 1);
	assert_non_null(buf);
	assert_int_equal(wire_encode_init(buf, WIRE_INIT_LEN - 1, SENDER_INDEX, init_noise,
					  sizeof(init_noise), mac1_key),
			 0);
	free(buf);
	buf = malloc(WIRE_RESP_LEN - 1);
	assert_non_null(buf);
	assert_int_equal(wire_encode_resp(buf, WIRE_RESP_LEN - 1, SENDER_INDEX, RECEIVER_INDEX,
					  resp_noise, sizeof(resp_noise), mac1_key),
			 0);
	free(buf);
	assert_int_equal(wire_encode_init(NULL, 0, SENDER_INDEX, init_noise, sizeof(init_noise),
					  mac1_key),
			 0);

	/* A larger cap is fine and the length stays exact. */
	buf = malloc(WIRE_INIT_LEN + 100);
	assert_non_null(buf);
	assert_int_equal(wire_encode_init(buf, WIRE_INIT_LEN + 100, SENDER_INDEX, init_noise,
					  sizeof(init_noise), mac1_key),
			 WIRE_INIT_LEN);
	/* A wrong noise length, either way, is refused. */
	assert_int_equal(wire_encode_init(buf, WIRE_INIT_LEN + 100, SENDER_INDEX, init_noise,
					  sizeof(init_noise) - 1, mac1_key),
			 0);
	assert_int_equal(wire_encode_init(buf, WIRE_INIT_LEN + 100, SENDER_INDEX, init_noise,
					  sizeof(init_noise) + 1, mac1_key),
			 0);
	assert_int_equal(wire_encode_resp(buf, WIRE_INIT_LEN + 100, SENDER_INDEX, RECEIVER_INDEX,
					  resp_noise, sizeof(resp_noise) - 1, mac1_key),
			 0);
	assert_int_equal(wire_encode_resp(buf, WIRE_INIT_LEN + 100, SENDER_INDEX, RECEIVER_INDEX,
					  init_noise, sizeof(resp_noise) + 1, mac1_key),
			 0);
	assert_int_equal(wire_encode_resp(buf, WIRE_INIT_LEN + 100, SENDER_INDEX, RECEIVER_INDEX,
					  resp_noise, sizeof(resp_noise), mac1_key),
			 WIRE_RESP_LEN);
	free(buf);
}

struct stamp {
	uint64_t sec;
	uint32_t nsec;
};

/* Strictly increasing in time. */
static const struct stamp stamps[] = {
	{ 0, 0 },
	{ 0, 1 },
	{ 0, 255 },
	{ 0, 256 },
	{ 0, 999999999 },
	{ 1, 0 }, /* across a second boundary */
	{ 1, 1 },
	{ 1, 999999999 },
	{ 2, 0 },
	{ 255, 999999999 },
	{ 256, 0 },
	{ 1700000000, 500000000 },
	{ 1700000001, 0 },
	{ UINT32_MAX, 999999999 },
	{ (uint64_t)UINT32_MAX + 1, 0 },
};

static void test_timestamps(void **state)
{
	const size_t n = sizeof(stamps) / sizeof(stamps[0]);
	uint8_t a[WIRE_TIMESTAMP_LEN], b[WIRE_TIMESTAMP_LEN];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int cmp;

			wire_timestamp_encode(a, stamps[i].sec, stamps[i].nsec);
			wire_timestamp_encode(b, stamps[j].sec, stamps[j].nsec);
			cmp = wire_timestamp_cmp(a, b);
			if ((i < j && cmp >= 0) || (i == j && cmp != 0) || (i > j && cmp <= 0))
				fail_msg("stamps %zu and %zu compare %d", i, j, cmp);
		}
	}
}

static void test_timestamp_bytes(void **state)
{
	/* TAI64N label of 1970-01-01 + 0x01020304 s (the 10 s offset is in the label). */
	static const uint8_t want[WIRE_TIMESTAMP_LEN] = { 0x40, 0, 0, 0, 0x01, 0x02, 0x03, 0x0e,
							  0x3b, 0x9a, 0xc9, 0xff };
	uint8_t got[WIRE_TIMESTAMP_LEN];

	(void)state;
	wire_timestamp_encode(got, 0x01020304u, 999999999u);
	assert_memory_equal(got, want, sizeof(want));
}

static void test_error_names(void **state)
{
	(void)state;
	assert_string_equal(wire_error_name(WIRE_OK), "ok");
	assert_string_equal(wire_error_name(WIRE_ERR_SHORT), "short");
	assert_string_equal(wire_error_name(WIRE_ERR_VERSION), "bad_version");
	assert_string_equal(wire_error_name(WIRE_ERR_TYPE), "bad_type");
	assert_string_equal(wire_error_name(WIRE_ERR_LENGTH), "bad_length");
	assert_string_equal(wire_error_name(WIRE_ERR_RESERVED), "bad_reserved");
	assert_string_equal(wire_error_name(WIRE_ERR_COUNT), "unknown");
	assert_string_equal(wire_error_name((enum wire_error)-1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_init_round_trip),
		cmocka_unit_test(test_resp_round_trip),
		cmocka_unit_test(test_data_round_trip),
		cmocka_unit_test(test_data_extremes),
		cmocka_unit_test(test_mac1),
		cmocka_unit_test(test_mac1_key_derivation),
		cmocka_unit_test(test_header_table),
		cmocka_unit_test(test_init_lengths),
		cmocka_unit_test(test_resp_lengths),
		cmocka_unit_test(test_data_lengths),
		cmocka_unit_test(test_encoders_refuse),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_timestamp_bytes),
		cmocka_unit_test(test_error_names),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
