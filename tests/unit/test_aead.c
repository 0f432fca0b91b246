/*
 * aead: the OpenSSL path and the libsodium path compute the same function.
 * Every length from 0 to 2000 (both sides of AEAD_EVP_MIN_LEN) is sealed by
 * aead_seal and checked byte for byte against libsodium, then opened, then
 * opened again after a flipped bit, which must fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "aead.h"

#define MAX_LEN 2000

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void test_matches_libsodium_at_every_length(void **state)
{
	static uint8_t plain[MAX_LEN], mine[MAX_LEN + AEAD_TAG_LEN], ref[MAX_LEN + AEAD_TAG_LEN];
	uint8_t key[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN], ad[64];

	(void)state;
	for (size_t len = 0; len <= MAX_LEN; len++) {
		size_t ad_len = len % 3 == 0 ? sizeof(ad) : 0;

		randombytes_buf(key, sizeof(key));
		randombytes_buf(nonce, sizeof(nonce));
		randombytes_buf(ad, sizeof(ad));
		randombytes_buf(plain, len);
		memcpy(mine, plain, len);
		aead_seal(key, nonce, ad, ad_len, mine, len);
		crypto_aead_chacha20poly1305_ietf_encrypt(ref, NULL, plain, len, ad, ad_len, NULL,
							  nonce, key);
		assert_memory_equal(mine, ref, len + AEAD_TAG_LEN);
		assert_int_equal(aead_open(key, nonce, ad, ad_len, mine, len + AEAD_TAG_LEN), 0);
		if (len > 0)
			assert_memory_equal(mine, plain, len);
		memcpy(mine, ref, len + AEAD_TAG_LEN);
		mine[(len * 7) % (len + AEAD_TAG_LEN)] ^= 0x20;
		assert_int_equal(aead_open(key, nonce, ad, ad_len, mine, len + AEAD_TAG_LEN),
				 -EBADMSG);
	}
}

static void test_wrong_nonce_or_key_fails(void **state)
{
	uint8_t key[AEAD_KEY_LEN] = { 1 }, nonce[AEAD_NONCE_LEN] = { 0 }, buf[1024 + AEAD_TAG_LEN];
	uint8_t copy[sizeof(buf)];

	(void)state;
	memset(buf, 0x5a, sizeof(buf));
	aead_seal(key, nonce, NULL, 0, buf, 1024);
	memcpy(copy, buf, sizeof(buf));
	nonce[11] = 1;
	assert_int_equal(aead_open(key, nonce, NULL, 0, buf, sizeof(buf)), -EBADMSG);
	nonce[11] = 0;
	key[31] = 1;
	assert_int_equal(aead_open(key, nonce, NULL, 0, copy, sizeof(copy)), -EBADMSG);
	assert_int_equal(aead_open(key, nonce, NULL, 0, copy, AEAD_TAG_LEN - 1), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_libsodium_at_every_length),
		cmocka_unit_test(test_wrong_nonce_or_key_fails),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
