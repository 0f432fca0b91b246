/*
 * buf — a read-only cursor over received bytes and little-endian put helpers.
 * Pure. Every read checks the bytes remaining first; a failed read sets the
 * cursor's error flag and returns zero, so a decoder can read a whole message
 * and check ok once, as n2n's wire.c cursors do.
 */
#ifndef VSWITCH_BUF_H
#define VSWITCH_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
	const uint8_t *p;
	size_t left;
	bool failed;
};

static inline struct cursor cursor_init(const uint8_t *p, size_t len)
{
	return (struct cursor){ .p = p, .left = len, .failed = false };
}

/* Returns a pointer to the next n bytes and advances, or NULL if fewer remain. */
static inline const uint8_t *cursor_take(struct cursor *c, size_t n)
{
	const uint8_t *at = c->p;

	if (c->failed || n > c->left) {
		c->failed = true;
		return NULL;
	}
	c->p += n;
	c->left -= n;
	return at;
}

static inline uint8_t cursor_u8(struct cursor *c)
{
	const uint8_t *b = cursor_take(c, 1);

	return b ? b[0] : 0;
}

static inline uint16_t cursor_u16le(struct cursor *c)
{
	const uint8_t *b = cursor_take(c, 2);

	return b ? (uint16_t)(b[0] | b[1] << 8) : 0;
}

static inline uint32_t cursor_u32le(struct cursor *c)
{
	const uint8_t *b = cursor_take(c, 4);

	return b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
			   (uint32_t)b[3] << 24
		 : 0;
}

static inline uint64_t cursor_u64le(struct cursor *c)
{
	uint64_t lo = cursor_u32le(c);
	uint64_t hi = cursor_u32le(c);

	return lo | hi << 32;
}

/* True when every read succeeded and nothing is left over. */
static inline bool cursor_done(const struct cursor *c)
{
	return !c->failed && c->left == 0;
}

static inline void put_u16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void put_u64le(uint8_t *p, uint64_t v)
{
	put_u32le(p, (uint32_t)v);
	put_u32le(p + 4, (uint32_t)(v >> 32));
}

#endif
