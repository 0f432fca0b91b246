/*
 * libFuzzer target for config.c: the input is split at its first NUL into two
 * strings, and each config parser runs on each. Accepted values are checked
 * against what the parser promises.
 */
#include "fuzz.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static void check_u64(const char *s, uint64_t min, uint64_t max)
{
	char err[128];
	uint64_t v = 0;
	bool all_digits = *s != '\0';
	unsigned long long ref = 0;

	for (const char *p = s; *p; p++)
		all_digits &= *p >= '0' && *p <= '9';
	if (all_digits) {
		errno = 0;
		ref = strtoull(s, NULL, 10);
		if (errno == ERANGE)
			all_digits = false; /* does not fit: must be refused */
	}
	if (config_parse_u64(s, min, max, &v, err, sizeof(err))) {
		if (!all_digits || v != ref || v < min || v > max)
			abort();
	} else if (all_digits && ref >= min && ref <= max) {
		abort(); /* a plain decimal in range was refused */
	}
}

static void check_hostport(const char *s, bool bare)
{
	char host[CONFIG_HOST_MAX + 1], err[128];
	uint16_t port = 0;

	if (!config_parse_hostport(s, bare, host, &port, err, sizeof(err)))
		return;
	if (port == 0 || strlen(host) > CONFIG_HOST_MAX)
		abort();
	if (host[0] == '\0' && (!bare || strchr(s, ':')))
		abort();
}

static void check_cidr(const char *s)
{
	struct config_cidr c;
	char err[128];

	if (!config_parse_cidr(s, &c, err, sizeof(err)))
		return;
	if (c.family == AF_INET ? c.prefix_len > 32
				: c.family != AF_INET6 || c.prefix_len > 128)
		abort();
	if (!strchr(s, '/'))
		abort();
}

static void check_ifname(const char *s)
{
	char err[128];
	size_t len = strlen(s);

	if (config_parse_ifname(s, err, sizeof(err)) &&
	    (len == 0 || len > 15 || strpbrk(s, "/: \t\n")))
		abort();
}

static void check_all(const char *s, uint64_t min, uint64_t max)
{
	check_u64(s, min, max);
	check_u64(s, 0, UINT64_MAX);
	check_hostport(s, false);
	check_hostport(s, true);
	check_cidr(s);
	check_ifname(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *a = malloc(size + 2), *b;
	uint64_t min = 0, max = UINT64_MAX;

	if (!a)
		return 0;
	memcpy(a, data, size);
	a[size] = '\0';
	a[size + 1] = '\0';
	b = a + strlen(a) + 1; /* the rest after the first NUL, or "" */
	/* Bounds for u64 from the first bytes, so the range checks get exercised. */
	if (size >= 2) {
		min = data[0];
		max = (uint64_t)data[0] + ((uint64_t)data[1] << 8);
	}
	check_all(a, min, max);
	check_all(b, min, max);
	free(a);
	return 0;
}
