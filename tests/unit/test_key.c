/*
 * Unit tests for key.c: base64 keys both ways, known encodings, a numbered
 * table of spellings that must be refused, key files with whitespace, and the
 * X25519 clamp.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"

/* The base64 of 00 01 02 ... 1f. */
#define SEQ_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static uint8_t seq[NOISE_KEY_LEN];

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < NOISE_KEY_LEN; i++)
		seq[i] = (uint8_t)i;
	return sodium_init() < 0 ? -1 : 0;
}

/* Parses from an exact-size heap copy (no NUL), so ASan catches an overread. */
static bool parse_b64(uint8_t key[NOISE_KEY_LEN], const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);
	bool ok;

	assert_non_null(copy);
	memcpy(copy, text, len);
	ok = key_from_base64(key, copy, len);
	free(copy);
	return ok;
}

static bool parse_text(uint8_t key[NOISE_KEY_LEN], const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);
	bool ok;

	assert_non_null(copy);
	memcpy(copy, text, len);
	ok = key_from_text(key, copy, len);
	free(copy);
	return ok;
}

static void test_known(void **state)
{
	static const uint8_t zero[NOISE_KEY_LEN], ones[NOISE_KEY_LEN] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	char b64[KEY_BASE64_LEN + 1];
	uint8_t key[NOISE_KEY_LEN];

	(void)state;
	key_to_base64(b64, zero);
	assert_string_equal(b64, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	key_to_base64(b64, ones);
	assert_string_equal(b64, "//////////////////////////////////////////8=");
	key_to_base64(b64, seq);
	assert_string_equal(b64, SEQ_B64);
	assert_true(parse_b64(key, SEQ_B64, KEY_BASE64_LEN));
	assert_memory_equal(key, seq, NOISE_KEY_LEN);
	assert_true(parse_b64(key, "//////////////////////////////////////////8=", KEY_BASE64_LEN));
	assert_memory_equal(key, ones, NOISE_KEY_LEN);
}

static void test_round_trip(void **state)
{
	char b64[KEY_BASE64_LEN + 1];
	uint8_t key[NOISE_KEY_LEN], back[NOISE_KEY_LEN];

	(void)state;
	for (int i = 0; i < 2000; i++) {
		randombytes_buf(key, sizeof(key));
		memset(b64, 'Z', sizeof(b64));
		key_to_base64(b64, key);
		assert_int_equal(strlen(b64), KEY_BASE64_LEN);
		assert_int_equal(b64[KEY_BASE64_LEN - 1], '=');
		memset(back, 0, sizeof(back));
		assert_true(parse_b64(back, b64, KEY_BASE64_LEN));
		assert_memory_equal(back, key, NOISE_KEY_LEN);
		memset(back, 0, sizeof(back));
		assert_true(parse_text(back, b64, KEY_BASE64_LEN));
		assert_memory_equal(back, key, NOISE_KEY_LEN);
	}
}

struct bad_case {
	int id;
	const char *text;
	size_t len; /* 0 = strlen */
};

static const struct bad_case bad_cases[] = {
	{ 1, "", 0 },
	{ 2, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", 0 },   /* 43: no padding */
	{ 3, "AECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 0 },   /* 43: one dropped */
	{ 4, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==", 0 }, /* 45 */
	{ 5, "AAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 0 }, /* 45 */
	{ 6, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A", 0 },  /* 44, no '=' */
	{ 7, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", 0 },  /* 31 bytes */
	{ 8, "AAECAwQFBgcICQoLDA0!DxAREhMUFRYXGBkaGxwdHh8=", 0 },  /* not base64 */
	{ 9, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-=", 0 },  /* URL-safe alphabet */
	{ 10, "_____________________________________________", 0 },
	{ 11, "AAECAwQFBgcICQoLDA0 DxAREhMUFRYXGBkaGxwdHh8=", 0 }, /* inner space */
	{ 12, "AAECAwQFBgcICQoLDA0\0DxAREhMUFRYXGBkaGxwdHh8=", 44 }, /* inner NUL */
	{ 13, " AECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 0 },  /* no trimming here */
	/* Non-canonical: the last character carries bits past the 256th. */
	{ 14, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", 0 },
	{ 15, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+=", 0 },
	{ 16, "============================================", 0 },
	{ 17, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd=h8=", 0 },
};

static void test_bad_base64(void **state)
{
	uint8_t key[NOISE_KEY_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = c->len ? c->len : strlen(c->text);

		if (parse_b64(key, c->text, len))
			fail_msg("case %d: '%s' (%zu) accepted by key_from_base64", c->id, c->text,
				 len);
		if (parse_text(key, c->text, len))
			fail_msg("case %d: '%s' (%zu) accepted by key_from_text", c->id, c->text,
				 len);
	}
}

struct text_case {
	int id;
	const char *text;
	bool want_ok;
};

static const struct text_case text_cases[] = {
	{ 1, SEQ_B64, true },
	{ 2, SEQ_B64 "\n", true },
	{ 3, SEQ_B64 "\r\n", true },
	{ 4, "  \t" SEQ_B64 " \t\r\n", true },
	{ 5, "\n\n" SEQ_B64 "\n\n", true },
	{ 6, SEQ_B64 " " SEQ_B64, false },
	{ 7, SEQ_B64 "\n" SEQ_B64 "\n", false },
	{ 8, SEQ_B64 " x\n", false },
	{ 9, "# " SEQ_B64 "\n", false },
	{ 10, "", false },
	{ 11, " \t\r\n", false },
	{ 12, "\n", false },
	{ 13, SEQ_B64 "\v", false }, /* only space, tab, CR and LF are trimmed */
	{ 14, "\f" SEQ_B64, false },
	{ 15, "garbage\n", false },
	{ 16, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", false }, /* 43 */
	{ 17, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==\n", false }, /* 45 */
};

static void test_from_text(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		const struct text_case *c = &text_cases[i];
		uint8_t key[NOISE_KEY_LEN];
		bool ok;

		memset(key, 0xaa, sizeof(key));
		ok = parse_text(key, c->text, strlen(c->text));
		if (ok != c->want_ok)
			fail_msg("case %d: got %d, want %d", c->id, ok, c->want_ok);
		if (ok)
			assert_memory_equal(key, seq, NOISE_KEY_LEN);
	}
}

/* A key file read into a larger buffer: only len bytes count. */
static void test_from_text_len(void **state)
{
	const char *text = SEQ_B64 "\nAAAA";
	uint8_t key[NOISE_KEY_LEN];

	(void)state;
	assert_true(parse_text(key, text, KEY_BASE64_LEN + 1));
	assert_true(parse_text(key, text, KEY_BASE64_LEN));
	assert_false(parse_text(key, text, KEY_BASE64_LEN - 1));
	assert_false(parse_text(key, text, KEY_BASE64_LEN + 2));
}

static void test_clamp(void **state)
{
	uint8_t key[NOISE_KEY_LEN], orig[NOISE_KEY_LEN];

	(void)state;
	memset(key, 0xff, sizeof(key));
	key_clamp(key);
	assert_int_equal(key[0], 0xf8);  /* low three bits cleared */
	assert_int_equal(key[31], 0x7f); /* top bit cleared, bit 254 set */
	for (int i = 1; i < 31; i++)
		assert_int_equal(key[i], 0xff);

	memset(key, 0, sizeof(key));
	key_clamp(key);
	assert_int_equal(key[0], 0x00);
	assert_int_equal(key[31], 0x40);
	for (int i = 1; i < 31; i++)
		assert_int_equal(key[i], 0);

	for (int n = 0; n < 1000; n++) {
		randombytes_buf(key, sizeof(key));
		memcpy(orig, key, sizeof(key));
		key_clamp(key);
		assert_int_equal(key[0], orig[0] & 0xf8);
		assert_int_equal(key[31], (orig[31] & 0x7f) | 0x40);
		assert_memory_equal(key + 1, orig + 1, 30);
		/* Idempotent. */
		memcpy(orig, key, sizeof(key));
		key_clamp(key);
		assert_memory_equal(key, orig, sizeof(key));
	}
}

/* X25519 ignores the clamped bits: clamping never changes the public key. */
static void test_clamp_matches_x25519(void **state)
{
	uint8_t key[NOISE_KEY_LEN], pub1[NOISE_KEY_LEN], pub2[NOISE_KEY_LEN];

	(void)state;
	for (int n = 0; n < 50; n++) {
		randombytes_buf(key, sizeof(key));
		key[0] |= 7;
		key[31] |= 0x80;
		assert_int_equal(crypto_scalarmult_curve25519_base(pub1, key), 0);
		key_clamp(key);
		assert_int_equal(crypto_scalarmult_curve25519_base(pub2, key), 0);
		assert_memory_equal(pub1, pub2, sizeof(pub1));
	}
}

/* A port's TAP MAC: stable per key, different across keys, unicast and
 * locally administered whatever the hash gives. */
static void test_derive_mac(void **state)
{
	unsigned char pub[NOISE_KEY_LEN], a[6], b[6], c[6];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		memset(pub, 0, sizeof(pub));
		pub[0] = (unsigned char)i;
		pub[1] = (unsigned char)(i >> 8);
		key_derive_mac(a, pub);
		key_derive_mac(b, pub);
		assert_memory_equal(a, b, 6);
		assert_int_equal(a[0] & 0x01, 0);
		assert_int_equal(a[0] & 0x02, 0x02);
		pub[31] = 1;
		key_derive_mac(c, pub);
		assert_memory_not_equal(a, c, 6);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_base64),
		cmocka_unit_test(test_from_text),
		cmocka_unit_test(test_from_text_len),
		cmocka_unit_test(test_clamp),
		cmocka_unit_test(test_clamp_matches_x25519),
		cmocka_unit_test(test_derive_mac),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
