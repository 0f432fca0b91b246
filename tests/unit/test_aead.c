/*
 * aead: every path computes RFC 8439's ChaCha20-Poly1305, byte for byte as
 * libsodium does. Every length from 0 to 2000 (both sides of
 * AEAD_FRAME_OPENSSL_MIN_LEN) and lengths around AEAD_FRAME_OPENSSL_MAX_LEN
 * are sealed, compared with libsodium, opened, and opened again after a
 * flipped bit, which must fail. The frame functions must give back the
 * headroom they borrow exactly as it was. The frame tests run twice where the
 * CPU has AVX-512: with this project's vector ChaCha20 and with OpenSSL's.
 * Where it has AVX-512 IFMA, runs of frames are also sealed with their tags
 * deferred, made afterwards in one go (aead_defer_tags), sealed in runs
 * (aead_seal_frames) and opened in runs with some forged (aead_open_frames).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "aead.h"

#define MAX_LEN (AEAD_FRAME_OPENSSL_MAX_LEN + 100)

static uint8_t plain[MAX_LEN], ref[MAX_LEN + AEAD_TAG_LEN];
static uint8_t room[AEAD_FRAME_HEADROOM + MAX_LEN + AEAD_TAG_LEN];
static uint8_t *const mine = room + AEAD_FRAME_HEADROOM;

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static int with_vector_chacha(void **state)
{
	(void)state;
	if (!aead_allow_vector_chacha(true))
		printf("aead: no AVX-512 here: OpenSSL's ChaCha20 only\n");
	return 0;
}

static int with_openssl_chacha(void **state)
{
	(void)state;
	aead_allow_vector_chacha(false);
	return 0;
}

/* Seal plain (len bytes) with the function under test and with libsodium,
 * compare, open, then open a forgery. */
static void check_length(size_t len, bool frame)
{
	uint8_t key[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN], ad[64], headroom[AEAD_FRAME_HEADROOM];
	size_t ad_len = !frame && len % 3 == 0 ? sizeof(ad) : 0;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(ad, sizeof(ad));
	randombytes_buf(plain, len);
	randombytes_buf(headroom, sizeof(headroom));
	memcpy(room, headroom, sizeof(headroom));
	memcpy(mine, plain, len);
	crypto_aead_chacha20poly1305_ietf_encrypt(ref, NULL, plain, len, ad, ad_len, NULL, nonce,
						  key);
	if (frame)
		assert_int_equal(aead_seal_frame(key, nonce, mine, len), 0);
	else
		assert_int_equal(aead_seal(key, nonce, ad, ad_len, mine, len), 0);
	assert_memory_equal(mine, ref, len + AEAD_TAG_LEN);
	assert_int_equal(frame ? aead_open_frame(key, nonce, mine, len + AEAD_TAG_LEN)
			       : aead_open(key, nonce, ad, ad_len, mine, len + AEAD_TAG_LEN),
			 0);
	if (len > 0)
		assert_memory_equal(mine, plain, len);
	/* A forgery somewhere in the message, and one in the tag's last byte. */
	for (int i = 0; i < 2; i++) {
		size_t at = i == 0 ? (len * 7) % (len + AEAD_TAG_LEN) : len + AEAD_TAG_LEN - 1;

		memcpy(mine, ref, len + AEAD_TAG_LEN);
		mine[at] ^= 0x20;
		assert_int_equal(frame ? aead_open_frame(key, nonce, mine, len + AEAD_TAG_LEN)
				       : aead_open(key, nonce, ad, ad_len, mine,
						   len + AEAD_TAG_LEN),
				 -EBADMSG);
	}
	assert_memory_equal(room, headroom, sizeof(headroom));
}

static void test_matches_libsodium_at_every_length(void **state)
{
	(void)state;
	for (size_t len = 0; len <= 2000; len++) {
		check_length(len, false);
		check_length(len, true);
	}
	for (size_t len = AEAD_FRAME_OPENSSL_MAX_LEN - 2; len <= MAX_LEN; len++)
		check_length(len, true);
}

/* The frame path keeps its last key per direction and restarts with only a
 * new nonce: two keys used in turn, many nonces each, must still give
 * libsodium's bytes both ways. */
static void test_key_reuse_across_messages(void **state)
{
	uint8_t keys[2][AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN] = { 0 };
	size_t len = 1434;

	(void)state;
	randombytes_buf(keys, sizeof(keys));
	for (uint32_t i = 0; i < 200; i++) {
		const uint8_t *key = keys[(i / 3) % 2];

		memcpy(nonce + 4, &i, sizeof(i));
		randombytes_buf(plain, len);
		memcpy(mine, plain, len);
		crypto_aead_chacha20poly1305_ietf_encrypt(ref, NULL, plain, len, NULL, 0, NULL,
							  nonce, key);
		assert_int_equal(aead_seal_frame(key, nonce, mine, len), 0);
		assert_memory_equal(mine, ref, len + AEAD_TAG_LEN);
		assert_int_equal(aead_open_frame(keys[i % 2], nonce, mine, len + AEAD_TAG_LEN),
				 keys[i % 2] == key ? 0 : -EBADMSG);
	}
}

static void test_wrong_nonce_or_key_fails(void **state)
{
	enum { LEN = 1024 };
	uint8_t key[AEAD_KEY_LEN] = { 1 }, nonce[AEAD_NONCE_LEN] = { 0 };
	uint8_t copy_room[AEAD_FRAME_HEADROOM + LEN + AEAD_TAG_LEN];
	uint8_t *copy = copy_room + AEAD_FRAME_HEADROOM;

	(void)state;
	memset(mine, 0x5a, LEN);
	assert_int_equal(aead_seal_frame(key, nonce, mine, LEN), 0);
	memcpy(copy, mine, LEN + AEAD_TAG_LEN);
	nonce[11] = 1;
	assert_int_equal(aead_open_frame(key, nonce, mine, LEN + AEAD_TAG_LEN), -EBADMSG);
	nonce[11] = 0;
	key[31] = 1;
	assert_int_equal(aead_open_frame(key, nonce, copy, LEN + AEAD_TAG_LEN), -EBADMSG);
	assert_int_equal(aead_open_frame(key, nonce, copy, AEAD_TAG_LEN - 1), -EBADMSG);
	assert_int_equal(aead_open(key, nonce, NULL, 0, copy, AEAD_TAG_LEN - 1), -EBADMSG);
}

/* OpenSSL's ChaCha20 keeps the last key per direction, until told to forget
 * it; a forgotten key works as before when it comes back. */
static void test_forget_key(void **state)
{
	uint8_t key[AEAD_KEY_LEN], other[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN] = { 0 };
	size_t len = 1434;

	(void)state;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(other, sizeof(other));
	randombytes_buf(plain, len);
	crypto_aead_chacha20poly1305_ietf_encrypt(ref, NULL, plain, len, NULL, 0, NULL, nonce, key);
	for (int round = 0; round < 2; round++) {
		memcpy(mine, plain, len);
		assert_int_equal(aead_seal_frame(key, nonce, mine, len), 0);
		assert_memory_equal(mine, ref, len + AEAD_TAG_LEN);
		assert_int_equal(aead_open_frame(key, nonce, mine, len + AEAD_TAG_LEN), 0);
		assert_memory_equal(mine, plain, len);
		assert_false(aead_forget_key(other));
		assert_true(aead_forget_key(key));
		assert_false(aead_forget_key(key));
	}
	/* Opening alone keeps it too. */
	memcpy(mine, ref, len + AEAD_TAG_LEN);
	assert_int_equal(aead_open_frame(key, nonce, mine, len + AEAD_TAG_LEN), 0);
	assert_true(aead_forget_key(key));
}

#define RUN_MAX 150 /* more than the tags aead_seal_frame keeps waiting */
#define RUN_LEN_MAX 2000
#define RUN_STRIDE (AEAD_FRAME_HEADROOM + RUN_LEN_MAX + AEAD_TAG_LEN)

static uint8_t run_mine[RUN_MAX * RUN_STRIDE], run_ref[RUN_MAX][RUN_LEN_MAX + AEAD_TAG_LEN];

/* n frames sealed one after another with tags deferred, as a GSO run (full
 * frames, a short last one) or of any lengths; after aead_finish_tags, or
 * after aead_defer_tags(false), each is libsodium's message. */
static void check_deferred_run(size_t n, bool gso_run, bool stop_deferring)
{
	uint8_t key[AEAD_KEY_LEN], nonce[RUN_MAX][AEAD_NONCE_LEN];
	size_t len[RUN_MAX];

	assert_true(aead_defer_tags(true));
	randombytes_buf(key, sizeof(key));
	for (size_t i = 0; i < n; i++) {
		uint8_t *frame = run_mine + i * RUN_STRIDE + AEAD_FRAME_HEADROOM;

		len[i] = gso_run ? (i + 1 < n ? 1434 : randombytes_uniform(1435))
				 : randombytes_uniform(RUN_LEN_MAX + 1);
		randombytes_buf(nonce[i], AEAD_NONCE_LEN);
		randombytes_buf(frame, len[i]);
		crypto_aead_chacha20poly1305_ietf_encrypt(run_ref[i], NULL, frame, len[i], NULL, 0,
							  NULL, nonce[i], key);
		assert_int_equal(aead_seal_frame(key, nonce[i], frame, len[i]), 0);
	}
	if (stop_deferring)
		assert_false(aead_defer_tags(false));
	else
		aead_finish_tags();
	for (size_t i = 0; i < n; i++)
		assert_memory_equal(run_mine + i * RUN_STRIDE + AEAD_FRAME_HEADROOM, run_ref[i],
				    len[i] + AEAD_TAG_LEN);
}

/* n frames sealed together (aead_seal_frames) under three keys, mostly full
 * frames, some of any length (below AEAD_FRAME_OPENSSL_MIN_LEN too), with
 * tags deferred or not: each as libsodium's message. */
static void check_seal_run(size_t n, bool defer)
{
	uint8_t keys[3][AEAD_KEY_LEN];
	struct aead_seal_job jobs[RUN_MAX];

	randombytes_buf(keys, sizeof(keys));
	aead_defer_tags(defer);
	for (size_t i = 0; i < n; i++) {
		struct aead_seal_job *job = &jobs[i];

		job->key = keys[randombytes_uniform(3)];
		randombytes_buf(job->nonce, sizeof(job->nonce));
		job->buf = run_mine + i * RUN_STRIDE + AEAD_FRAME_HEADROOM;
		job->len = randombytes_uniform(4) ? 1434 : randombytes_uniform(RUN_LEN_MAX + 1);
		randombytes_buf(job->buf, job->len);
		crypto_aead_chacha20poly1305_ietf_encrypt(run_ref[i], NULL, job->buf, job->len,
							  NULL, 0, NULL, job->nonce, job->key);
		job->result = 1;
	}
	aead_seal_frames(jobs, n);
	aead_finish_tags();
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(jobs[i].result, 0);
		assert_memory_equal(jobs[i].buf, run_ref[i], jobs[i].len + AEAD_TAG_LEN);
	}
	aead_defer_tags(false);
}

static void test_seal_runs(void **state)
{
	(void)state;
	for (size_t n = 0; n <= 20; n++) {
		check_seal_run(n, false);
		check_seal_run(n, true);
	}
	for (int i = 0; i < 10; i++)
		check_seal_run(RUN_MAX, i % 2 == 0);
}

/* n frames opened together (aead_open_frames) under three keys, some forged
 * (a flipped bit), some shorter than a tag: each result and plaintext as
 * libsodium's. */
static void check_open_run(size_t n)
{
	uint8_t keys[3][AEAD_KEY_LEN];
	struct aead_open_job jobs[RUN_MAX];
	bool forged[RUN_MAX];

	randombytes_buf(keys, sizeof(keys));
	for (size_t i = 0; i < n; i++) {
		struct aead_open_job *job = &jobs[i];
		size_t len = randombytes_uniform(4) ? 1434 : randombytes_uniform(RUN_LEN_MAX + 1);

		job->key = keys[randombytes_uniform(3)];
		randombytes_buf(job->nonce, sizeof(job->nonce));
		job->buf = run_mine + i * RUN_STRIDE + AEAD_FRAME_HEADROOM;
		randombytes_buf(run_ref[i], len);
		crypto_aead_chacha20poly1305_ietf_encrypt(job->buf, NULL, run_ref[i], len, NULL, 0,
							  NULL, job->nonce, job->key);
		job->len = randombytes_uniform(20) ? len + AEAD_TAG_LEN
						   : randombytes_uniform(AEAD_TAG_LEN);
		forged[i] = job->len < AEAD_TAG_LEN || randombytes_uniform(5) == 0;
		if (job->len >= AEAD_TAG_LEN && forged[i])
			job->buf[randombytes_uniform((uint32_t)job->len)] ^= 0x04;
		job->result = 1;
	}
	aead_open_frames(jobs, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(jobs[i].result, forged[i] ? -EBADMSG : 0);
		if (!forged[i])
			assert_memory_equal(jobs[i].buf, run_ref[i], jobs[i].len - AEAD_TAG_LEN);
	}
}

static void test_open_runs(void **state)
{
	(void)state;
	for (size_t n = 0; n <= 20; n++)
		check_open_run(n);
	for (int i = 0; i < 10; i++)
		check_open_run(RUN_MAX);
}

static int stop_deferring(void **state)
{
	(void)state;
	aead_defer_tags(false);
	return 0;
}

static void test_deferred_tags(void **state)
{
	(void)state;
	if (!aead_defer_tags(true)) {
		printf("aead: SKIPPED deferred tags: this CPU has no AVX-512 IFMA\n");
		skip();
	}
	for (size_t n = 1; n <= 20; n++) {
		check_deferred_run(n, true, false);
		check_deferred_run(n, false, false);
	}
	check_deferred_run(RUN_MAX, true, false);
	check_deferred_run(RUN_MAX, false, false);
	check_deferred_run(3, true, true);
	check_deferred_run(9, false, true);
}

int main(void)
{
#define BOTH_WAYS(test)                                                                            \
	{ #test " (vector ChaCha20)", test, with_vector_chacha, NULL, NULL },                       \
		{ #test " (OpenSSL ChaCha20)", test, with_openssl_chacha, NULL, NULL }
	const struct CMUnitTest tests[] = {
		BOTH_WAYS(test_matches_libsodium_at_every_length),
		BOTH_WAYS(test_key_reuse_across_messages),
		BOTH_WAYS(test_wrong_nonce_or_key_fails),
		{ "test_deferred_tags (vector ChaCha20)", test_deferred_tags, with_vector_chacha,
		  stop_deferring, NULL },
		{ "test_deferred_tags (OpenSSL ChaCha20)", test_deferred_tags, with_openssl_chacha,
		  stop_deferring, NULL },
		BOTH_WAYS(test_seal_runs),
		BOTH_WAYS(test_open_runs),
		cmocka_unit_test_setup(test_forget_key, with_openssl_chacha),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
