/*
 * libFuzzer target for members.c: parse the input as a members file, then
 * look up every member found (each must be found, under its own key) and a
 * key that was not listed.
 */
#include "fuzz.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "members.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct members m;
	char err[128];
	char *text = malloc(size ? size : 1);
	int ret;

	if (!text)
		return 0;
	/* Exact size and no NUL terminator: the parser must stop at size. */
	memcpy(text, data, size);
	err[0] = '\0';
	ret = members_parse(&m, text, size, err, sizeof(err));
	if (ret != 0 && ret != -EINVAL && ret != -ENOMEM && ret != -E2BIG)
		abort();
	if (ret != 0 && (err[0] == '\0' || !memchr(err, '\0', sizeof(err))))
		abort();
	if (ret == 0) {
		uint8_t probe[NOISE_KEY_LEN];

		if (m.count > MEMBERS_MAX)
			abort();
		for (uint32_t i = 0; i < m.count; i++) {
			const struct member *found = members_find(&m, m.list[i].pub);

			if (found != &m.list[i])
				abort(); /* keys are unique, so exactly this one */
			if (strlen(m.list[i].name) > MEMBERS_NAME_MAX)
				abort();
			if (i > 0 && memcmp(m.list[i - 1].pub, m.list[i].pub, NOISE_KEY_LEN) >= 0)
				abort();
		}
		/* A key one bit away from the first member's is not a member unless listed. */
		if (m.count > 0) {
			memcpy(probe, m.list[0].pub, NOISE_KEY_LEN);
			probe[NOISE_KEY_LEN - 1] ^= 1;
			const struct member *found = members_find(&m, probe);

			if (found && memcmp(found->pub, probe, NOISE_KEY_LEN) != 0)
				abort();
		}
	}
	members_free(&m);
	free(text);
	return 0;
}
