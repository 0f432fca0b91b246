/* config — parsing of command-line values. See config.h. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool config_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out, char *err,
		      size_t err_len)
{
	uint64_t v = 0;

	if (*text == '\0')
		goto bad;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			goto bad;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		goto bad;
	*out = v;
	return true;
bad:
	snprintf(err, err_len, "'%s' is not a number between %llu and %llu", text,
		 (unsigned long long)min, (unsigned long long)max);
	return false;
}

static bool parse_port(const char *text, uint16_t *port, char *err, size_t err_len)
{
	uint64_t v;

	if (!config_parse_u64(text, 1, 65535, &v, err, err_len))
		return false;
	*port = (uint16_t)v;
	return true;
}

bool config_parse_hostport(const char *text, bool allow_bare_port, char host[CONFIG_HOST_MAX + 1],
			   uint16_t *port, char *err, size_t err_len)
{
	const char *colon;
	size_t host_len;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':') {
			snprintf(err, err_len, "'%s' is not [ADDRESS]:PORT", text);
			return false;
		}
		host_len = (size_t)(close - text - 1);
		colon = close + 1;
		text++;
	} else {
		colon = strrchr(text, ':');
		if (!colon) {
			if (!allow_bare_port) {
				snprintf(err, err_len, "'%s' is not HOST:PORT", text);
				return false;
			}
			host[0] = '\0';
			return parse_port(text, port, err, err_len);
		}
		if (memchr(text, ':', (size_t)(colon - text))) {
			snprintf(err, err_len, "'%s': write IPv6 addresses as [ADDRESS]:PORT", text);
			return false;
		}
		host_len = (size_t)(colon - text);
	}
	if (host_len == 0 || host_len > CONFIG_HOST_MAX) {
		snprintf(err, err_len, "'%s' has no valid host", text);
		return false;
	}
	memcpy(host, text, host_len);
	host[host_len] = '\0';
	return parse_port(colon + 1, port, err, err_len);
}

bool config_parse_cidr(const char *text, struct config_cidr *out, char *err, size_t err_len)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t addr_len = slash ? (size_t)(slash - text) : 0;
	uint64_t prefix;

	if (!slash || addr_len == 0 || addr_len >= sizeof(addr)) {
		snprintf(err, err_len, "'%s' is not ADDRESS/PREFIX", text);
		return false;
	}
	memcpy(addr, text, addr_len);
	addr[addr_len] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, out->addr) == 1)
		out->family = AF_INET6;
	else {
		snprintf(err, err_len, "'%s' is not an IPv4 or IPv6 address", addr);
		return false;
	}
	if (!config_parse_u64(slash + 1, 0, out->family == AF_INET ? 32 : 128, &prefix, err,
			      err_len))
		return false;
	out->prefix_len = (uint8_t)prefix;
	return true;
}

bool config_is_numeric_host(const char *host)
{
	char v6[INET6_ADDRSTRLEN + 1];
	uint8_t addr[16];
	size_t len = strcspn(host, "%");

	if (inet_pton(AF_INET, host, addr) == 1)
		return true;
	if (len >= sizeof(v6))
		return false;
	memcpy(v6, host, len);
	v6[len] = '\0';
	return inet_pton(AF_INET6, v6, addr) == 1;
}

bool config_parse_ifname(const char *text, char *err, size_t err_len)
{
	size_t len = strlen(text);

	/* IFNAMSIZ is 16 including the NUL. */
	if (len == 0 || len > 15 || strpbrk(text, "/: \t\n") || strcmp(text, ".") == 0 ||
	    strcmp(text, "..") == 0) {
		snprintf(err, err_len, "'%s' is not a valid interface name (1-15 characters)", text);
		return false;
	}
	/* The kernel would take "tap%d" as a pattern and pick the name itself. */
	if (strchr(text, '%')) {
		snprintf(err, err_len, "'%s': an interface name here may not contain '%%'", text);
		return false;
	}
	return true;
}
