/*
 * noise — the Noise IK handshake, Noise_IK_25519_ChaChaPoly_BLAKE2b
 * (the Noise Protocol Framework, revision 34), over libsodium.
 *
 *   IK:  <- s
 *        ...
 *        -> e, es, s, ss
 *        <- e, ee, se
 *
 * Pure: no system calls, no clock, no randomness. The caller generates each
 * ephemeral private key (randombytes_buf) and passes it in, so the published
 * test vectors can drive this module with fixed ephemerals.
 *
 * Functions returning int return 0 on success or a negative errno:
 * -EMSGSIZE when a length is wrong or a buffer too small, -EBADMSG when
 * authentication fails (the state is then unusable and must be wiped),
 * -EINVAL when called out of order or a DH result is all zero.
 */
#ifndef VSWITCH_NOISE_H
#define VSWITCH_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOISE_KEY_LEN 32  /* X25519 keys and ChaCha20-Poly1305 keys */
#define NOISE_HASH_LEN 64 /* BLAKE2b */
#define NOISE_TAG_LEN 16  /* Poly1305 */
#define NOISE_NONCE_LEN 12 /* ChaCha20-Poly1305, IETF */
/* Bytes of handshake overhead around the payload of each message. */
#define NOISE_MSG1_OVERHEAD (NOISE_KEY_LEN + NOISE_KEY_LEN + NOISE_TAG_LEN + NOISE_TAG_LEN)
#define NOISE_MSG2_OVERHEAD (NOISE_KEY_LEN + NOISE_TAG_LEN)

struct noise_handshake {
	uint8_t ck[NOISE_HASH_LEN];
	uint8_t h[NOISE_HASH_LEN];
	uint8_t k[NOISE_KEY_LEN];
	bool has_k;
	uint64_t n;
	uint8_t s_priv[NOISE_KEY_LEN], s_pub[NOISE_KEY_LEN];
	uint8_t e_priv[NOISE_KEY_LEN], e_pub[NOISE_KEY_LEN];
	uint8_t rs[NOISE_KEY_LEN]; /* remote static: known (initiator) or learned from msg1 */
	uint8_t re[NOISE_KEY_LEN];
	bool is_initiator;
	int step; /* messages processed so far: 0, 1 or 2 */
};

/* Derive the public key of an X25519 private key. Returns 0 or -EINVAL. */
int noise_public_key(uint8_t pub[NOISE_KEY_LEN], const uint8_t priv[NOISE_KEY_LEN]);

void noise_init_initiator(struct noise_handshake *hs, const uint8_t *prologue, size_t prologue_len,
			  const uint8_t s_priv[NOISE_KEY_LEN], const uint8_t rs[NOISE_KEY_LEN]);
void noise_init_responder(struct noise_handshake *hs, const uint8_t *prologue, size_t prologue_len,
			  const uint8_t s_priv[NOISE_KEY_LEN]);

/* -> e, es, s, ss, payload. out receives NOISE_MSG1_OVERHEAD + len bytes. */
int noise_write_msg1(struct noise_handshake *hs, const uint8_t e_priv[NOISE_KEY_LEN],
		     const uint8_t *payload, size_t len, uint8_t *out, size_t out_cap, size_t *out_len);
/* Responder. On success hs->rs holds the initiator's static key: check it is a member
 * before answering. payload receives len - NOISE_MSG1_OVERHEAD bytes. */
int noise_read_msg1(struct noise_handshake *hs, const uint8_t *msg, size_t len, uint8_t *payload,
		    size_t payload_cap, size_t *payload_len);
/* <- e, ee, se, payload. out receives NOISE_MSG2_OVERHEAD + len bytes. */
int noise_write_msg2(struct noise_handshake *hs, const uint8_t e_priv[NOISE_KEY_LEN],
		     const uint8_t *payload, size_t len, uint8_t *out, size_t out_cap, size_t *out_len);
int noise_read_msg2(struct noise_handshake *hs, const uint8_t *msg, size_t len, uint8_t *payload,
		    size_t payload_cap, size_t *payload_len);

/* After both messages: the transport keys, already ordered for this side
 * (initiator sends with the first key of Split(), responder with the second).
 * Returns -EINVAL if the handshake is not complete. */
int noise_split(struct noise_handshake *hs, uint8_t send_key[NOISE_KEY_LEN],
		uint8_t recv_key[NOISE_KEY_LEN]);

/* Wipe every secret in the state. */
void noise_wipe(struct noise_handshake *hs);

/* ChaCha20-Poly1305 as Noise uses it: nonce is 32 zero bits then n, little endian.
 * In place: buf holds len plaintext bytes and room for NOISE_TAG_LEN more.
 * Returns 0. */
int noise_aead_seal(const uint8_t key[NOISE_KEY_LEN], uint64_t n, const uint8_t *ad, size_t ad_len,
		     uint8_t *buf, size_t len);
/* In place: buf holds len bytes of ciphertext including the tag; the plaintext is
 * len - NOISE_TAG_LEN bytes. Returns 0 or -EBADMSG. */
int noise_aead_open(const uint8_t key[NOISE_KEY_LEN], uint64_t n, const uint8_t *ad, size_t ad_len,
		    uint8_t *buf, size_t len);
/* The same for transport frames (no associated data), through aead_seal_frame
 * and aead_open_frame: the AEAD_FRAME_HEADROOM bytes before buf must be the
 * caller's memory (they are restored). noise_frame_seal may also return -EIO:
 * buf is then wiped and must not be sent (aead.h). */
int noise_frame_seal(const uint8_t key[NOISE_KEY_LEN], uint64_t n, uint8_t *buf, size_t len);
int noise_frame_open(const uint8_t key[NOISE_KEY_LEN], uint64_t n, uint8_t *buf, size_t len);
/* The AEAD nonce for counter n, as the functions above make it. */
void noise_nonce(uint8_t nonce[NOISE_NONCE_LEN], uint64_t n);

#endif
