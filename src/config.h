/*
 * config — parsing of command-line values. Pure: strings in, values or a
 * one-line reason out. The daemons turn a false return into
 * "vport: --mtu: '99999' is not a number between 576 and 65000" and exit 1.
 */
#ifndef VSWITCH_CONFIG_H
#define VSWITCH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_HOST_MAX 255

/* HOST:PORT, [IPV6]:PORT, or (if allow_bare_port) PORT alone. host receives
 * the host without brackets ("" for a bare port). */
bool config_parse_hostport(const char *text, bool allow_bare_port, char host[CONFIG_HOST_MAX + 1],
			   uint16_t *port, char *err, size_t err_len);

/* A numeric IPv4 or IPv6 address (an IPv6 one may name its zone: fe80::1%eth0),
 * not a name to look up. */
bool config_is_numeric_host(const char *host);

struct config_cidr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* 4 bytes used for IPv4 */
	uint8_t prefix_len;
};
/* 10.0.0.1/24 or fd00::1/64. The prefix is required. */
bool config_parse_cidr(const char *text, struct config_cidr *out, char *err, size_t err_len);

/* A decimal integer in [min, max], nothing else. */
bool config_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out, char *err,
		      size_t err_len);

/* A TAP interface name: 1 to 15 characters, no '/', whitespace or ':'. */
bool config_parse_ifname(const char *text, char *err, size_t err_len);

#endif
