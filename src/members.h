/*
 * members — who may join: the switch's members file. Pure parse and lookup.
 *
 * Format, one member per line:
 *     BASE64-PUBLIC-KEY [NAME]
 * '#' starts a comment that runs to the end of the line; blank lines are
 * ignored. NAME is one word of at most MEMBERS_NAME_MAX printable characters;
 * a member without a name is shown by the start of its key. A key listed
 * twice, a bad key, a bad name or anything after the name is an error naming
 * the line, and the whole file is refused (a reload then keeps the old list).
 * So are two keys that give the same TAP MAC address (key_derive_mac): the
 * switch pins each member's own MAC to its port, and a member whose key was
 * searched for that (~2^46 tries) could otherwise draw the other's traffic.
 */
#ifndef VSWITCH_MEMBERS_H
#define VSWITCH_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "noise.h"

#define MEMBERS_NAME_MAX 32
#define MEMBERS_MAX 65536u
#define MEMBERS_LINE_MAX 1024u

struct member {
	uint8_t pub[NOISE_KEY_LEN];
	char name[MEMBERS_NAME_MAX + 1];
	uint32_t line; /* where the file lists it */
};

struct members {
	struct member *list; /* sorted by key */
	uint32_t count;
};

/* Parse text into out (which the caller frees with members_free, also on
 * error). Returns 0, or -EINVAL with a one-line reason in err ("line 3: bad
 * key 'abc'"), or -ENOMEM, or -E2BIG past MEMBERS_MAX. */
int members_parse(struct members *out, const char *text, size_t len, char *err, size_t err_len);

/* members_parse's last check, with the MAC derivation as a parameter (tests
 * make collisions with their own): -EINVAL naming both lines if two members'
 * keys derive the same MAC, -ENOMEM, or 0. */
typedef void (*members_mac_fn)(unsigned char mac[6], const unsigned char pub[NOISE_KEY_LEN]);
int members_check_macs(const struct members *m, members_mac_fn derive, char *err, size_t err_len);

/* The member with this key, or NULL. O(log n). */
const struct member *members_find(const struct members *m, const uint8_t pub[NOISE_KEY_LEN]);

void members_free(struct members *m);

#endif
