/*
 * libFuzzer target for wire.c: wire_peek and every decoder on an exact-size
 * mutable copy of the input (so ASan sees any read past len), the mac1 check
 * on what decodes, and re-encoding of what decodes, which must give back the
 * same bytes.
 */
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static void check_init(const uint8_t *buf, size_t len, const uint8_t key[NOISE_KEY_LEN])
{
	struct wire_init in;
	uint8_t again[WIRE_INIT_LEN];
	bool valid;

	if (wire_decode_init(buf, len, &in) != WIRE_OK)
		return;
	if (len != WIRE_INIT_LEN || in.mac1_offset != WIRE_INIT_LEN - WIRE_MAC1_LEN ||
	    in.noise != buf + WIRE_HEADER_LEN + WIRE_INDEX_LEN || in.mac1 != buf + in.mac1_offset)
		abort();
	valid = wire_mac1_valid(buf, in.mac1_offset, in.mac1, key);
	if (wire_encode_init(again, sizeof(again), in.sender_index, in.noise, WIRE_INIT_NOISE_LEN,
			     key) != WIRE_INIT_LEN)
		abort();
	/* Everything but mac1 comes back; mac1 too exactly when it was valid. */
	if (memcmp(again, buf, in.mac1_offset) != 0)
		abort();
	if ((memcmp(again + in.mac1_offset, in.mac1, WIRE_MAC1_LEN) == 0) != valid)
		abort();
}

static void check_resp(const uint8_t *buf, size_t len, const uint8_t key[NOISE_KEY_LEN])
{
	struct wire_resp r;
	uint8_t again[WIRE_RESP_LEN];
	bool valid;

	if (wire_decode_resp(buf, len, &r) != WIRE_OK)
		return;
	if (len != WIRE_RESP_LEN || r.mac1_offset != WIRE_RESP_LEN - WIRE_MAC1_LEN ||
	    r.noise != buf + WIRE_HEADER_LEN + 2 * WIRE_INDEX_LEN || r.mac1 != buf + r.mac1_offset)
		abort();
	valid = wire_mac1_valid(buf, r.mac1_offset, r.mac1, key);
	if (wire_encode_resp(again, sizeof(again), r.sender_index, r.receiver_index, r.noise,
			     WIRE_RESP_NOISE_LEN, key) != WIRE_RESP_LEN)
		abort();
	if (memcmp(again, buf, r.mac1_offset) != 0)
		abort();
	if ((memcmp(again + r.mac1_offset, r.mac1, WIRE_MAC1_LEN) == 0) != valid)
		abort();
}

static void check_data(uint8_t *buf, size_t len)
{
	struct wire_data d;
	uint8_t hdr[WIRE_DATA_HEADER_LEN];

	if (wire_decode_data(buf, len, &d) != WIRE_OK)
		return;
	if (d.ciphertext != buf + WIRE_DATA_HEADER_LEN || d.ciphertext_len < NOISE_TAG_LEN ||
	    d.ciphertext_len > WIRE_MAX_FRAME + NOISE_TAG_LEN ||
	    d.ciphertext_len != len - WIRE_DATA_HEADER_LEN)
		abort();
	/* The ciphertext is written in place when decrypted: touch every byte. */
	for (size_t i = 0; i < d.ciphertext_len; i++)
		d.ciphertext[i] ^= 0x5a;
	if (d.flags & (uint8_t)~WIRE_DATA_FLAGS_KNOWN)
		abort();
	wire_encode_data_header(hdr, d.flags, d.receiver_index, d.counter);
	if (memcmp(hdr, buf, sizeof(hdr)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t pub[NOISE_KEY_LEN] = { 9 };
	static uint8_t key[NOISE_KEY_LEN];
	static bool have_key;
	enum wire_type type = 0;
	enum wire_error peeked;
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	if (!have_key) {
		wire_mac1_key(key, pub);
		have_key = true;
	}
	memcpy(buf, data, size);
	peeked = wire_peek(buf, size, &type);
	if (peeked >= WIRE_ERR_COUNT || !wire_error_name(peeked))
		abort();
	check_init(buf, size, key);
	check_resp(buf, size, key);
	check_data(buf, size);
	/* A decoder accepts only what peek accepts, and only its own type. */
	{
		struct wire_init in;
		struct wire_resp r;

		if (wire_decode_init(buf, size, &in) == WIRE_OK &&
		    (peeked != WIRE_OK || type != WIRE_HANDSHAKE_INIT))
			abort();
		if (wire_decode_resp(buf, size, &r) == WIRE_OK &&
		    (peeked != WIRE_OK || type != WIRE_HANDSHAKE_RESP))
			abort();
	}
	free(buf);
	return 0;
}
