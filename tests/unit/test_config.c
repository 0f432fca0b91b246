/*
 * Unit tests for config.c: numbered tables of command-line values for each
 * parser, with every bound at the edge and one past it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

/* ---- host:port ---- */

struct hostport_case {
	int id;
	const char *text;
	bool allow_bare_port;
	bool want_ok;
	const char *want_host;
	uint16_t want_port;
};

static const struct hostport_case hostport_cases[] = {
	{ 1, "1.2.3.4:51820", false, true, "1.2.3.4", 51820 },
	{ 2, "1.2.3.4:51820", true, true, "1.2.3.4", 51820 },
	{ 3, "[2001:db8::1]:51820", false, true, "2001:db8::1", 51820 },
	{ 4, "[::1]:1", false, true, "::1", 1 },
	{ 5, "51820", true, true, "", 51820 },
	{ 6, "51820", false, false, NULL, 0 },
	{ 7, "1.2.3.4:0", false, false, NULL, 0 },
	{ 8, "1.2.3.4:1", false, true, "1.2.3.4", 1 },
	{ 9, "1.2.3.4:65535", false, true, "1.2.3.4", 65535 },
	{ 10, "1.2.3.4:65536", false, false, NULL, 0 },
	{ 11, "1.2.3.4:4294967297", false, false, NULL, 0 }, /* 2^32 + 1: no truncation */
	{ 12, "1.2.3.4:", false, false, NULL, 0 },
	{ 13, "1.2.3.4", false, false, NULL, 0 },
	{ 14, "1.2.3.4", true, false, NULL, 0 },
	{ 15, "2001:db8::1:51820", false, false, NULL, 0 },
	{ 16, "2001:db8::1:51820", true, false, NULL, 0 },
	{ 17, "::1:80", false, false, NULL, 0 },
	{ 18, ":51820", false, false, NULL, 0 },
	{ 19, ":51820", true, false, NULL, 0 },
	{ 20, "[]:51820", false, false, NULL, 0 },
	{ 21, "switch.example.com:51820", false, true, "switch.example.com", 51820 },
	{ 22, "localhost:1", true, true, "localhost", 1 },
	{ 23, "[2001:db8::1]51820", false, false, NULL, 0 },
	{ 24, "[2001:db8::1]", false, false, NULL, 0 },
	{ 25, "[2001:db8::1]", true, false, NULL, 0 },
	{ 26, "[2001:db8::1:51820", false, false, NULL, 0 },
	{ 27, "[2001:db8::1]:", false, false, NULL, 0 },
	{ 28, "[2001:db8::1]:0", false, false, NULL, 0 },
	{ 29, "[2001:db8::1]:65536", false, false, NULL, 0 },
	{ 30, "1.2.3.4:5182x", false, false, NULL, 0 },
	{ 31, "1.2.3.4:+80", false, false, NULL, 0 },
	{ 32, "1.2.3.4:-80", false, false, NULL, 0 },
	{ 33, "1.2.3.4: 80", false, false, NULL, 0 },
	{ 34, "1.2.3.4:80 ", false, false, NULL, 0 },
	{ 35, "", false, false, NULL, 0 },
	{ 36, "", true, false, NULL, 0 },
	{ 37, "0", true, false, NULL, 0 },
	{ 38, "65535", true, true, "", 65535 },
	{ 39, "65536", true, false, NULL, 0 },
	{ 40, ":", true, false, NULL, 0 },
	{ 41, "[", false, false, NULL, 0 },
	{ 42, "]:80", false, true, "]", 80 }, /* a host name is not checked here */
	{ 43, "[fe80::1%eth0]:51820", false, true, "fe80::1%eth0", 51820 },
	{ 44, "1.2.3.4:080", false, true, "1.2.3.4", 80 },
};

static void test_hostport_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hostport_cases) / sizeof(hostport_cases[0]); i++) {
		const struct hostport_case *c = &hostport_cases[i];
		char host[CONFIG_HOST_MAX + 1], err[256] = "";
		uint16_t port = 7;
		bool ok;

		memset(host, 'X', sizeof(host));
		ok = config_parse_hostport(c->text, c->allow_bare_port, host, &port, err,
					   sizeof(err));
		if (ok != c->want_ok)
			fail_msg("case %d '%s' (bare %d): got %d, want %d (%s)", c->id, c->text,
				 c->allow_bare_port, ok, c->want_ok, err);
		if (!ok) {
			if (err[0] == '\0')
				fail_msg("case %d: refused without a reason", c->id);
			continue;
		}
		if (strcmp(host, c->want_host) != 0 || port != c->want_port)
			fail_msg("case %d '%s': got '%s' port %u, want '%s' port %u", c->id,
				 c->text, host, port, c->want_host, c->want_port);
	}
}

static void test_hostport_host_length(void **state)
{
	char text[CONFIG_HOST_MAX + 16], host[CONFIG_HOST_MAX + 1], err[512];
	uint16_t port = 0;

	(void)state;
	memset(text, 'h', CONFIG_HOST_MAX);
	strcpy(text + CONFIG_HOST_MAX, ":9");
	assert_true(config_parse_hostport(text, false, host, &port, err, sizeof(err)));
	assert_int_equal(strlen(host), CONFIG_HOST_MAX);
	assert_int_equal(port, 9);

	memset(text, 'h', CONFIG_HOST_MAX + 1);
	strcpy(text + CONFIG_HOST_MAX + 1, ":9");
	assert_false(config_parse_hostport(text, false, host, &port, err, sizeof(err)));

	/* The same, bracketed. */
	text[0] = '[';
	memset(text + 1, 'a', CONFIG_HOST_MAX);
	strcpy(text + 1 + CONFIG_HOST_MAX, "]:9");
	assert_true(config_parse_hostport(text, false, host, &port, err, sizeof(err)));
	assert_int_equal(strlen(host), CONFIG_HOST_MAX);
	memset(text + 1, 'a', CONFIG_HOST_MAX + 1);
	strcpy(text + 2 + CONFIG_HOST_MAX, "]:9");
	assert_false(config_parse_hostport(text, false, host, &port, err, sizeof(err)));
}

static void test_hostport_messages(void **state)
{
	char host[CONFIG_HOST_MAX + 1], err[256];
	uint16_t port;

	(void)state;
	assert_false(config_parse_hostport("1.2.3.4:99999", false, host, &port, err, sizeof(err)));
	assert_string_equal(err, "'99999' is not a number between 1 and 65535");
	assert_false(config_parse_hostport("2001:db8::1:80", false, host, &port, err, sizeof(err)));
	assert_string_equal(err, "'2001:db8::1:80': write IPv6 addresses as [ADDRESS]:PORT");
	assert_false(config_parse_hostport("example", false, host, &port, err, sizeof(err)));
	assert_string_equal(err, "'example' is not HOST:PORT");
	/* A short buffer truncates the message and nothing more. */
	assert_false(config_parse_hostport("example", false, host, &port, err, 5));
	assert_string_equal(err, "'exa");
}

/* ---- cidr ---- */

struct cidr_case {
	int id;
	const char *text;
	bool want_ok;
	int family;
	const char *addr; /* for inet_pton */
	uint8_t prefix_len;
};

static const struct cidr_case cidr_cases[] = {
	{ 1, "10.0.0.1/24", true, AF_INET, "10.0.0.1", 24 },
	{ 2, "fd00::1/64", true, AF_INET6, "fd00::1", 64 },
	{ 3, "0.0.0.0/0", true, AF_INET, "0.0.0.0", 0 },
	{ 4, "10.0.0.1/32", true, AF_INET, "10.0.0.1", 32 },
	{ 5, "10.0.0.1/33", false, 0, NULL, 0 },
	{ 6, "::/0", true, AF_INET6, "::", 0 },
	{ 7, "::/128", true, AF_INET6, "::", 128 },
	{ 8, "::/129", false, 0, NULL, 0 },
	{ 9, "fd00::1/256", false, 0, NULL, 0 }, /* no wrap to 0 through uint8_t */
	{ 10, "10.0.0.1/288", false, 0, NULL, 0 },
	{ 11, "10.0.0.1", false, 0, NULL, 0 },
	{ 12, "fd00::1", false, 0, NULL, 0 },
	{ 13, "10.0.0.1/", false, 0, NULL, 0 },
	{ 14, "/24", false, 0, NULL, 0 },
	{ 15, "/", false, 0, NULL, 0 },
	{ 16, "", false, 0, NULL, 0 },
	{ 17, "garbage/24", false, 0, NULL, 0 },
	{ 18, "10.0.0.256/24", false, 0, NULL, 0 },
	{ 19, "10.0.0/24", false, 0, NULL, 0 },
	{ 20, "10.0.0.1/24x", false, 0, NULL, 0 },
	{ 21, "10.0.0.1/-1", false, 0, NULL, 0 },
	{ 22, "10.0.0.1/+24", false, 0, NULL, 0 },
	{ 23, "10.0.0.1/ 24", false, 0, NULL, 0 },
	{ 24, " 10.0.0.1/24", false, 0, NULL, 0 },
	{ 25, "10.0.0.1 /24", false, 0, NULL, 0 },
	{ 26, "::ffff:10.0.0.1/96", true, AF_INET6, "::ffff:10.0.0.1", 96 },
	{ 27, "fd00::1/64/1", false, 0, NULL, 0 },
	{ 28, "[fd00::1]/64", false, 0, NULL, 0 },
	{ 29, "fd00:0000:0000:0000:0000:0000:0000:0001/127", true, AF_INET6, "fd00::1", 127 },
	{ 30, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/1", true, AF_INET6,
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
	/* An address longer than any IPv6 text form. */
	{ 31, "0000000000000000000000000000000000000000000000000000000000/8", false, 0, NULL, 0 },
	{ 32, "fd00::1:/64", false, 0, NULL, 0 },
	{ 33, "10.0.0.1/024", true, AF_INET, "10.0.0.1", 24 },
};

static void test_cidr_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cidr_cases) / sizeof(cidr_cases[0]); i++) {
		const struct cidr_case *c = &cidr_cases[i];
		struct config_cidr out, want;
		char err[256] = "";
		bool ok;

		memset(&out, 0xee, sizeof(out));
		ok = config_parse_cidr(c->text, &out, err, sizeof(err));
		if (ok != c->want_ok)
			fail_msg("case %d '%s': got %d, want %d (%s)", c->id, c->text, ok,
				 c->want_ok, err);
		if (!ok) {
			if (err[0] == '\0')
				fail_msg("case %d: refused without a reason", c->id);
			continue;
		}
		memset(&want, 0, sizeof(want));
		assert_int_equal(inet_pton(c->family, c->addr, want.addr), 1);
		if (out.family != c->family || out.prefix_len != c->prefix_len ||
		    memcmp(out.addr, want.addr, sizeof(want.addr)) != 0)
			fail_msg("case %d '%s': family %d prefix %u, want %d /%u (or address)",
				 c->id, c->text, out.family, out.prefix_len, c->family,
				 c->prefix_len);
	}
}

/* ---- u64 ---- */

struct u64_case {
	int id;
	const char *text;
	uint64_t min, max;
	bool want_ok;
	uint64_t want;
};

static const struct u64_case u64_cases[] = {
	{ 1, "0", 0, 10, true, 0 },
	{ 2, "10", 0, 10, true, 10 },
	{ 3, "11", 0, 10, false, 0 },
	{ 4, "4", 5, 10, false, 0 },
	{ 5, "5", 5, 10, true, 5 },
	{ 6, "7", 7, 7, true, 7 },
	{ 7, "6", 7, 7, false, 0 },
	{ 8, "8", 7, 7, false, 0 },
	{ 9, "18446744073709551615", 0, UINT64_MAX, true, UINT64_MAX },
	{ 10, "18446744073709551614", 0, UINT64_MAX, true, UINT64_MAX - 1 },
	{ 11, "18446744073709551610", 0, UINT64_MAX, true, UINT64_MAX - 5 },
	{ 12, "18446744073709551609", 0, UINT64_MAX, true, UINT64_MAX - 6 },
	{ 13, "1844674407370955161", 0, UINT64_MAX, true, UINT64_MAX / 10 },
	{ 14, "18446744073709551616", 0, UINT64_MAX, false, 0 }, /* 2^64: overflow */
	{ 15, "18446744073709551620", 0, UINT64_MAX, false, 0 },
	{ 16, "18446744073709551625", 0, UINT64_MAX, false, 0 },
	{ 17, "99999999999999999999", 0, UINT64_MAX, false, 0 },
	{ 18, "184467440737095516150", 0, UINT64_MAX, false, 0 },
	{ 19, "36893488147419103232", 0, UINT64_MAX, false, 0 }, /* 2^65: wraps to 0 */
	{ 20, "", 0, UINT64_MAX, false, 0 },
	{ 21, "12a", 0, UINT64_MAX, false, 0 },
	{ 22, "a12", 0, UINT64_MAX, false, 0 },
	{ 23, "+5", 0, UINT64_MAX, false, 0 },
	{ 24, "-5", 0, UINT64_MAX, false, 0 },
	{ 25, "-0", 0, UINT64_MAX, false, 0 },
	{ 26, " 5", 0, UINT64_MAX, false, 0 },
	{ 27, "5 ", 0, UINT64_MAX, false, 0 },
	{ 28, "5\n", 0, UINT64_MAX, false, 0 },
	{ 29, "0x10", 0, UINT64_MAX, false, 0 },
	{ 30, "1e3", 0, UINT64_MAX, false, 0 },
	{ 31, "1.0", 0, UINT64_MAX, false, 0 },
	{ 32, "007", 0, UINT64_MAX, true, 7 },
	{ 33, "000000000000000000000000000001", 0, UINT64_MAX, true, 1 },
	{ 34, "1500", 576, 65000, true, 1500 },
	{ 35, "575", 576, 65000, false, 0 },
	{ 36, "65001", 576, 65000, false, 0 },
	{ 37, "0", 1, UINT64_MAX, false, 0 },
};

static void test_u64_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(u64_cases) / sizeof(u64_cases[0]); i++) {
		const struct u64_case *c = &u64_cases[i];
		char err[256] = "";
		uint64_t got = 0xdeadbeef;
		bool ok = config_parse_u64(c->text, c->min, c->max, &got, err, sizeof(err));

		if (ok != c->want_ok)
			fail_msg("case %d '%s' [%llu, %llu]: got %d, want %d (%s)", c->id, c->text,
				 (unsigned long long)c->min, (unsigned long long)c->max, ok,
				 c->want_ok, err);
		if (ok && got != c->want)
			fail_msg("case %d '%s': got %llu, want %llu", c->id, c->text,
				 (unsigned long long)got, (unsigned long long)c->want);
		if (!ok && got != 0xdeadbeef)
			fail_msg("case %d: output written on refusal", c->id);
		if (!ok && err[0] == '\0')
			fail_msg("case %d: refused without a reason", c->id);
	}
}

static void test_u64_message(void **state)
{
	char err[256];
	uint64_t v;

	(void)state;
	assert_false(config_parse_u64("99999", 576, 65000, &v, err, sizeof(err)));
	assert_string_equal(err, "'99999' is not a number between 576 and 65000");
	assert_false(config_parse_u64("", 0, UINT64_MAX, &v, err, sizeof(err)));
	assert_string_equal(err, "'' is not a number between 0 and 18446744073709551615");
}

/* ---- numeric host or name ---- */

static void test_numeric_host(void **state)
{
	static const struct {
		const char *host;
		bool numeric;
	} cases[] = {
		{ "192.0.2.1", true },     { "2001:db8::1", true },   { "::", true },
		{ "fe80::1%eth0", true },  { "::ffff:192.0.2.1", true },
		{ "switch.example.net", false }, { "localhost", false }, { "192.0.2", false },
		{ "192.0.2.1.example", false },  { "", false },          { "%eth0", false },
		{ "1.2.3.4%x", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (config_is_numeric_host(cases[i].host) != cases[i].numeric)
			fail_msg("'%s': want %s", cases[i].host, cases[i].numeric ? "numeric" : "a name");
	}
}

/* ---- ifname ---- */

struct ifname_case {
	int id;
	const char *text;
	bool want_ok;
};

static const struct ifname_case ifname_cases[] = {
	{ 1, "tap0", true },
	{ 2, "a", true },
	{ 3, "abcdefghijklmno", true },	  /* 15 */
	{ 4, "abcdefghijklmnop", false }, /* 16 */
	{ 5, "", false },
	{ 6, "/", false },
	{ 7, "tap/0", false },
	{ 8, "tap:0", false },
	{ 9, "tap 0", false },
	{ 10, "tap\t0", false },
	{ 11, "tap0\n", false },
	{ 12, ".", false },
	{ 13, "..", false },
	{ 14, "...", true },
	{ 15, "vs-port_1.2", true },
	{ 16, "abcdefghijklmn/", false },
	{ 17, "abcdefghijklmnopqrstuvwxyz", false },
	{ 18, "tap%d", false }, /* a pattern: the kernel would choose the name */
	{ 19, "%", false },
};

static void test_ifname_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ifname_cases) / sizeof(ifname_cases[0]); i++) {
		const struct ifname_case *c = &ifname_cases[i];
		char err[256] = "";
		bool ok = config_parse_ifname(c->text, err, sizeof(err));

		if (ok != c->want_ok)
			fail_msg("case %d '%s': got %d, want %d", c->id, c->text, ok, c->want_ok);
		if (!ok && err[0] == '\0')
			fail_msg("case %d: refused without a reason", c->id);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostport_table),
		cmocka_unit_test(test_hostport_host_length),
		cmocka_unit_test(test_hostport_messages),
		cmocka_unit_test(test_cidr_table),
		cmocka_unit_test(test_u64_table),
		cmocka_unit_test(test_u64_message),
		cmocka_unit_test(test_ifname_table),
		cmocka_unit_test(test_numeric_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
