/*
 * chacha — ChaCha20's keystream (RFC 8439 section 2.3), many blocks at a time.
 * Pure.
 *
 * The data path's cipher is ChaCha20-Poly1305 (src/aead.c). OpenSSL's ChaCha20
 * works in groups of 16 blocks on a CPU with AVX-512, so a 1,434-byte frame
 * (block 0 for the Poly1305 key and 23 blocks of message) paid for 32 blocks
 * plus a partial-block path: ~530 ns on the reference machine. Here the
 * same block function runs on 16 blocks in 512-bit vectors and on 8 in 256-bit
 * ones, so those 24 blocks cost one pass of each: ~310 ns (~330 on a busier
 * machine). chacha_keystreams makes several keystreams and puts two frames'
 * last 8 blocks in one 16-block pass: ~300 ns a frame. Where the CPU has no
 * AVX-512 (F, VL and BW, checked at run time), both ask libsodium instead
 * and chacha_is_vectorized() says so; src/aead.c then keeps to OpenSSL's
 * ChaCha20. All give the same bytes (tests/unit/test_chacha.c).
 */
#ifndef VSWITCH_CHACHA_H
#define VSWITCH_CHACHA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHACHA_KEY_LEN 32
#define CHACHA_NONCE_LEN 12
#define CHACHA_BLOCK_LEN 64

/* Whether this CPU runs the vector code. */
bool chacha_is_vectorized(void);

/* The keystream of key and nonce from block counter on, blocks * 64 bytes of
 * it into out. counter + blocks must not pass 2^32 (RFC 8439's 32-bit counter). */
void chacha_keystream(const uint8_t key[CHACHA_KEY_LEN], const uint8_t nonce[CHACHA_NONCE_LEN],
		      uint32_t counter, uint8_t *out, size_t blocks);

/* One keystream for chacha_keystreams: as chacha_keystream's arguments. */
struct chacha_job {
	const uint8_t *key;   /* CHACHA_KEY_LEN bytes */
	const uint8_t *nonce; /* CHACHA_NONCE_LEN bytes */
	uint32_t counter;
	uint8_t *out;
	size_t blocks;
};

/* chacha_keystream for each of n jobs. Where two jobs each end in 8 blocks or
 * fewer past their whole 16-block passes (a 1,434-byte frame's keystream is
 * 24 blocks), those ends share one 16-block pass. */
void chacha_keystreams(const struct chacha_job *jobs, size_t n);

/* buf[i] ^= ks[i] for i < len: applies a keystream. */
void chacha_xor(uint8_t *buf, const uint8_t *ks, size_t len);

#endif
