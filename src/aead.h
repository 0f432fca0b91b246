/*
 * aead — ChaCha20-Poly1305 (RFC 8439), in place.
 *
 * aead_seal/aead_open take associated data and go through libsodium: the
 * handshake's few short messages.
 *
 * aead_seal_frame/aead_open_frame are the transport data path: the same
 * function with no associated data, built for speed from OpenSSL's ChaCha20
 * and Poly1305 (RFC 8439 section 2.8). One ChaCha20 call from block 0 makes
 * the Poly1305 key and the ciphertext together, which needs 64 bytes of the
 * caller's memory just before the message: on this project's reference
 * machine a 1434-byte frame costs ~830 ns this way against ~1000 ns through
 * OpenSSL's EVP AEAD and ~1440 ns through libsodium, 128 bytes ~305 ns
 * against ~400 ns through libsodium (build/tools/aeadspeed,
 * docs/performance.md). Below 64 bytes libsodium costs no more and needs no
 * headroom; it also takes over from any OpenSSL failure before a byte changed.
 * Every path computes the same bytes (tests/unit/test_aead.c). Each thread
 * keeps its own OpenSSL contexts, created on first use.
 */
#ifndef VSWITCH_AEAD_H
#define VSWITCH_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_LEN 32
#define AEAD_NONCE_LEN 12
#define AEAD_TAG_LEN 16
/* The caller's bytes just before a frame that aead_*_frame borrow (ChaCha20's
 * block 0 is computed there) and restore before returning. */
#define AEAD_FRAME_HEADROOM 64
/* From this length up frames go through OpenSSL; below it, libsodium. */
#define AEAD_FRAME_OPENSSL_MIN_LEN 64
/* Frames longer than this go through libsodium (the thread's scratch size). */
#define AEAD_FRAME_OPENSSL_MAX_LEN 16384

/* buf holds len bytes of plaintext and room for AEAD_TAG_LEN more. Returns 0. */
int aead_seal(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len);
/* buf holds len bytes of ciphertext and tag. Returns 0, or -EBADMSG. */
int aead_open(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len);

/* As aead_seal with no associated data; the AEAD_FRAME_HEADROOM bytes before
 * buf must be the caller's (they are restored). Returns 0, or -EIO if OpenSSL
 * failed part-way: buf is then wiped and must not be sent (sealing it again
 * with the same nonce would undo the encryption). */
int aead_seal_frame(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
		    uint8_t *buf, size_t len);
/* As aead_open with no associated data; the AEAD_FRAME_HEADROOM bytes before
 * buf must be the caller's (they are restored). Returns 0, or -EBADMSG. */
int aead_open_frame(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
		    uint8_t *buf, size_t len);

/* Free this thread's OpenSSL contexts, which hold the last key used (at exit). */
void aead_cleanup(void);

#endif
