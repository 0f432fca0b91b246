/*
 * poly1305: the tags are ChaCha20-Poly1305's. Against libsodium's AEAD with no
 * associated data (the tag of its ciphertext under block 0's key), then
 * batches of 0-20 jobs of random, edge and mixed lengths with random and
 * extreme keys and bytes against a naive reference (libsodium's Poly1305 over
 * the padded message and the lengths), by the vector code and without it.
 * Each job's key is wiped; nothing is written but the tags.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "poly1305.h"

#define MAX_JOBS 20
#define MAX_LEN 9100
#define GUARD 16

static uint8_t msgs[MAX_JOBS][MAX_LEN];
static uint8_t tags[MAX_JOBS][GUARD + POLY1305_TAG_LEN + GUARD];

static int setup(void **state)
{
	(void)state;
	printf("poly1305: %s\n", poly1305_is_vectorized() ? "vector code (AVX-512 IFMA)"
							 : "no AVX-512 IFMA here: libsodium's");
	return sodium_init() < 0 ? -1 : 0;
}

static int restore(void **state)
{
	(void)state;
	poly1305_allow_vector(true);
	return 0;
}

/* The tag section 2.8 defines, the slow way. */
static void reference_tag(const uint8_t key[POLY1305_KEY_LEN], const uint8_t *ct, size_t len,
			  uint8_t tag[POLY1305_TAG_LEN])
{
	static uint8_t padded[MAX_LEN + 32];
	size_t whole = (len + 15) / 16 * 16;
	uint64_t n = len;

	memset(padded, 0, sizeof(padded));
	memcpy(padded, ct, len);
	for (size_t i = 0; i < 8; i++, n >>= 8)
		padded[whole + 8 + i] = (uint8_t)n;
	crypto_onetimeauth_poly1305(tag, padded, whole + 16, key);
}

static void test_matches_the_aead(void **state)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 64, 1434, 1500, 9000 };
	static uint8_t ct[9000];
	uint8_t key[32], nonce[12], block0[64], expect[16];
	struct poly1305_job jobs[sizeof(lens) / sizeof(lens[0])];
	size_t n = sizeof(lens) / sizeof(lens[0]);

	(void)state;
	randombytes_buf(key, sizeof(key));
	for (size_t i = 0; i < n; i++) {
		randombytes_buf(nonce, sizeof(nonce));
		randombytes_buf(msgs[i], lens[i]);
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(
			ct, expect, NULL, msgs[i], lens[i], NULL, 0, NULL, nonce, key);
		memcpy(msgs[i], ct, lens[i]);
		memcpy(tags[i], expect, sizeof(expect)); /* kept here until compared */
		crypto_stream_chacha20_ietf(block0, sizeof(block0), nonce, key);
		memcpy(jobs[i].key, block0, POLY1305_KEY_LEN);
		jobs[i].ct = msgs[i];
		jobs[i].len = lens[i];
		jobs[i].tag = tags[i] + GUARD;
	}
	poly1305_aead_tags(jobs, n);
	for (size_t i = 0; i < n; i++)
		assert_memory_equal(tags[i] + GUARD, tags[i], POLY1305_TAG_LEN);
}

static size_t pick_len(size_t round, size_t j)
{
	static const size_t edges[] = { 0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1434, MAX_LEN };

	switch (round % 4) {
	case 0: /* a GSO run: equal lengths, a short last one */
		return j + 1 < MAX_JOBS ? 1434 : randombytes_uniform(1434);
	case 1:
		return edges[randombytes_uniform(sizeof(edges) / sizeof(edges[0]))];
	case 2:
		return randombytes_uniform(200);
	default:
		return randombytes_uniform(MAX_LEN + 1);
	}
}

/* Random bytes, or every byte 0xff: the largest blocks, and with a key of
 * 0xff the largest r the clamp allows and the largest s. */
static void fill(uint8_t *p, size_t len, bool extreme)
{
	if (extreme)
		memset(p, 0xff, len);
	else
		randombytes_buf(p, len);
}

static void check_batches(bool vector)
{
	struct poly1305_job jobs[MAX_JOBS];
	uint8_t keys[MAX_JOBS][POLY1305_KEY_LEN], expect[POLY1305_TAG_LEN];
	static const uint8_t zero_key[POLY1305_KEY_LEN];

	poly1305_allow_vector(vector);
	for (size_t round = 0; round < 400; round++) {
		size_t n = round % (MAX_JOBS + 1);

		for (size_t j = 0; j < n; j++) {
			bool extreme = randombytes_uniform(4) == 0;

			fill(keys[j], POLY1305_KEY_LEN, extreme);
			memcpy(jobs[j].key, keys[j], POLY1305_KEY_LEN);
			jobs[j].len = pick_len(round, j);
			fill(msgs[j], jobs[j].len, extreme || randombytes_uniform(4) == 0);
			jobs[j].ct = msgs[j];
			memset(tags[j], 0xa5, sizeof(tags[j]));
			jobs[j].tag = tags[j] + GUARD;
		}
		poly1305_aead_tags(jobs, n);
		for (size_t j = 0; j < n; j++) {
			reference_tag(keys[j], msgs[j], jobs[j].len, expect);
			assert_memory_equal(tags[j] + GUARD, expect, POLY1305_TAG_LEN);
			for (size_t i = 0; i < GUARD; i++) {
				assert_int_equal(tags[j][i], 0xa5);
				assert_int_equal(tags[j][GUARD + POLY1305_TAG_LEN + i], 0xa5);
			}
			assert_memory_equal(jobs[j].key, zero_key, POLY1305_KEY_LEN);
		}
	}
}

static void test_batches_vector(void **state)
{
	(void)state;
	if (!poly1305_is_vectorized()) {
		printf("poly1305: SKIPPED the vector code: this CPU has no AVX-512 IFMA\n");
		skip();
	}
	check_batches(true);
}

static void test_batches_libsodium(void **state)
{
	(void)state;
	check_batches(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_matches_the_aead, restore),
		cmocka_unit_test_teardown(test_batches_vector, restore),
		cmocka_unit_test_teardown(test_batches_libsodium, restore),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
