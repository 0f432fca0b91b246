/* wire — message codecs. See wire.h and docs/protocol.md. */
#include "wire.h"

#include <sodium.h>
#include <string.h>

#include "buf.h"

#define FLAGS_AT 2 /* a data message's flags: the header's first reserved byte */

static const char *const error_names[WIRE_ERR_COUNT] = {
	[WIRE_OK] = "ok",
	[WIRE_ERR_SHORT] = "short",
	[WIRE_ERR_VERSION] = "bad_version",
	[WIRE_ERR_TYPE] = "bad_type",
	[WIRE_ERR_LENGTH] = "bad_length",
	[WIRE_ERR_RESERVED] = "bad_reserved",
};

const char *wire_error_name(enum wire_error e)
{
	return (unsigned)e < WIRE_ERR_COUNT ? error_names[e] : "unknown";
}

/* Sets *type. A data message's flags are the first reserved byte: only known
 * ones pass; every other reserved bit must be zero. */
static enum wire_error read_header(struct cursor *c, enum wire_type *type)
{
	uint8_t version = cursor_u8(c);
	uint8_t t = cursor_u8(c);
	uint8_t reserved0 = cursor_u8(c);
	uint8_t reserved1 = cursor_u8(c);
	uint8_t known = t == WIRE_DATA ? WIRE_DATA_FLAGS_KNOWN : 0;

	if (c->failed)
		return WIRE_ERR_SHORT;
	if (version != WIRE_VERSION)
		return WIRE_ERR_VERSION;
	if ((reserved0 & (uint8_t)~known) != 0 || reserved1 != 0)
		return WIRE_ERR_RESERVED;
	if (t != WIRE_HANDSHAKE_INIT && t != WIRE_HANDSHAKE_RESP && t != WIRE_DATA)
		return WIRE_ERR_TYPE;
	*type = (enum wire_type)t;
	return WIRE_OK;
}

enum wire_error wire_peek(const uint8_t *buf, size_t len, enum wire_type *type)
{
	struct cursor c = cursor_init(buf, len);

	return read_header(&c, type);
}

static enum wire_error expect_header(struct cursor *c, enum wire_type want)
{
	enum wire_type type;
	enum wire_error err = read_header(c, &type);

	if (err != WIRE_OK)
		return err;
	return type == want ? WIRE_OK : WIRE_ERR_TYPE;
}

enum wire_error wire_decode_init(const uint8_t *buf, size_t len, struct wire_init *out)
{
	struct cursor c = cursor_init(buf, len);
	enum wire_error err = expect_header(&c, WIRE_HANDSHAKE_INIT);

	if (err != WIRE_OK)
		return err;
	if (len != WIRE_INIT_LEN)
		return WIRE_ERR_LENGTH;
	out->sender_index = cursor_u32le(&c);
	out->noise = cursor_take(&c, WIRE_INIT_NOISE_LEN);
	out->mac1_offset = len - c.left;
	out->mac1 = cursor_take(&c, WIRE_MAC1_LEN);
	return cursor_done(&c) ? WIRE_OK : WIRE_ERR_LENGTH;
}

enum wire_error wire_decode_resp(const uint8_t *buf, size_t len, struct wire_resp *out)
{
	struct cursor c = cursor_init(buf, len);
	enum wire_error err = expect_header(&c, WIRE_HANDSHAKE_RESP);

	if (err != WIRE_OK)
		return err;
	if (len != WIRE_RESP_LEN)
		return WIRE_ERR_LENGTH;
	out->sender_index = cursor_u32le(&c);
	out->receiver_index = cursor_u32le(&c);
	out->noise = cursor_take(&c, WIRE_RESP_NOISE_LEN);
	out->mac1_offset = len - c.left;
	out->mac1 = cursor_take(&c, WIRE_MAC1_LEN);
	return cursor_done(&c) ? WIRE_OK : WIRE_ERR_LENGTH;
}

enum wire_error wire_decode_data(uint8_t *buf, size_t len, struct wire_data *out)
{
	struct cursor c = cursor_init(buf, len);
	enum wire_error err = expect_header(&c, WIRE_DATA);

	if (err != WIRE_OK)
		return err;
	if (len < WIRE_DATA_OVERHEAD || len - WIRE_DATA_OVERHEAD > WIRE_MAX_FRAME)
		return WIRE_ERR_LENGTH;
	out->flags = buf[FLAGS_AT]; /* checked by expect_header */
	out->receiver_index = cursor_u32le(&c);
	out->counter = cursor_u64le(&c);
	if (c.failed)
		return WIRE_ERR_LENGTH;
	/* The cursor only reads; the ciphertext is decrypted in place in buf. */
	out->ciphertext = buf + WIRE_DATA_HEADER_LEN;
	out->ciphertext_len = len - WIRE_DATA_HEADER_LEN;
	return WIRE_OK;
}

static void put_header(uint8_t *out, enum wire_type type, uint8_t flags)
{
	out[0] = WIRE_VERSION;
	out[1] = (uint8_t)type;
	out[FLAGS_AT] = flags;
	out[FLAGS_AT + 1] = 0;
}

static void mac1_compute(uint8_t mac1[WIRE_MAC1_LEN], const uint8_t *msg, size_t len,
			 const uint8_t key[NOISE_KEY_LEN])
{
	crypto_generichash_blake2b(mac1, WIRE_MAC1_LEN, msg, len, key, NOISE_KEY_LEN);
}

size_t wire_encode_init(uint8_t *out, size_t cap, uint32_t sender_index, const uint8_t *noise_msg,
			size_t noise_len, const uint8_t mac1_key[NOISE_KEY_LEN])
{
	const size_t mac1_at = WIRE_INIT_LEN - WIRE_MAC1_LEN;

	if (cap < WIRE_INIT_LEN || noise_len != WIRE_INIT_NOISE_LEN)
		return 0;
	put_header(out, WIRE_HANDSHAKE_INIT, 0);
	put_u32le(out + WIRE_HEADER_LEN, sender_index);
	memcpy(out + WIRE_HEADER_LEN + WIRE_INDEX_LEN, noise_msg, noise_len);
	mac1_compute(out + mac1_at, out, mac1_at, mac1_key);
	return WIRE_INIT_LEN;
}

size_t wire_encode_resp(uint8_t *out, size_t cap, uint32_t sender_index, uint32_t receiver_index,
			const uint8_t *noise_msg, size_t noise_len,
			const uint8_t mac1_key[NOISE_KEY_LEN])
{
	const size_t mac1_at = WIRE_RESP_LEN - WIRE_MAC1_LEN;

	if (cap < WIRE_RESP_LEN || noise_len != WIRE_RESP_NOISE_LEN)
		return 0;
	put_header(out, WIRE_HANDSHAKE_RESP, 0);
	put_u32le(out + WIRE_HEADER_LEN, sender_index);
	put_u32le(out + WIRE_HEADER_LEN + WIRE_INDEX_LEN, receiver_index);
	memcpy(out + WIRE_HEADER_LEN + 2 * WIRE_INDEX_LEN, noise_msg, noise_len);
	mac1_compute(out + mac1_at, out, mac1_at, mac1_key);
	return WIRE_RESP_LEN;
}

void wire_encode_data_header(uint8_t out[WIRE_DATA_HEADER_LEN], uint8_t flags,
			     uint32_t receiver_index, uint64_t counter)
{
	put_header(out, WIRE_DATA, flags);
	put_u32le(out + WIRE_HEADER_LEN, receiver_index);
	put_u64le(out + WIRE_HEADER_LEN + WIRE_INDEX_LEN, counter);
}

void wire_mac1_key(uint8_t key[NOISE_KEY_LEN], const uint8_t receiver_pub[NOISE_KEY_LEN])
{
	static const char label[8] = { 'm', 'a', 'c', '1', '-', '-', '-', '-' };
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_KEY_LEN);
	crypto_generichash_blake2b_update(&st, (const uint8_t *)label, sizeof(label));
	crypto_generichash_blake2b_update(&st, receiver_pub, NOISE_KEY_LEN);
	crypto_generichash_blake2b_final(&st, key, NOISE_KEY_LEN);
}

bool wire_mac1_valid(const uint8_t *msg, size_t mac1_offset, const uint8_t mac1[WIRE_MAC1_LEN],
		     const uint8_t key[NOISE_KEY_LEN])
{
	uint8_t want[WIRE_MAC1_LEN];

	mac1_compute(want, msg, mac1_offset, key);
	return sodium_memcmp(want, mac1, WIRE_MAC1_LEN) == 0;
}

void wire_timestamp_encode(uint8_t out[WIRE_TIMESTAMP_LEN], uint64_t sec, uint32_t nsec)
{
	/* TAI64N: 2^62 + seconds, big endian, then nanoseconds big endian. */
	uint64_t tai = 0x400000000000000aULL + sec;

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(tai >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

int wire_timestamp_cmp(const uint8_t a[WIRE_TIMESTAMP_LEN], const uint8_t b[WIRE_TIMESTAMP_LEN])
{
	return memcmp(a, b, WIRE_TIMESTAMP_LEN);
}

/* docs/protocol.md gives these sizes byte by byte; keep them in step. */
_Static_assert(WIRE_INIT_LEN == 132, "initiation size differs from docs/protocol.md");
_Static_assert(WIRE_RESP_LEN == 76, "response size differs from docs/protocol.md");
_Static_assert(WIRE_DATA_OVERHEAD == 32, "data overhead differs from docs/protocol.md");
_Static_assert(WIRE_DEFAULT_TAP_MTU == 1402, "default MTU differs from docs/protocol.md");
