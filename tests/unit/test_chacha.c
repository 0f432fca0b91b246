/*
 * chacha: the keystream is RFC 8439's. A published block (appendix A.1), then
 * libsodium's keystream for every block count 0-300 (every mix of 16- and
 * 8-block passes and the partial ones), at counters near the top of the 32-bit
 * range, into misaligned buffers; nothing is written past the blocks asked for.
 * chacha_keystreams, which lets two keystreams' last blocks share a pass, is
 * checked against libsodium on batches of 0-20 jobs, each with its own key,
 * nonce, counter and length (every tail length 0-15 beside every other).
 * chacha_xor is checked against a byte loop at every length 0-300.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "chacha.h"

#define MAX_BLOCKS 300
#define GUARD 64

static uint8_t mine[GUARD + MAX_BLOCKS * CHACHA_BLOCK_LEN + GUARD + 8];
static uint8_t ref[MAX_BLOCKS * CHACHA_BLOCK_LEN];

static int setup(void **state)
{
	(void)state;
	printf("chacha: %s\n", chacha_is_vectorized() ? "vector code (AVX-512)"
						     : "no AVX-512 here: libsodium's keystream");
	return sodium_init() < 0 ? -1 : 0;
}

/* RFC 8439 appendix A.1, test vector #1: all-zero key and nonce, block 0. */
static void test_published_block(void **state)
{
	static const uint8_t expect[CHACHA_BLOCK_LEN] = {
		0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90, 0x40, 0x5d, 0x6a, 0xe5, 0x53,
		0x86, 0xbd, 0x28, 0xbd, 0xd2, 0x19, 0xb8, 0xa0, 0x8d, 0xed, 0x1a, 0xa8, 0x36,
		0xef, 0xcc, 0x8b, 0x77, 0x0d, 0xc7, 0xda, 0x41, 0x59, 0x7c, 0x51, 0x57, 0x48,
		0x8d, 0x77, 0x24, 0xe0, 0x3f, 0xb8, 0xd8, 0x4a, 0x37, 0x6a, 0x43, 0xb8, 0xf4,
		0x15, 0x18, 0xa1, 0x1c, 0xc3, 0x87, 0xb6, 0x69, 0xb2, 0xee, 0x65, 0x86,
	};
	uint8_t key[CHACHA_KEY_LEN] = { 0 }, nonce[CHACHA_NONCE_LEN] = { 0 };
	uint8_t out[24 * CHACHA_BLOCK_LEN];

	(void)state;
	/* as the first block of a 16-block pass, of an 8-block pass, and alone */
	for (size_t blocks = 24; blocks > 0; blocks = blocks == 24 ? 8 : blocks == 8 ? 1 : 0) {
		chacha_keystream(key, nonce, 0, out, blocks);
		assert_memory_equal(out, expect, sizeof(expect));
	}
}

static void check(const uint8_t *key, const uint8_t *nonce, uint32_t counter, size_t blocks,
		  size_t misalign)
{
	uint8_t *out = mine + GUARD + misalign;
	size_t len = blocks * CHACHA_BLOCK_LEN;

	memset(mine, 0xa5, sizeof(mine));
	memset(ref, 0, len);
	crypto_stream_chacha20_ietf_xor_ic(ref, ref, len, nonce, counter, key);
	chacha_keystream(key, nonce, counter, out, blocks);
	assert_memory_equal(out, ref, len);
	for (size_t i = 0; i < GUARD + misalign; i++)
		assert_int_equal(mine[i], 0xa5);
	for (size_t i = GUARD + misalign + len; i < sizeof(mine); i++)
		assert_int_equal(mine[i], 0xa5);
}

static void test_matches_libsodium(void **state)
{
	uint8_t key[CHACHA_KEY_LEN], nonce[CHACHA_NONCE_LEN];

	(void)state;
	for (size_t blocks = 0; blocks <= MAX_BLOCKS; blocks++) {
		randombytes_buf(key, sizeof(key));
		randombytes_buf(nonce, sizeof(nonce));
		check(key, nonce, (uint32_t)(blocks * 7), blocks, blocks % 8);
	}
}

/* Near the top of the counter: each lane adds its own offset to the counter. */
static void test_high_counters(void **state)
{
	uint8_t key[CHACHA_KEY_LEN], nonce[CHACHA_NONCE_LEN];

	(void)state;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(nonce, sizeof(nonce));
	for (size_t blocks = 1; blocks <= 40; blocks++)
		check(key, nonce, (uint32_t)(UINT32_MAX - blocks + 1), blocks, 3);
}

#define BATCH_MAX 20
#define JOB_MAX_BLOCKS 40
#define JOB_ROOM (GUARD + JOB_MAX_BLOCKS * CHACHA_BLOCK_LEN + GUARD)

static uint8_t batch_out[BATCH_MAX][JOB_ROOM];

/* A batch of n jobs with the block counts given; each job's output is checked
 * against libsodium, and the bytes around it against the guard pattern. */
static void check_batch(const size_t *blocks, size_t n, bool high_counters)
{
	uint8_t keys[BATCH_MAX][CHACHA_KEY_LEN], nonces[BATCH_MAX][CHACHA_NONCE_LEN];
	struct chacha_job jobs[BATCH_MAX] = { 0 };

	memset(batch_out, 0xa5, sizeof(batch_out));
	for (size_t i = 0; i < n; i++) {
		randombytes_buf(keys[i], CHACHA_KEY_LEN);
		randombytes_buf(nonces[i], CHACHA_NONCE_LEN);
		jobs[i] = (struct chacha_job){
			.key = keys[i],
			.nonce = nonces[i],
			.counter = high_counters ? (uint32_t)(UINT32_MAX - blocks[i] + 1)
						 : randombytes_uniform(1000),
			.out = batch_out[i] + GUARD + i % 5,
			.blocks = blocks[i],
		};
	}
	chacha_keystreams(jobs, n);
	for (size_t i = 0; i < n; i++) {
		size_t len = blocks[i] * CHACHA_BLOCK_LEN, start = GUARD + i % 5;

		memset(ref, 0, len);
		crypto_stream_chacha20_ietf_xor_ic(ref, ref, len, nonces[i], jobs[i].counter,
						   keys[i]);
		assert_memory_equal(jobs[i].out, ref, len);
		for (size_t j = 0; j < start; j++)
			assert_int_equal(batch_out[i][j], 0xa5);
		for (size_t j = start + len; j < JOB_ROOM; j++)
			assert_int_equal(batch_out[i][j], 0xa5);
	}
}

static void test_batches(void **state)
{
	size_t blocks[BATCH_MAX];

	(void)state;
	/* every pair of lengths 0-40 side by side, so every two tails meet */
	for (size_t a = 0; a <= JOB_MAX_BLOCKS; a++) {
		for (size_t b = 0; b <= JOB_MAX_BLOCKS; b++) {
			blocks[0] = a;
			blocks[1] = b;
			check_batch(blocks, 2, false);
		}
	}
	/* random batches: mostly full frames' 24 blocks, some of any length */
	for (int round = 0; round < 2000; round++) {
		size_t n = randombytes_uniform(BATCH_MAX + 1);

		for (size_t i = 0; i < n; i++)
			blocks[i] = randombytes_uniform(3) ? 24
							   : randombytes_uniform(JOB_MAX_BLOCKS + 1);
		check_batch(blocks, n, round % 10 == 0);
	}
}

static void test_xor(void **state)
{
	uint8_t buf[300 + GUARD], ks[300], expect[300 + GUARD];

	(void)state;
	for (size_t len = 0; len <= 300; len++) {
		randombytes_buf(buf, sizeof(buf));
		randombytes_buf(ks, sizeof(ks));
		memcpy(expect, buf, sizeof(buf));
		for (size_t i = 0; i < len; i++)
			expect[i] ^= ks[i];
		chacha_xor(buf, ks, len);
		assert_memory_equal(buf, expect, sizeof(buf));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_published_block),
		cmocka_unit_test(test_matches_libsodium),
		cmocka_unit_test(test_high_counters),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_xor),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
