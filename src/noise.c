/*
 * noise — Noise_IK_25519_ChaChaPoly_BLAKE2b (Noise Protocol Framework, rev 34).
 *
 * The handshake state moves through hs->step:
 *   0  initialised; the initiator may write msg1, the responder may read it
 *   1  msg1 done;   the responder may write msg2, the initiator may read it
 *   2  complete;    noise_split() may be called
 *  -1  failed;      a check failed after the state was touched (bad tag, zero DH,
 *                   broken key); every later call returns -EINVAL until re-init
 * A call on the wrong side or at the wrong step returns -EINVAL and leaves the
 * state as it was; so does a length error (-EMSGSIZE), as lengths are checked
 * before anything is touched.
 *
 * Section numbers below refer to the Noise spec, revision 34.
 */
#include "noise.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "aead.h"

#define PROTOCOL_NAME "Noise_IK_25519_ChaChaPoly_BLAKE2b"
#define BLAKE2B_BLOCK_LEN 128 /* HMAC block size for BLAKE2b (section 4.3) */
#define NOISE_MAX_MSG_LEN 65535 /* every Noise message fits in this (section 3) */
#define STEP_FAILED (-1)

_Static_assert(sizeof(PROTOCOL_NAME) - 1 <= NOISE_HASH_LEN, "name must fit in h unhashed");
_Static_assert(NOISE_KEY_LEN == crypto_scalarmult_curve25519_BYTES, "X25519 key size");
_Static_assert(NOISE_KEY_LEN == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "AEAD key size");
_Static_assert(NOISE_TAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES, "AEAD tag size");
_Static_assert(NOISE_NONCE_LEN == crypto_aead_chacha20poly1305_ietf_NPUBBYTES, "AEAD nonce");
_Static_assert(NOISE_HASH_LEN <= BLAKE2B_BLOCK_LEN, "HMAC keys are never hashed first");

/* Section 12.3: ChaChaPoly nonce is 32 zero bits then the 64-bit counter, little endian. */
void noise_nonce(uint8_t nonce[NOISE_NONCE_LEN], uint64_t n)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

int noise_aead_seal(const uint8_t key[NOISE_KEY_LEN], uint64_t n, const uint8_t *ad, size_t ad_len,
		    uint8_t *buf, size_t len)
{
	uint8_t nonce[NOISE_NONCE_LEN];

	noise_nonce(nonce, n);
	return aead_seal(key, nonce, ad, ad_len, buf, len);
}

int noise_aead_open(const uint8_t key[NOISE_KEY_LEN], uint64_t n, const uint8_t *ad, size_t ad_len,
		    uint8_t *buf, size_t len)
{
	uint8_t nonce[NOISE_NONCE_LEN];

	if (len < NOISE_TAG_LEN)
		return -EBADMSG;
	noise_nonce(nonce, n);
	return aead_open(key, nonce, ad, ad_len, buf, len);
}

int noise_frame_seal(const uint8_t key[NOISE_KEY_LEN], uint64_t n, uint8_t *buf, size_t len)
{
	uint8_t nonce[NOISE_NONCE_LEN];

	noise_nonce(nonce, n);
	return aead_seal_frame(key, nonce, buf, len);
}

int noise_frame_open(const uint8_t key[NOISE_KEY_LEN], uint64_t n, uint8_t *buf, size_t len)
{
	uint8_t nonce[NOISE_NONCE_LEN];

	noise_nonce(nonce, n);
	return aead_open_frame(key, nonce, buf, len);
}

/* HMAC (RFC 2104) over BLAKE2b-512. The message is a || b, which is all HKDF needs.
 * Keys are always HASHLEN bytes here (a chaining key or an HKDF temp key). */
static void hmac(uint8_t out[NOISE_HASH_LEN], const uint8_t key[NOISE_HASH_LEN], const uint8_t *a,
		 size_t a_len, const uint8_t *b, size_t b_len)
{
	crypto_generichash_blake2b_state st;
	uint8_t pad[BLAKE2B_BLOCK_LEN];
	uint8_t inner[NOISE_HASH_LEN];

	memset(pad, 0x36, sizeof(pad));
	for (size_t i = 0; i < NOISE_HASH_LEN; i++)
		pad[i] ^= key[i];
	crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASH_LEN);
	crypto_generichash_blake2b_update(&st, pad, sizeof(pad));
	crypto_generichash_blake2b_update(&st, a, a_len);
	crypto_generichash_blake2b_update(&st, b, b_len);
	crypto_generichash_blake2b_final(&st, inner, sizeof(inner));

	memset(pad, 0x5c, sizeof(pad));
	for (size_t i = 0; i < NOISE_HASH_LEN; i++)
		pad[i] ^= key[i];
	crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASH_LEN);
	crypto_generichash_blake2b_update(&st, pad, sizeof(pad));
	crypto_generichash_blake2b_update(&st, inner, sizeof(inner));
	crypto_generichash_blake2b_final(&st, out, NOISE_HASH_LEN);

	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&st, sizeof(st));
}

/* Section 4.3, HKDF with two outputs (IK without a PSK never needs the third). */
static void hkdf2(uint8_t out1[NOISE_HASH_LEN], uint8_t out2[NOISE_HASH_LEN],
		  const uint8_t ck[NOISE_HASH_LEN], const uint8_t *ikm, size_t ikm_len)
{
	static const uint8_t one = 0x01, two = 0x02;
	uint8_t temp_key[NOISE_HASH_LEN];

	hmac(temp_key, ck, ikm, ikm_len, NULL, 0);
	hmac(out1, temp_key, &one, 1, NULL, 0);
	hmac(out2, temp_key, out1, NOISE_HASH_LEN, &two, 1);
	sodium_memzero(temp_key, sizeof(temp_key));
}

/* HASH(h || data); out may be h. */
static void hash_with(uint8_t out[NOISE_HASH_LEN], const uint8_t h[NOISE_HASH_LEN],
		      const uint8_t *data, size_t len)
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASH_LEN);
	crypto_generichash_blake2b_update(&st, h, NOISE_HASH_LEN);
	crypto_generichash_blake2b_update(&st, data, len);
	crypto_generichash_blake2b_final(&st, out, NOISE_HASH_LEN);
	sodium_memzero(&st, sizeof(st));
}

/* Section 5.2 MixHash. */
static void mix_hash(struct noise_handshake *hs, const uint8_t *data, size_t len)
{
	hash_with(hs->h, hs->h, data, len);
}

/* Section 5.2 MixKey; the cipher key is the first 32 bytes of temp_k (HASHLEN is 64). */
static void mix_key(struct noise_handshake *hs, const uint8_t *ikm, size_t ikm_len)
{
	uint8_t ck[NOISE_HASH_LEN], temp_k[NOISE_HASH_LEN];

	hkdf2(ck, temp_k, hs->ck, ikm, ikm_len);
	memcpy(hs->ck, ck, sizeof(hs->ck));
	memcpy(hs->k, temp_k, sizeof(hs->k));
	hs->has_k = true;
	hs->n = 0;
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(temp_k, sizeof(temp_k));
}

/* MixKey(DH(priv, pub)). An all-zero DH output means a low-order public key. */
static int mix_dh(struct noise_handshake *hs, const uint8_t priv[NOISE_KEY_LEN],
		  const uint8_t pub[NOISE_KEY_LEN])
{
	uint8_t shared[NOISE_KEY_LEN];

	if (crypto_scalarmult_curve25519(shared, priv, pub) != 0 ||
	    sodium_is_zero(shared, sizeof(shared))) {
		sodium_memzero(shared, sizeof(shared));
		return -EINVAL;
	}
	mix_key(hs, shared, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	return 0;
}

/* Section 5.2 EncryptAndHash. out receives len + NOISE_TAG_LEN bytes once a key
 * exists (always so in IK, where every encryption follows es); in may alias out. */
static int encrypt_and_hash(struct noise_handshake *hs, const uint8_t *in, size_t len, uint8_t *out,
			    size_t *out_len)
{
	if (len > 0)
		memmove(out, in, len);
	if (!hs->has_k) {
		*out_len = len;
	} else {
		if (noise_aead_seal(hs->k, hs->n++, hs->h, sizeof(hs->h), out, len) != 0)
			return -EIO;
		*out_len = len + NOISE_TAG_LEN;
	}
	mix_hash(hs, out, *out_len);
	return 0;
}

/* Section 5.2 DecryptAndHash. out receives len - NOISE_TAG_LEN bytes; the caller
 * checked len and the room in out. The next h is computed before decrypting, so
 * out may be in (in place), and it replaces h only once the tag verifies. */
static int decrypt_and_hash(struct noise_handshake *hs, const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t next_h[NOISE_HASH_LEN];
	uint8_t nonce[NOISE_NONCE_LEN];
	int ret = 0;

	hash_with(next_h, hs->h, in, len);
	if (!hs->has_k) {
		if (len > 0)
			memmove(out, in, len);
	} else {
		noise_nonce(nonce, hs->n);
		if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len, hs->h,
							      sizeof(hs->h), nonce, hs->k) != 0)
			ret = -EBADMSG;
		else
			hs->n++;
	}
	if (ret == 0)
		memcpy(hs->h, next_h, sizeof(hs->h));
	return ret;
}

int noise_public_key(uint8_t pub[NOISE_KEY_LEN], const uint8_t priv[NOISE_KEY_LEN])
{
	if (crypto_scalarmult_curve25519_base(pub, priv) != 0 || sodium_is_zero(pub, NOISE_KEY_LEN))
		return -EINVAL;
	return 0;
}

/* Sections 5.3 Initialize and 5.2 InitializeSymmetric: the protocol name is shorter than
 * HASHLEN, so h is the name zero-padded, and ck starts equal to h. */
static void init_common(struct noise_handshake *hs, const uint8_t *prologue, size_t prologue_len,
			const uint8_t s_priv[NOISE_KEY_LEN], bool is_initiator)
{
	sodium_memzero(hs, sizeof(*hs));
	memcpy(hs->h, PROTOCOL_NAME, sizeof(PROTOCOL_NAME) - 1);
	memcpy(hs->ck, hs->h, sizeof(hs->ck));
	mix_hash(hs, prologue, prologue_len);
	hs->is_initiator = is_initiator;
	memcpy(hs->s_priv, s_priv, sizeof(hs->s_priv));
	if (noise_public_key(hs->s_pub, hs->s_priv) != 0)
		hs->step = STEP_FAILED;
}

void noise_init_initiator(struct noise_handshake *hs, const uint8_t *prologue, size_t prologue_len,
			  const uint8_t s_priv[NOISE_KEY_LEN], const uint8_t rs[NOISE_KEY_LEN])
{
	init_common(hs, prologue, prologue_len, s_priv, true);
	memcpy(hs->rs, rs, sizeof(hs->rs));
	mix_hash(hs, hs->rs, sizeof(hs->rs)); /* pre-message: <- s */
}

void noise_init_responder(struct noise_handshake *hs, const uint8_t *prologue, size_t prologue_len,
			  const uint8_t s_priv[NOISE_KEY_LEN])
{
	init_common(hs, prologue, prologue_len, s_priv, false);
	mix_hash(hs, hs->s_pub, sizeof(hs->s_pub)); /* pre-message: <- s */
}

/* Poison the state after a failure that happened once it was already modified. */
static int fail(struct noise_handshake *hs, int err)
{
	hs->step = STEP_FAILED;
	return err;
}

static bool at_step(const struct noise_handshake *hs, bool is_initiator, int step)
{
	return hs->is_initiator == is_initiator && hs->step == step;
}

/* Whether payload_len bytes of payload plus overhead make a valid message that
 * fits in cap bytes. */
static bool msg_fits(size_t payload_len, size_t overhead, size_t cap)
{
	return payload_len <= NOISE_MAX_MSG_LEN - overhead && payload_len + overhead <= cap;
}

/* Token e on the writing side: also the only place an ephemeral enters the state. */
static int write_e(struct noise_handshake *hs, const uint8_t e_priv[NOISE_KEY_LEN],
		   uint8_t out[NOISE_KEY_LEN])
{
	memcpy(hs->e_priv, e_priv, sizeof(hs->e_priv));
	if (noise_public_key(hs->e_pub, hs->e_priv) != 0)
		return -EINVAL;
	memcpy(out, hs->e_pub, NOISE_KEY_LEN);
	mix_hash(hs, hs->e_pub, sizeof(hs->e_pub));
	return 0;
}

static void read_e(struct noise_handshake *hs, const uint8_t in[NOISE_KEY_LEN])
{
	memcpy(hs->re, in, sizeof(hs->re));
	mix_hash(hs, hs->re, sizeof(hs->re));
}

/* -> e, es, s, ss, payload */
int noise_write_msg1(struct noise_handshake *hs, const uint8_t e_priv[NOISE_KEY_LEN],
		     const uint8_t *payload, size_t len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t s_len, p_len;
	int ret;

	if (!at_step(hs, true, 0))
		return -EINVAL;
	if (!msg_fits(len, NOISE_MSG1_OVERHEAD, out_cap))
		return -EMSGSIZE;
	/* The payload goes in last, so move it first in case it lies inside out. */
	if (len > 0)
		memmove(out + NOISE_MSG1_OVERHEAD - NOISE_TAG_LEN, payload, len);
	if ((ret = write_e(hs, e_priv, out)) != 0 || (ret = mix_dh(hs, hs->e_priv, hs->rs)) != 0)
		return fail(hs, ret);
	if ((ret = encrypt_and_hash(hs, hs->s_pub, sizeof(hs->s_pub), out + NOISE_KEY_LEN,
				    &s_len)) != 0 ||
	    (ret = mix_dh(hs, hs->s_priv, hs->rs)) != 0 ||
	    (ret = encrypt_and_hash(hs, out + NOISE_KEY_LEN + s_len, len,
				    out + NOISE_KEY_LEN + s_len, &p_len)) != 0)
		return fail(hs, ret);
	*out_len = NOISE_KEY_LEN + s_len + p_len;
	hs->step = 1;
	return 0;
}

int noise_read_msg1(struct noise_handshake *hs, const uint8_t *msg, size_t len, uint8_t *payload,
		    size_t payload_cap, size_t *payload_len)
{
	const size_t s_off = NOISE_KEY_LEN, p_off = NOISE_KEY_LEN + NOISE_KEY_LEN + NOISE_TAG_LEN;
	int ret;

	if (!at_step(hs, false, 0))
		return -EINVAL;
	if (len < NOISE_MSG1_OVERHEAD || len > NOISE_MAX_MSG_LEN ||
	    len - NOISE_MSG1_OVERHEAD > payload_cap)
		return -EMSGSIZE;
	read_e(hs, msg);
	if ((ret = mix_dh(hs, hs->s_priv, hs->re)) != 0)
		return fail(hs, ret);
	if ((ret = decrypt_and_hash(hs, msg + s_off, NOISE_KEY_LEN + NOISE_TAG_LEN, hs->rs)) != 0)
		return fail(hs, ret);
	if ((ret = mix_dh(hs, hs->s_priv, hs->rs)) != 0)
		return fail(hs, ret);
	if ((ret = decrypt_and_hash(hs, msg + p_off, len - p_off, payload)) != 0)
		return fail(hs, ret);
	*payload_len = len - NOISE_MSG1_OVERHEAD;
	hs->step = 1;
	return 0;
}

/* <- e, ee, se, payload */
int noise_write_msg2(struct noise_handshake *hs, const uint8_t e_priv[NOISE_KEY_LEN],
		     const uint8_t *payload, size_t len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t p_len;
	int ret;

	if (!at_step(hs, false, 1))
		return -EINVAL;
	if (!msg_fits(len, NOISE_MSG2_OVERHEAD, out_cap))
		return -EMSGSIZE;
	if (len > 0)
		memmove(out + NOISE_KEY_LEN, payload, len);
	if ((ret = write_e(hs, e_priv, out)) != 0 || (ret = mix_dh(hs, hs->e_priv, hs->re)) != 0 ||
	    (ret = mix_dh(hs, hs->e_priv, hs->rs)) != 0)
		return fail(hs, ret);
	if ((ret = encrypt_and_hash(hs, out + NOISE_KEY_LEN, len, out + NOISE_KEY_LEN, &p_len)) != 0)
		return fail(hs, ret);
	*out_len = NOISE_KEY_LEN + p_len;
	hs->step = 2;
	return 0;
}

int noise_read_msg2(struct noise_handshake *hs, const uint8_t *msg, size_t len, uint8_t *payload,
		    size_t payload_cap, size_t *payload_len)
{
	int ret;

	if (!at_step(hs, true, 1))
		return -EINVAL;
	if (len < NOISE_MSG2_OVERHEAD || len > NOISE_MAX_MSG_LEN ||
	    len - NOISE_MSG2_OVERHEAD > payload_cap)
		return -EMSGSIZE;
	read_e(hs, msg);
	if ((ret = mix_dh(hs, hs->e_priv, hs->re)) != 0 || (ret = mix_dh(hs, hs->s_priv, hs->re)) != 0)
		return fail(hs, ret);
	ret = decrypt_and_hash(hs, msg + NOISE_KEY_LEN, len - NOISE_KEY_LEN, payload);
	if (ret != 0)
		return fail(hs, ret);
	*payload_len = len - NOISE_MSG2_OVERHEAD;
	hs->step = 2;
	return 0;
}

/* Section 5.2 Split: HKDF(ck, empty); each key is the first 32 bytes of an output. */
int noise_split(struct noise_handshake *hs, uint8_t send_key[NOISE_KEY_LEN],
		uint8_t recv_key[NOISE_KEY_LEN])
{
	uint8_t k1[NOISE_HASH_LEN], k2[NOISE_HASH_LEN];

	if (hs->step != 2)
		return -EINVAL;
	hkdf2(k1, k2, hs->ck, NULL, 0);
	memcpy(send_key, hs->is_initiator ? k1 : k2, NOISE_KEY_LEN);
	memcpy(recv_key, hs->is_initiator ? k2 : k1, NOISE_KEY_LEN);
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	return 0;
}

void noise_wipe(struct noise_handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}
