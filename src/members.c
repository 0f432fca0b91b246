/* members — parse and look up the members file. See members.h. */
#include "members.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"

struct line {
	const char *p;
	size_t len;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next whitespace-separated word of *l, consuming it; len 0 if none. */
static struct line next_word(struct line *l)
{
	struct line w;

	while (l->len > 0 && is_blank(*l->p)) {
		l->p++;
		l->len--;
	}
	w.p = l->p;
	w.len = 0;
	while (w.len < l->len && !is_blank(l->p[w.len]))
		w.len++;
	l->p += w.len;
	l->len -= w.len;
	return w;
}

static bool name_valid(struct line w)
{
	if (w.len > MEMBERS_NAME_MAX)
		return false;
	for (size_t i = 0; i < w.len; i++)
		if (w.p[i] < 0x21 || w.p[i] > 0x7e)
			return false;
	return true;
}

static int parse_line(struct line l, struct member *m, bool *has_member, char *err,
		      size_t err_len, unsigned lineno)
{
	const char *hash = memchr(l.p, '#', l.len);
	struct line key_word, name_word, extra;

	if (hash)
		l.len = (size_t)(hash - l.p);
	key_word = next_word(&l);
	*has_member = key_word.len > 0;
	if (!*has_member)
		return 0;
	if (!key_from_base64(m->pub, key_word.p, key_word.len)) {
		snprintf(err, err_len, "line %u: bad key '%.*s' (want 44 base64 characters)",
			 lineno, (int)(key_word.len > 60 ? 60 : key_word.len), key_word.p);
		return -EINVAL;
	}
	name_word = next_word(&l);
	if (!name_valid(name_word)) {
		snprintf(err, err_len, "line %u: bad name (at most %d printable characters)",
			 lineno, MEMBERS_NAME_MAX);
		return -EINVAL;
	}
	memcpy(m->name, name_word.p, name_word.len);
	m->name[name_word.len] = '\0';
	extra = next_word(&l);
	if (extra.len > 0) {
		snprintf(err, err_len, "line %u: unexpected '%.*s' after the name", lineno,
			 (int)(extra.len > 60 ? 60 : extra.len), extra.p);
		return -EINVAL;
	}
	return 0;
}

static int compare_members(const void *a, const void *b)
{
	return memcmp(((const struct member *)a)->pub, ((const struct member *)b)->pub,
		      NOISE_KEY_LEN);
}

static int check_duplicates(const struct members *m, char *err, size_t err_len)
{
	for (uint32_t i = 1; i < m->count; i++) {
		if (memcmp(m->list[i - 1].pub, m->list[i].pub, NOISE_KEY_LEN) == 0) {
			char b64[KEY_BASE64_LEN + 1];

			const struct member *a = &m->list[i - 1], *b = &m->list[i];

			key_to_base64(b64, b->pub);
			snprintf(err, err_len, "line %u: key %s is listed twice (also on line %u)",
				 a->line > b->line ? a->line : b->line, b64,
				 a->line > b->line ? b->line : a->line);
			return -EINVAL;
		}
	}
	return 0;
}

struct mac_of {
	uint8_t mac[6];
	uint32_t member;
};

static int compare_macs(const void *a, const void *b)
{
	return memcmp(((const struct mac_of *)a)->mac, ((const struct mac_of *)b)->mac, 6);
}

int members_check_macs(const struct members *m, members_mac_fn derive, char *err, size_t err_len)
{
	struct mac_of *macs;
	int ret = 0;

	if (m->count < 2)
		return 0;
	macs = calloc(m->count, sizeof(*macs));
	if (!macs) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < m->count; i++) {
		derive(macs[i].mac, m->list[i].pub);
		macs[i].member = i;
	}
	qsort(macs, m->count, sizeof(*macs), compare_macs);
	for (uint32_t i = 1; i < m->count && ret == 0; i++) {
		const struct member *a = &m->list[macs[i - 1].member];
		const struct member *b = &m->list[macs[i].member];
		const uint8_t *x = macs[i].mac;

		if (memcmp(macs[i - 1].mac, x, 6) != 0)
			continue;
		if (a->line > b->line) {
			const struct member *t = a;

			a = b;
			b = t;
		}
		snprintf(err, err_len,
			 "line %u: this key's TAP MAC %02x:%02x:%02x:%02x:%02x:%02x is also line "
			 "%u's: give one of them a new key",
			 b->line, x[0], x[1], x[2], x[3], x[4], x[5], a->line);
		ret = -EINVAL;
	}
	free(macs);
	return ret;
}

static uint32_t count_lines(const char *text, size_t len)
{
	uint32_t n = 1;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n;
}

int members_parse(struct members *out, const char *text, size_t len, char *err, size_t err_len)
{
	uint32_t cap = count_lines(text, len);
	unsigned lineno = 0;
	size_t pos = 0;

	out->list = NULL;
	out->count = 0;
	if (cap > MEMBERS_MAX)
		cap = MEMBERS_MAX;
	out->list = calloc(cap, sizeof(*out->list));
	if (!out->list) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		struct line l = { text + pos, nl ? (size_t)(nl - (text + pos)) : len - pos };
		struct member m;
		bool has_member;
		int ret;

		lineno++;
		pos += l.len + (nl ? 1 : 0);
		if (l.len > MEMBERS_LINE_MAX) {
			snprintf(err, err_len, "line %u: longer than %u characters", lineno,
				 MEMBERS_LINE_MAX);
			return -EINVAL;
		}
		if (memchr(l.p, '\0', l.len)) {
			snprintf(err, err_len, "line %u: contains a NUL byte", lineno);
			return -EINVAL;
		}
		ret = parse_line(l, &m, &has_member, err, err_len, lineno);
		if (ret < 0)
			return ret;
		if (!has_member)
			continue;
		if (out->count == cap) {
			snprintf(err, err_len, "more than %u members", MEMBERS_MAX);
			return -E2BIG;
		}
		m.line = lineno;
		out->list[out->count++] = m;
	}
	qsort(out->list, out->count, sizeof(*out->list), compare_members);
	if (check_duplicates(out, err, err_len) < 0)
		return -EINVAL;
	return members_check_macs(out, key_derive_mac, err, err_len);
}

const struct member *members_find(const struct members *m, const uint8_t pub[NOISE_KEY_LEN])
{
	struct member probe = { 0 };

	if (m->count == 0)
		return NULL;
	memcpy(probe.pub, pub, NOISE_KEY_LEN);
	return bsearch(&probe, m->list, m->count, sizeof(*m->list), compare_members);
}

void members_free(struct members *m)
{
	free(m->list);
	m->list = NULL;
	m->count = 0;
}
