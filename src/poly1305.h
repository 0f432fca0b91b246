/*
 * poly1305 — the tags of ChaCha20-Poly1305 (RFC 8439 section 2.8, no
 * associated data) for many messages at once. Pure.
 *
 * Every frame through the switch is authenticated four times. OpenSSL's
 * Poly1305, reached through EVP_MAC (the only way OpenSSL 3 offers), costs
 * ~225 ns for a 1,434-byte frame on the reference machine, 60-80 ns of it the
 * EVP layer's own work per message. One message at a time, vector code has to
 * make r^2 ... r^n first (~50 ns: not faster in all, docs/performance.md).
 * Here, where the CPU has AVX-512 IFMA (52-bit multiply-add, checked at run
 * time), eight messages go side by side, one in each 64-bit lane, each with
 * its own key: no powers to make, and ~145 ns a message for eight frames of
 * 1,434 bytes. Elsewhere poly1305_is_vectorized() says no and libsodium makes
 * each tag. Both give the same bytes (tests/unit/test_poly1305.c).
 */
#ifndef VSWITCH_POLY1305_H
#define VSWITCH_POLY1305_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLY1305_KEY_LEN 32
#define POLY1305_TAG_LEN 16
/* Messages the vector code takes side by side: a call with fewer jobs costs
 * it about as much as one with this many. */
#define POLY1305_LANES 8

/* One message's tag to make: the MAC under key of ct zero-padded to a
 * multiple of 16 bytes, then 8 zero bytes and len as a 64-bit little-endian
 * number. ct and tag may not overlap. */
struct poly1305_job {
	uint8_t key[POLY1305_KEY_LEN]; /* one-time key; wiped when the tag is made */
	const uint8_t *ct;
	size_t len;
	uint8_t *tag;
};

/* Whether this CPU runs the vector code. */
bool poly1305_is_vectorized(void);

/* Whether poly1305_aead_tags may use the vector code (it does by default
 * where the CPU has it); for tests. Returns whether it now does. */
bool poly1305_allow_vector(bool allowed);

/* Makes each job's tag and wipes its key. Fastest when jobs of about the same
 * length come in runs of eight. */
void poly1305_aead_tags(struct poly1305_job *jobs, size_t n);

#endif
