/*
 * aead — ChaCha20-Poly1305 (RFC 8439), in place.
 *
 * aead_seal/aead_open take associated data and go through libsodium: the
 * handshake's few short messages.
 *
 * aead_seal_frame/aead_open_frame are the transport data path: the same
 * function with no associated data, built for speed (RFC 8439 section 2.8)
 * from OpenSSL's Poly1305 and a ChaCha20: on a CPU with AVX-512 this
 * project's own vector code (src/chacha.c), which makes the Poly1305 key
 * block and the message's keystream in one pass; elsewhere OpenSSL's ChaCha20,
 * run from block 0 over a zeroed block in 64 bytes of the caller's memory just
 * before the message. On this project's reference machine a 1434-byte frame
 * costs ~570 ns sealed the first way, ~810 ns the second, ~1000 ns through
 * OpenSSL's EVP AEAD and ~1440 ns through libsodium (build/tools/aeadspeed,
 * docs/performance.md). Below 64 bytes libsodium costs no more and needs no
 * headroom; it also takes over from any OpenSSL failure before a byte changed.
 * Every path computes the same bytes (tests/unit/test_aead.c). Each thread
 * keeps its own OpenSSL contexts and scratch, created on first use.
 *
 * The daemons seal and open in runs (aead_seal_frames, aead_open_frames), so
 * that the vector ChaCha20 makes two frames' last keystream blocks in one pass
 * and, where the CPU also has AVX-512 IFMA, with tags deferred
 * (aead_defer_tags), Poly1305 runs on eight frames at once (src/poly1305.h).
 */
#ifndef VSWITCH_AEAD_H
#define VSWITCH_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_LEN 32
#define AEAD_NONCE_LEN 12
#define AEAD_TAG_LEN 16
/* The caller's bytes just before a frame that aead_*_frame may borrow
 * (OpenSSL's ChaCha20 computes block 0 there) and restore before returning. */
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

/* One frame for aead_seal_frames: buf holds len bytes of plaintext and room
 * for the tag, and the AEAD_FRAME_HEADROOM bytes before it are the caller's. */
struct aead_seal_job {
	const uint8_t *key; /* AEAD_KEY_LEN bytes */
	uint8_t nonce[AEAD_NONCE_LEN];
	uint8_t *buf;
	size_t len;
	int result; /* set: as aead_seal_frame's */
};

/* aead_seal_frame on each job, the keystreams of up to eight frames made
 * together where the CPU has the vector ChaCha20 (two frames' last blocks
 * share a pass: ~30 ns less a full frame). Each frame is encrypted before
 * this returns; its tag may be deferred (aead_defer_tags). */
void aead_seal_frames(struct aead_seal_job *jobs, size_t n);

/* One frame for aead_open_frames: buf holds len bytes of ciphertext and tag,
 * and the AEAD_FRAME_HEADROOM bytes before it are the caller's. */
struct aead_open_job {
	const uint8_t *key; /* AEAD_KEY_LEN bytes */
	uint8_t nonce[AEAD_NONCE_LEN];
	uint8_t *buf;
	size_t len;
	int result; /* set: 0, or -EBADMSG */
};

/* aead_open_frame on each job. Where the CPU has the vector ChaCha20 and
 * Poly1305, the tags of up to eight frames are checked in one pass of the
 * vector Poly1305 (see aead_defer_tags), each frame decrypted only after its
 * tag matched. A frame that fails is not used, but may be left changed. */
void aead_open_frames(struct aead_open_job *jobs, size_t n);

/* Whether the frame functions may use the vector ChaCha20 (they do by default
 * where the CPU has it); for tests and build/tools/aeadspeed. Returns whether
 * they now do. */
bool aead_allow_vector_chacha(bool allowed);

/* From aead_defer_tags(true) on, this thread's aead_seal_frame encrypts
 * the frame (at its usual cost minus the tag) and leaves the tag to
 * aead_finish_tags, which makes the tags of all the frames sealed since in
 * runs of eight, each run in one pass of the vector Poly1305 (src/poly1305.h):
 * ~90 ns less a full frame than one tag at a time. Between the two a frame's
 * tag bytes are not yet written: it must not be sent, moved or changed; the
 * udp module's queue calls aead_finish_tags before it sends (udp.h). Only
 * where the CPU has the vector Poly1305; returns whether tags are now
 * deferred. aead_defer_tags(false) first finishes what is pending. */
bool aead_defer_tags(bool defer);
void aead_finish_tags(void);

/* The frame functions keep, per direction, the last key they gave OpenSSL's
 * ChaCha20 (not the vector one's). Forget key if it is one of them, OpenSSL's
 * copy included; call when the key is wiped. Returns whether it was kept. */
bool aead_forget_key(const uint8_t key[AEAD_KEY_LEN]);

/* Free this thread's OpenSSL contexts, which hold the last key used, and
 * wipe the keys of tags not yet made (at exit). */
void aead_cleanup(void);

#endif
