/*
 * aead — ChaCha20-Poly1305 (RFC 8439) for transport data, in place.
 *
 * Frames go through OpenSSL's EVP implementation: on this project's reference
 * machine (AVX-512) 967 ns against libsodium's 1488 ns for a 1440-byte
 * packet (docs/performance.md); short messages go through libsodium, whose
 * lower per-call overhead wins below AEAD_EVP_MIN_LEN bytes. Both compute the
 * same function: the choice changes speed, never bytes. Each thread keeps its
 * own EVP contexts, created on first use.
 */
#ifndef VSWITCH_AEAD_H
#define VSWITCH_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_LEN 32
#define AEAD_NONCE_LEN 12
#define AEAD_TAG_LEN 16
#define AEAD_EVP_MIN_LEN 256

/* buf holds len bytes of plaintext and room for AEAD_TAG_LEN more. Returns 0,
 * or -EIO if OpenSSL failed part-way: buf is then wiped and must not be sent
 * (sealing it again with the same nonce would undo the encryption). */
int aead_seal(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len);
/* buf holds len bytes of ciphertext and tag. Returns 0, or -EBADMSG. */
int aead_open(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len);

/* Free this thread's OpenSSL contexts, which hold the last key used (at exit). */
void aead_cleanup(void);

#endif
