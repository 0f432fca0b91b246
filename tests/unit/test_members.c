/*
 * Unit tests for members.c: a numbered table of members files, each with the
 * verdict, the number of members and the start of the error message; lookups;
 * line length and member count at their limits and one past; a large file.
 *
 * In the table, {kN} stands for the base64 of test key N, and {kN-nopad},
 * {kN-short}, {kN-long}, {kN-bang} for broken spellings of it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"
#include "members.h"

#define NKEYS 4
static uint8_t keys[NKEYS][NOISE_KEY_LEN];
static char keys_b64[NKEYS][KEY_BASE64_LEN + 1];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (int k = 0; k < NKEYS; k++) {
		for (int i = 0; i < NOISE_KEY_LEN; i++)
			keys[k][i] = (uint8_t)(k * 37 + i * 11 + 3);
		key_to_base64(keys_b64[k], keys[k]);
	}
	return 0;
}

/* Expands the {..} placeholders of a template into out; returns the length. */
static size_t expand(char *out, size_t cap, const char *tmpl, size_t tmpl_len)
{
	size_t o = 0;

	for (size_t i = 0; i < tmpl_len;) {
		char word[32];
		const char *close;
		size_t wlen;
		int k;

		if (tmpl[i] != '{' || i + 2 >= tmpl_len || tmpl[i + 1] != 'k' ||
		    !(close = memchr(tmpl + i, '}', tmpl_len - i))) {
			assert_true(o < cap);
			out[o++] = tmpl[i++];
			continue;
		}
		wlen = (size_t)(close - (tmpl + i) - 1);
		assert_true(wlen < sizeof(word));
		memcpy(word, tmpl + i + 1, wlen);
		word[wlen] = '\0';
		i += wlen + 2;
		assert_true(word[0] == 'k' && word[1] >= '1' && word[1] <= '0' + NKEYS);
		k = word[1] - '1';
		assert_true(o + KEY_BASE64_LEN + 1 < cap);
		memcpy(out + o, keys_b64[k], KEY_BASE64_LEN);
		if (word[2] == '\0') {
			o += KEY_BASE64_LEN;
		} else if (strcmp(word + 2, "-nopad") == 0) { /* 43: the '=' dropped */
			o += KEY_BASE64_LEN - 1;
		} else if (strcmp(word + 2, "-short") == 0) { /* 43: a character dropped */
			memmove(out + o + 5, out + o + 6, KEY_BASE64_LEN - 6);
			o += KEY_BASE64_LEN - 1;
		} else if (strcmp(word + 2, "-long") == 0) { /* 45 */
			memmove(out + o + 1, out + o, KEY_BASE64_LEN);
			out[o] = 'A';
			o += KEY_BASE64_LEN + 1;
		} else if (strcmp(word + 2, "-bang") == 0) { /* 44, one not base64 */
			out[o + 10] = '!';
			o += KEY_BASE64_LEN;
		} else {
			fail_msg("unknown placeholder {%s}", word);
		}
	}
	return o;
}

#define NAME32 "abcdefghijklmnopqrstuvwxyz012345"
#define NAME33 NAME32 "6"
#define TEXT(s) s, sizeof(s) - 1 /* keeps embedded NULs */

struct expect_member {
	int key; /* 1-based; 0 ends the list */
	const char *name;
};

struct members_case {
	int id;
	const char *text;
	size_t len;
	int want_ret;
	uint32_t want_count;
	const char *want_err; /* a prefix of the message, or NULL */
	struct expect_member members[NKEYS + 1];
};

static const struct members_case cases[] = {
	{ 1, TEXT(""), 0, 0, NULL, { { 0, NULL } } },
	{ 2, TEXT("# comment\n#another\n   # indented\n"), 0, 0, NULL, { { 0, NULL } } },
	{ 3, TEXT("{k1}\n"), 0, 1, NULL, { { 1, "" } } },
	{ 4, TEXT("{k1} alice\n"), 0, 1, NULL, { { 1, "alice" } } },
	{ 5, TEXT("{k1} alice # her laptop\n"), 0, 1, NULL, { { 1, "alice" } } },
	{ 6, TEXT("{k1} alice\r\n{k2} bob\r\n"), 0, 2, NULL, { { 1, "alice" }, { 2, "bob" } } },
	{ 7, TEXT("\t{k1}\t\talice\t\n"), 0, 1, NULL, { { 1, "alice" } } },
	{ 8, TEXT("\n\n{k1} a\n\n   \n\t\n{k2} b\n\n"), 0, 2, NULL, { { 1, "a" }, { 2, "b" } } },
	{ 9, TEXT("{k1} a\n{k2}\n{k3} c"), 0, 3, NULL, { { 1, "a" }, { 2, "" }, { 3, "c" } } },
	{ 10, TEXT("{k1}#no space before the comment\n"), 0, 1, NULL, { { 1, "" } } },
	{ 11, TEXT("{k1} al#ice\n"), 0, 1, NULL, { { 1, "al" } } },
	{ 12, TEXT("{k1} " NAME32 "\n"), 0, 1, NULL, { { 1, NAME32 } } },
	{ 13, TEXT("{k1} " NAME33 "\n"), -EINVAL, 0, "line 1: bad name", { { 0, NULL } } },
	{ 14, TEXT("{k1} a!\"$%&'()*+,-./:;<=>?@[\\]^_`{|}~\n"), 0, 1, NULL,
	  { { 1, "a!\"$%&'()*+,-./:;<=>?@[\\]^_`{|}~" } } },
	{ 15, TEXT("{k1-bang} alice\n"), -EINVAL, 0, "line 1: bad key", { { 0, NULL } } },
	{ 16, TEXT("{k1-short} alice\n"), -EINVAL, 0, "line 1: bad key", { { 0, NULL } } },
	{ 17, TEXT("{k1-nopad} alice\n"), -EINVAL, 0, "line 1: bad key", { { 0, NULL } } },
	{ 18, TEXT("{k1-long} alice\n"), -EINVAL, 0, "line 1: bad key", { { 0, NULL } } },
	{ 19, TEXT("alice {k1}\n"), -EINVAL, 0, "line 1: bad key 'alice'", { { 0, NULL } } },
	{ 20, TEXT("{k1} al\x01ice\n"), -EINVAL, 0, "line 1: bad name", { { 0, NULL } } },
	{ 21, TEXT("{k1} al\x7fice\n"), -EINVAL, 0, "line 1: bad name", { { 0, NULL } } },
	{ 22, TEXT("{k1} caf\xc3\xa9\n"), -EINVAL, 0, "line 1: bad name", { { 0, NULL } } },
	{ 23, TEXT("{k1} al\vice\n"), -EINVAL, 0, "line 1: bad name", { { 0, NULL } } },
	{ 24, TEXT("{k1} alice smith\n"), -EINVAL, 0, "line 1: unexpected 'smith'",
	  { { 0, NULL } } },
	{ 25, TEXT("{k1} alice {k2}\n"), -EINVAL, 0, "line 1: unexpected", { { 0, NULL } } },
	{ 26, TEXT("{k1} alice\n{k2} bob\n{k1} carol\n"), -EINVAL, 0, "line 3: key ", { { 0, NULL } } },
	{ 27, TEXT("{k1} alice\n{k1} alice\n"), -EINVAL, 0, "line 2: key ", { { 0, NULL } } },
	{ 28, TEXT("{k1} alice\n{k2} b\0b\n"), -EINVAL, 0, "line 2: contains a NUL",
	  { { 0, NULL } } },
	{ 29, TEXT("{k1} alice # \0 in a comment\n"), -EINVAL, 0, "line 1: contains a NUL",
	  { { 0, NULL } } },
	{ 30, TEXT("\0"), -EINVAL, 0, "line 1: contains a NUL", { { 0, NULL } } },
	/* The error names the line, counting comments, blank and CRLF lines. */
	{ 31, TEXT("# members\n\n{k1} al\x01ice\n"), -EINVAL, 0, "line 3: bad name",
	  { { 0, NULL } } },
	{ 32, TEXT("{k1} a\r\n# c\r\n\r\n{k2} b\r\n{k3-bang}\r\n"), -EINVAL, 0, "line 5: bad key",
	  { { 0, NULL } } },
	{ 33, TEXT("{k1} a\n{k2} b\n{k3} c d\n{k4} e\n"), -EINVAL, 0, "line 3: unexpected 'd'",
	  { { 0, NULL } } },
	/* A CR alone is blank space, not a line end. */
	{ 34, TEXT("{k1}\ralice\r\r\n"), 0, 1, NULL, { { 1, "alice" } } },
	{ 35, TEXT("{k1} alice\r{k2}\n"), -EINVAL, 0, "line 1: unexpected", { { 0, NULL } } },
	{ 36, TEXT("{k4} d\n{k3} c\n{k2} b\n{k1} a\n"), 0, 4, NULL,
	  { { 1, "a" }, { 2, "b" }, { 3, "c" }, { 4, "d" } } },
};

static void check_case(const struct members_case *c)
{
	char text[4096], err[256];
	size_t len = expand(text, sizeof(text), c->text, c->len);
	struct members m;
	int ret;

	strcpy(err, "(unset)");
	ret = members_parse(&m, text, len, err, sizeof(err));
	if (ret != c->want_ret)
		fail_msg("case %d: returned %d, want %d (%s)", c->id, ret, c->want_ret, err);
	if (c->want_err && strncmp(err, c->want_err, strlen(c->want_err)) != 0)
		fail_msg("case %d: error '%s', want it to start '%s'", c->id, err, c->want_err);
	if (ret == 0) {
		if (m.count != c->want_count)
			fail_msg("case %d: %u members, want %u", c->id, m.count, c->want_count);
		for (const struct expect_member *e = c->members; e->key; e++) {
			const struct member *found = members_find(&m, keys[e->key - 1]);

			if (!found)
				fail_msg("case %d: key %d not found", c->id, e->key);
			if (strcmp(found->name, e->name) != 0)
				fail_msg("case %d: key %d named '%s', want '%s'", c->id, e->key,
					 found->name, e->name);
		}
		for (int k = 0; k < NKEYS; k++) {
			bool listed = false;

			for (const struct expect_member *e = c->members; e->key; e++)
				listed |= e->key == k + 1;
			if (!listed && members_find(&m, keys[k]))
				fail_msg("case %d: key %d found but not listed", c->id, k + 1);
		}
	}
	members_free(&m);
	assert_null(m.list);
	assert_int_equal(m.count, 0);
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

/* The duplicate message names both lines and the key. */
static void test_duplicate_message(void **state)
{
	char text[256], err[256], want[256];
	struct members m;
	int n;

	(void)state;
	n = snprintf(text, sizeof(text), "%s a\n%s b\n", keys_b64[2], keys_b64[2]);
	assert_int_equal(members_parse(&m, text, (size_t)n, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "line 2: key %s is listed twice (also on line 1)", keys_b64[2]);
	assert_string_equal(err, want);
	members_free(&m);
}

/* A stand-in for key_derive_mac that makes collisions easy: keys 1 and 3
 * derive one MAC, the others their own. */
static void weak_mac(unsigned char mac[6], const unsigned char pub[NOISE_KEY_LEN])
{
	memset(mac, 0, 6);
	mac[0] = 0x02;
	mac[5] = memcmp(pub, keys[3], NOISE_KEY_LEN) == 0 ? keys[1][0] : pub[0];
}

/* Two keys with one TAP MAC: the file is refused, naming both lines and the
 * MAC; without a collision it passes, and real derivations pass a large file. */
static void test_same_mac(void **state)
{
	char text[512], err[256];
	struct members m;
	int n;

	(void)state;
	n = snprintf(text, sizeof(text), "%s a\n# c\n%s b\n%s c\n%s d\n", keys_b64[0],
		     keys_b64[3], keys_b64[2], keys_b64[1]);
	assert_int_equal(members_parse(&m, text, (size_t)n, err, sizeof(err)), 0);
	assert_int_equal(members_check_macs(&m, weak_mac, err, sizeof(err)), -EINVAL);
	snprintf(text, sizeof(text),
		 "line 5: this key's TAP MAC 02:00:00:00:00:%02x is also line 3's: give one of "
		 "them a new key",
		 keys[1][0]);
	assert_string_equal(err, text);
	members_free(&m);
	n = snprintf(text, sizeof(text), "%s a\n%s b\n", keys_b64[0], keys_b64[2]);
	assert_int_equal(members_parse(&m, text, (size_t)n, err, sizeof(err)), 0);
	assert_int_equal(members_check_macs(&m, weak_mac, err, sizeof(err)), 0);
	members_free(&m);
	m = (struct members){ 0 };
	assert_int_equal(members_check_macs(&m, weak_mac, err, sizeof(err)), 0);
}

/* The bad key is quoted, cut at 60 characters so a long line cannot flood a log. */
static void test_bad_key_quoted(void **state)
{
	char text[200], err[256];
	struct members m;

	(void)state;
	memset(text, 'x', 100);
	text[100] = '\n';
	assert_int_equal(members_parse(&m, text, 101, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 1: bad key '"));
	assert_non_null(strstr(err, "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"));
	assert_null(strstr(err, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	members_free(&m);

	/* A tiny error buffer is never overrun. */
	assert_int_equal(members_parse(&m, text, 101, err, 8), -EINVAL);
	assert_string_equal(err, "line 1:");
	members_free(&m);
}

/* The text is not NUL-terminated: the parser reads exactly len bytes. */
static void test_exact_length(void **state)
{
	struct members m;
	char err[256];
	char *text = malloc(KEY_BASE64_LEN + 6);

	(void)state;
	assert_non_null(text);
	memcpy(text, keys_b64[0], KEY_BASE64_LEN);
	memcpy(text + KEY_BASE64_LEN, " alice", 6);
	assert_int_equal(members_parse(&m, text, KEY_BASE64_LEN + 6, err, sizeof(err)), 0);
	assert_int_equal(m.count, 1);
	assert_string_equal(members_find(&m, keys[0])->name, "alice");
	members_free(&m);
	/* Cut inside the name, and inside the key. */
	assert_int_equal(members_parse(&m, text, KEY_BASE64_LEN + 3, err, sizeof(err)), 0);
	assert_string_equal(members_find(&m, keys[0])->name, "al");
	members_free(&m);
	assert_int_equal(members_parse(&m, text, KEY_BASE64_LEN - 1, err, sizeof(err)), -EINVAL);
	members_free(&m);
	free(text);
}

/* A line of exactly `len` characters: key, name, then a comment as padding. */
static size_t long_line(char *out, size_t len, const char *eol)
{
	size_t eol_len = strlen(eol);

	assert_true(len >= KEY_BASE64_LEN + 4 + eol_len);
	memcpy(out, keys_b64[1], KEY_BASE64_LEN);
	memcpy(out + KEY_BASE64_LEN, " b #", 4);
	memset(out + KEY_BASE64_LEN + 4, 'p', len - KEY_BASE64_LEN - 4);
	memcpy(out + len - eol_len, eol, eol_len); /* the CR counts as a character */
	out[len] = '\n';
	return len + 1;
}

static void test_line_length(void **state)
{
	static char text[3 * MEMBERS_LINE_MAX];
	struct members m;
	char err[256];
	size_t n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "%s a\n", keys_b64[0]);
	n += long_line(text + n, MEMBERS_LINE_MAX, "");
	assert_int_equal(members_parse(&m, text, n, err, sizeof(err)), 0);
	assert_int_equal(m.count, 2);
	assert_string_equal(members_find(&m, keys[1])->name, "b");
	members_free(&m);

	n = (size_t)snprintf(text, sizeof(text), "%s a\n", keys_b64[0]);
	n += long_line(text + n, MEMBERS_LINE_MAX + 1, "");
	assert_int_equal(members_parse(&m, text, n, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 2: longer than 1024 characters");
	members_free(&m);

	/* With CRLF, the CR is part of the line. */
	n = long_line(text, MEMBERS_LINE_MAX, "\r");
	assert_int_equal(members_parse(&m, text, n, err, sizeof(err)), 0);
	members_free(&m);
	n = long_line(text, MEMBERS_LINE_MAX + 1, "\r");
	assert_int_equal(members_parse(&m, text, n, err, sizeof(err)), -EINVAL);
	members_free(&m);

	/* The last line, without a newline. */
	n = long_line(text, MEMBERS_LINE_MAX + 1, "");
	assert_int_equal(members_parse(&m, text, n - 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 1: longer than 1024 characters");
	members_free(&m);
	n = long_line(text, MEMBERS_LINE_MAX, "");
	assert_int_equal(members_parse(&m, text, n - 1, err, sizeof(err)), 0);
	members_free(&m);
}

static void test_find(void **state)
{
	struct members m, empty = { NULL, 0 };
	char text[512], err[256];
	uint8_t missing[NOISE_KEY_LEN];
	int n;

	(void)state;
	n = snprintf(text, sizeof(text), "%s one\n%s two\n%s three\n", keys_b64[2], keys_b64[0],
		     keys_b64[1]);
	assert_int_equal(members_parse(&m, text, (size_t)n, err, sizeof(err)), 0);
	assert_int_equal(m.count, 3);
	assert_string_equal(members_find(&m, keys[2])->name, "one");
	assert_string_equal(members_find(&m, keys[0])->name, "two");
	assert_string_equal(members_find(&m, keys[1])->name, "three");
	assert_memory_equal(members_find(&m, keys[1])->pub, keys[1], NOISE_KEY_LEN);
	assert_null(members_find(&m, keys[3]));
	/* Off by one bit, at either end. */
	memcpy(missing, keys[0], NOISE_KEY_LEN);
	missing[0] ^= 1;
	assert_null(members_find(&m, missing));
	missing[0] ^= 1;
	missing[31] ^= 0x80;
	assert_null(members_find(&m, missing));
	/* Sorted by key. */
	for (uint32_t i = 1; i < m.count; i++)
		assert_true(memcmp(m.list[i - 1].pub, m.list[i].pub, NOISE_KEY_LEN) < 0);
	members_free(&m);
	assert_null(members_find(&empty, keys[0]));
	members_free(&m); /* twice is harmless */
}

/* n distinct keys, one per line, named m<i>; returns the text length. */
static size_t generate(char *text, uint8_t (*pubs)[NOISE_KEY_LEN], uint32_t n)
{
	size_t len = 0;

	for (uint32_t i = 0; i < n; i++) {
		char b64[KEY_BASE64_LEN + 1];

		/* Distinct by construction: the index is in the first bytes. */
		randombytes_buf(pubs[i], NOISE_KEY_LEN);
		pubs[i][0] = (uint8_t)i;
		pubs[i][1] = (uint8_t)(i >> 8);
		pubs[i][2] = (uint8_t)(i >> 16);
		key_to_base64(b64, pubs[i]);
		len += (size_t)sprintf(text + len, "%s m%u\n", b64, i);
	}
	return len;
}

static void test_large(void **state)
{
	const uint32_t n = 5000;
	uint8_t(*pubs)[NOISE_KEY_LEN] = calloc(n, NOISE_KEY_LEN);
	char *text = malloc((size_t)n * 64);
	struct members m;
	char err[256], name[16];
	uint8_t missing[NOISE_KEY_LEN];

	(void)state;
	assert_non_null(pubs);
	assert_non_null(text);
	assert_int_equal(members_parse(&m, text, generate(text, pubs, n), err, sizeof(err)), 0);
	assert_int_equal(m.count, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct member *found = members_find(&m, pubs[i]);

		if (!found)
			fail_msg("key %u not found", i);
		snprintf(name, sizeof(name), "m%u", i);
		assert_string_equal(found->name, name);
	}
	memset(missing, 0xff, sizeof(missing));
	assert_null(members_find(&m, missing));
	memset(missing, 0, sizeof(missing));
	assert_null(members_find(&m, missing));
	members_free(&m);
	free(text);
	free(pubs);
}

/* MEMBERS_MAX members fit; one more is refused with -E2BIG. */
static void test_too_many(void **state)
{
	const uint32_t n = MEMBERS_MAX + 1;
	uint8_t(*pubs)[NOISE_KEY_LEN] = calloc(n, NOISE_KEY_LEN);
	char *text = malloc((size_t)n * 64);
	struct members m;
	char err[256];
	size_t len, last_line;

	(void)state;
	assert_non_null(pubs);
	assert_non_null(text);
	len = generate(text, pubs, n);
	last_line = (size_t)(strrchr(text, '\n') - text);
	while (last_line > 0 && text[last_line - 1] != '\n')
		last_line--;
	assert_int_equal(members_parse(&m, text, last_line, err, sizeof(err)), 0);
	assert_int_equal(m.count, MEMBERS_MAX);
	assert_non_null(members_find(&m, pubs[MEMBERS_MAX - 1]));
	members_free(&m);
	assert_int_equal(members_parse(&m, text, len, err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "more than 65536 members");
	members_free(&m);
	/* Comments and blank lines do not count. */
	memmove(text + 3, text, last_line);
	memcpy(text, "#\n\n", 3);
	assert_int_equal(members_parse(&m, text, last_line + 3, err, sizeof(err)), 0);
	assert_int_equal(m.count, MEMBERS_MAX);
	members_free(&m);
	free(text);
	free(pubs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_duplicate_message),
		cmocka_unit_test(test_same_mac),
		cmocka_unit_test(test_bad_key_quoted),
		cmocka_unit_test(test_exact_length),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_too_many),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
