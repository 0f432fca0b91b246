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

/* The member with this key, or NULL. O(log n). */
const struct member *members_find(const struct members *m, const uint8_t pub[NOISE_KEY_LEN]);

void members_free(struct members *m);

#endif
