/*
 * Unit tests for mactable.c: numbered cases for every limit at -1, exact and
 * +1, then a randomized run against a deliberately naive reference (a plain
 * array searched linearly) in the spirit of WireGuard's allowedips selftest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "mactable.h"

#define AGE 1000u
#define T0 5000u /* not zero, so "last seen at 0" bugs show */
#define CAP 4u   /* per port */
#define TOTAL 16u
#define PORTS 4u

static const uint8_t test_key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t mac_bcast[FRAME_MAC_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_ipv4_mcast[FRAME_MAC_LEN] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
static const uint8_t mac_ipv6_mcast[FRAME_MAC_LEN] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };

/* A locally administered unicast MAC numbered n. */
static const uint8_t *mac_n(uint8_t out[FRAME_MAC_LEN], uint32_t n)
{
	out[0] = 0x02;
	out[1] = 0x00;
	out[2] = (uint8_t)(n >> 24);
	out[3] = (uint8_t)(n >> 16);
	out[4] = (uint8_t)(n >> 8);
	out[5] = (uint8_t)n;
	return out;
}

static struct mactable *new_table(uint32_t max_total, uint32_t max_per_port, uint32_t max_ports)
{
	struct mactable *t = mactable_new(max_total, max_per_port, max_ports, AGE, test_key);

	assert_non_null(t);
	return t;
}

static enum mactable_learn_result learn_n(struct mactable *t, uint32_t n, uint32_t port,
					  uint64_t now)
{
	uint8_t mac[FRAME_MAC_LEN];

	return mactable_learn(t, mac_n(mac, n), port, now);
}

static uint32_t lookup_n(const struct mactable *t, uint32_t n, uint64_t now)
{
	uint8_t mac[FRAME_MAC_LEN];

	return mactable_lookup(t, mac_n(mac, n), now);
}

static struct mactable_stats stats_of(const struct mactable *t)
{
	struct mactable_stats s;

	mactable_get_stats(t, &s);
	return s;
}

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void test_new_rejects_bad_limits(void **state)
{
	(void)state;
	assert_null(mactable_new(0, CAP, PORTS, AGE, test_key));
	assert_null(mactable_new(TOTAL, 0, PORTS, AGE, test_key));
	assert_null(mactable_new(TOTAL, CAP, 0, AGE, test_key));
	assert_null(mactable_new(TOTAL, CAP, PORTS, 0, test_key));
	assert_null(mactable_new(UINT32_MAX, CAP, PORTS, AGE, test_key));
	mactable_free(NULL);
	mactable_free(new_table(1, 1, 1));
}

static void test_learn_and_lookup(void **state)
{
	struct mactable *t = new_table(TOTAL, CAP, PORTS);
	struct mactable_stats s;

	(void)state;
	assert_int_equal(lookup_n(t, 1, T0), MACTABLE_NO_PORT);
	assert_int_equal(learn_n(t, 1, 2, T0), MACTABLE_LEARNED);
	assert_int_equal(lookup_n(t, 1, T0), 2);
	assert_int_equal(learn_n(t, 1, 2, T0 + 1), MACTABLE_REFRESHED);
	assert_int_equal(learn_n(t, 2, 3, T0 + 1), MACTABLE_LEARNED);
	assert_int_equal(lookup_n(t, 2, T0 + 1), 3);
	assert_int_equal(lookup_n(t, 3, T0 + 1), MACTABLE_NO_PORT);
	assert_int_equal(mactable_port_count(t, 2), 1);
	assert_int_equal(mactable_port_count(t, 3), 1);
	assert_int_equal(mactable_port_count(t, 0), 0);

	s = stats_of(t);
	assert_int_equal(s.learned, 2);
	assert_int_equal(s.entries, 2);
	assert_int_equal(s.moved, 0);
	assert_int_equal(s.aged, 0);
	mactable_free(t);
}

struct age_case {
	int id;
	uint64_t learned_at;
	uint64_t refreshed_at; /* 0: not refreshed */
	uint64_t looked_up_at;
	uint32_t want_port;
};

static const struct age_case age_cases[] = {
	{ 1, T0, 0, T0, 1 },
	{ 2, T0, 0, T0 + AGE - 1, 1 },
	{ 3, T0, 0, T0 + AGE, MACTABLE_NO_PORT },
	{ 4, T0, 0, T0 + AGE + 1, MACTABLE_NO_PORT },
	{ 5, T0, T0 + AGE - 1, T0 + AGE, 1 },
	{ 6, T0, T0 + AGE - 1, T0 + 2 * AGE - 2, 1 },
	{ 7, T0, T0 + AGE - 1, T0 + 2 * AGE - 1, MACTABLE_NO_PORT },
	/* A clock that went backwards does not age anything. */
	{ 8, T0, 0, T0 - 1, 1 },
	{ 9, 0, 0, AGE - 1, 1 },
	{ 10, 0, 0, AGE, MACTABLE_NO_PORT },
};

static void test_aging(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(age_cases) / sizeof(age_cases[0]); i++) {
		const struct age_case *c = &age_cases[i];
		struct mactable *t = new_table(TOTAL, CAP, PORTS);
		uint32_t got;

		assert_int_equal(learn_n(t, 7, 1, c->learned_at), MACTABLE_LEARNED);
		if (c->refreshed_at)
			assert_int_equal(learn_n(t, 7, 1, c->refreshed_at), MACTABLE_REFRESHED);
		got = lookup_n(t, 7, c->looked_up_at);
		mactable_free(t);
		if (got != c->want_port)
			fail_msg("age case %d: got port %u, want %u", c->id, got, c->want_port);
	}
}

static void test_expire(void **state)
{
	struct mactable *t = new_table(TOTAL, CAP, PORTS);

	(void)state;
	assert_int_equal(learn_n(t, 1, 0, T0), MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, 2, 0, T0 + 10), MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, 3, 1, T0 + 20), MACTABLE_LEARNED);

	assert_int_equal(mactable_expire(t, T0 + AGE - 1), 0);
	assert_int_equal(mactable_expire(t, T0 + AGE), 1);
	assert_int_equal(lookup_n(t, 1, T0), MACTABLE_NO_PORT); /* gone, not just aged */
	assert_int_equal(mactable_port_count(t, 0), 1);
	assert_int_equal(mactable_expire(t, T0 + AGE), 0);
	assert_int_equal(mactable_expire(t, T0 + AGE + 20), 2);
	assert_int_equal(mactable_port_count(t, 0), 0);
	assert_int_equal(mactable_port_count(t, 1), 0);
	assert_int_equal(stats_of(t).aged, 3);
	assert_int_equal(stats_of(t).entries, 0);
	assert_int_equal(mactable_expire(t, T0 + 10 * AGE), 0);

	/* Expired slots are reusable. */
	for (uint32_t n = 0; n < TOTAL; n++)
		assert_int_equal(learn_n(t, 100 + n, n % PORTS, T0 + 2 * AGE), MACTABLE_LEARNED);
	assert_int_equal(mactable_expire(t, T0 + 3 * AGE), TOTAL);
	mactable_free(t);
}

static void test_move(void **state)
{
	struct mactable *t = new_table(TOTAL, CAP, PORTS);
	struct mactable_stats s;

	(void)state;
	assert_int_equal(learn_n(t, 1, 0, T0), MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, 1, 1, T0 + 1), MACTABLE_MOVED);
	assert_int_equal(lookup_n(t, 1, T0 + 1), 1);
	assert_int_equal(mactable_port_count(t, 0), 0);
	assert_int_equal(mactable_port_count(t, 1), 1);
	/* The move refreshed it. */
	assert_int_equal(lookup_n(t, 1, T0 + AGE), 1);

	/* A move to a full port is refused and leaves the entry as it was. */
	for (uint32_t n = 0; n < CAP; n++)
		assert_int_equal(learn_n(t, 10 + n, 2, T0 + 2), MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, 1, 2, T0 + 3), MACTABLE_PORT_FULL);
	assert_int_equal(lookup_n(t, 1, T0 + 3), 1);
	assert_int_equal(mactable_port_count(t, 1), 1);
	assert_int_equal(mactable_port_count(t, 2), CAP);
	assert_int_equal(lookup_n(t, 1, T0 + 1 + AGE), MACTABLE_NO_PORT);

	s = stats_of(t);
	assert_int_equal(s.moved, 1);
	assert_int_equal(s.learned, 1 + CAP);
	assert_int_equal(s.refused_port_full, 1);
	assert_int_equal(s.entries, 1 + CAP);
	mactable_free(t);
}

struct cap_case {
	int id;
	uint32_t learned;         /* distinct MACs learned on port 0 */
	uint32_t want_count;      /* port 0's count afterwards */
	uint32_t want_refused;    /* refused_port_full */
	enum mactable_learn_result last; /* result of the last learn */
};

static const struct cap_case cap_cases[] = {
	{ 1, CAP - 1, CAP - 1, 0, MACTABLE_LEARNED },
	{ 2, CAP, CAP, 0, MACTABLE_LEARNED },
	{ 3, CAP + 1, CAP, 1, MACTABLE_PORT_FULL },
	{ 4, CAP + 3, CAP, 3, MACTABLE_PORT_FULL },
};

static void test_port_cap(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cap_cases) / sizeof(cap_cases[0]); i++) {
		const struct cap_case *c = &cap_cases[i];
		struct mactable *t = new_table(TOTAL, CAP, PORTS);
		enum mactable_learn_result last = MACTABLE_LEARNED;

		for (uint32_t n = 0; n < c->learned; n++)
			last = learn_n(t, n, 0, T0);
		if (last != c->last || mactable_port_count(t, 0) != c->want_count ||
		    stats_of(t).refused_port_full != c->want_refused)
			fail_msg("cap case %d: last %d count %u refused %u", c->id, (int)last,
				 mactable_port_count(t, 0),
				 (unsigned)stats_of(t).refused_port_full);
		/* A full port still refreshes what it has; other ports still learn. */
		assert_int_equal(learn_n(t, 0, 0, T0 + 1), MACTABLE_REFRESHED);
		assert_int_equal(learn_n(t, 1000, 1, T0 + 1), MACTABLE_LEARNED);
		mactable_free(t);
	}
}

static void test_total_cap(void **state)
{
	const uint32_t total = 6;
	struct mactable *t = new_table(total, total, PORTS);

	(void)state;
	for (uint32_t n = 0; n < total - 1; n++)
		assert_int_equal(learn_n(t, n, n % 2, T0), MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, total - 1, 3, T0), MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, total, 3, T0), MACTABLE_TABLE_FULL);
	assert_int_equal(learn_n(t, total + 1, 2, T0), MACTABLE_TABLE_FULL);
	assert_int_equal(stats_of(t).refused_table_full, 2);
	assert_int_equal(stats_of(t).entries, total);
	/* Refreshes and moves need no new slot. */
	assert_int_equal(learn_n(t, 0, 0, T0 + 1), MACTABLE_REFRESHED);
	assert_int_equal(learn_n(t, 0, 2, T0 + 1), MACTABLE_MOVED);
	/* An aged entry still holds its slot until expired. */
	assert_int_equal(learn_n(t, total, 3, T0 + AGE), MACTABLE_TABLE_FULL);
	assert_int_equal(mactable_expire(t, T0 + AGE), total - 1);
	assert_int_equal(learn_n(t, total, 3, T0 + AGE), MACTABLE_LEARNED);
	mactable_free(t);
}

static void test_flush_port(void **state)
{
	struct mactable *t = new_table(TOTAL, CAP, PORTS);

	(void)state;
	for (uint32_t n = 0; n < 3; n++)
		assert_int_equal(learn_n(t, n, 1, T0), MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, 10, 2, T0), MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, 11, 1, T0 - AGE), MACTABLE_LEARNED); /* aged, not expired */

	assert_int_equal(mactable_flush_port(t, 0), 0);
	assert_int_equal(mactable_flush_port(t, PORTS), 0);
	assert_int_equal(mactable_flush_port(t, UINT32_MAX), 0);
	assert_int_equal(mactable_flush_port(t, 1), 4);
	assert_int_equal(mactable_port_count(t, 1), 0);
	assert_int_equal(lookup_n(t, 0, T0), MACTABLE_NO_PORT);
	assert_int_equal(lookup_n(t, 10, T0), 2);
	assert_int_equal(stats_of(t).entries, 1);
	assert_int_equal(stats_of(t).aged, 0);
	assert_int_equal(mactable_flush_port(t, 1), 0);
	for (uint32_t n = 0; n < CAP; n++)
		assert_int_equal(learn_n(t, n, 1, T0), MACTABLE_LEARNED);
	mactable_free(t);
}

static void test_bad_port(void **state)
{
	struct mactable *t = new_table(TOTAL, CAP, PORTS);

	(void)state;
	assert_int_equal(learn_n(t, 1, PORTS - 1, T0), MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, 2, PORTS, T0), MACTABLE_PORT_FULL);
	assert_int_equal(learn_n(t, 3, UINT32_MAX, T0), MACTABLE_PORT_FULL);
	/* Not even a move of a known MAC. */
	assert_int_equal(learn_n(t, 1, PORTS, T0), MACTABLE_PORT_FULL);
	assert_int_equal(lookup_n(t, 1, T0), PORTS - 1);
	assert_int_equal(mactable_port_count(t, PORTS), 0);
	assert_int_equal(mactable_port_count(t, UINT32_MAX), 0);
	assert_int_equal(stats_of(t).refused_port_full, 3);
	assert_int_equal(stats_of(t).entries, 1);
	mactable_free(t);
}

static bool count_pinned(const uint8_t mac[FRAME_MAC_LEN], uint32_t port, uint64_t last_seen_ms,
			 bool pinned, void *arg)
{
	(void)mac, (void)port, (void)last_seen_ms;
	*(uint32_t *)arg += pinned;
	return true;
}

/* A pinned MAC (a connected member's own) stays on its port: learning it
 * elsewhere is refused, it never ages, pinning moves it from wherever it was
 * learned (not pinned), pinning it from another port is refused, and flushing
 * the port removes it. */
static void test_pin(void **state)
{
	uint8_t mac[FRAME_MAC_LEN];
	struct mactable *t = new_table(TOTAL, CAP, PORTS);
	uint32_t pinned = 0;

	(void)state;
	mac_n(mac, 7);
	/* An impostor on port 2 was first; the owner on port 1 pins it back. */
	assert_int_equal(learn_n(t, 7, 2, T0), MACTABLE_LEARNED);
	assert_int_equal(mactable_pin(t, mac, 1, T0 + 1), MACTABLE_MOVED);
	assert_int_equal(mactable_port_count(t, 2), 0);
	assert_int_equal(mactable_port_count(t, 1), 1);
	assert_int_equal(learn_n(t, 7, 2, T0 + 2), MACTABLE_PINNED);
	assert_int_equal(lookup_n(t, 7, T0 + 2), 1);
	assert_int_equal(learn_n(t, 7, 1, T0 + 3), MACTABLE_REFRESHED);
	/* Never aged, by lookup or by expire. */
	assert_int_equal(lookup_n(t, 7, T0 + 10 * AGE), 1);
	assert_int_equal(mactable_expire(t, T0 + 10 * AGE), 0);
	assert_int_equal(learn_n(t, 7, 3, T0 + 10 * AGE), MACTABLE_PINNED);
	assert_int_equal(stats_of(t).entries, 1);
	assert_int_equal(mactable_foreach_from(t, 0, count_pinned, &pinned), MACTABLE_WALK_END);
	assert_int_equal(pinned, 1);
	/* Another port's pin is refused: a key made to derive the same MAC
	 * cannot take a member's traffic over. */
	assert_int_equal(mactable_pin(t, mac, 3, T0 + 10 * AGE), MACTABLE_PINNED);
	assert_int_equal(lookup_n(t, 7, T0 + 10 * AGE), 1);
	assert_int_equal(mactable_pin(t, mac, 1, T0 + 10 * AGE), MACTABLE_REFRESHED);
	/* Gone with its port; then anyone may learn it. */
	assert_int_equal(mactable_flush_port(t, 1), 1);
	assert_int_equal(lookup_n(t, 7, T0 + 10 * AGE), MACTABLE_NO_PORT);
	assert_int_equal(learn_n(t, 7, 2, T0 + 10 * AGE), MACTABLE_LEARNED);
	mactable_free(t);
}

/* A full table makes room for a pin: the unpinned entry seen longest ago
 * goes; with every entry pinned, the pin is refused. */
static void test_pin_evicts(void **state)
{
	uint8_t mac[FRAME_MAC_LEN];
	struct mactable *t = new_table(8, CAP, PORTS);

	(void)state;
	for (uint32_t n = 0; n < 8; n++) /* ports 0 and 1, entry 3 the oldest */
		assert_int_equal(learn_n(t, 100 + n, n / 4, T0 + (n == 3 ? 0 : 10 + n)),
				 MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, 7, 2, T0 + 20), MACTABLE_TABLE_FULL);
	assert_int_equal(mactable_pin(t, mac_n(mac, 7), 2, T0 + 20), MACTABLE_LEARNED);
	assert_int_equal(lookup_n(t, 7, T0 + 20), 2);
	assert_int_equal(lookup_n(t, 103, T0 + 20), MACTABLE_NO_PORT);
	assert_int_equal(lookup_n(t, 102, T0 + 20), 0);
	assert_int_equal(stats_of(t).evicted, 1);
	assert_int_equal(stats_of(t).entries, 8);
	assert_int_equal(mactable_port_count(t, 0), 3);
	/* Pin the rest: then nothing is left to evict. */
	for (uint32_t n = 0; n < 8; n++)
		if (n != 3)
			mactable_pin(t, mac_n(mac, 100 + n), n / 4, T0 + 30);
	assert_int_equal(mactable_pin(t, mac_n(mac, 8), 3, T0 + 30), MACTABLE_TABLE_FULL);
	assert_int_equal(stats_of(t).evicted, 1);
	mactable_free(t);
}

/* A pin refused for a full port or table changes nothing, an old pin included. */
static void test_pin_refused(void **state)
{
	uint8_t mac[FRAME_MAC_LEN];
	struct mactable *t = new_table(TOTAL, CAP, PORTS);

	(void)state;
	for (uint32_t n = 0; n < CAP; n++)
		assert_int_equal(learn_n(t, 100 + n, 2, T0), MACTABLE_LEARNED);
	assert_int_equal(mactable_pin(t, mac_n(mac, 7), 2, T0), MACTABLE_PORT_FULL);
	assert_int_equal(lookup_n(t, 7, T0), MACTABLE_NO_PORT);
	assert_int_equal(mactable_pin(t, mac, 1, T0), MACTABLE_LEARNED);
	assert_int_equal(mactable_pin(t, mac, 2, T0), MACTABLE_PINNED);
	assert_int_equal(learn_n(t, 7, 3, T0), MACTABLE_PINNED);
	assert_int_equal(lookup_n(t, 7, T0 + 10 * AGE), 1);
	assert_int_equal(mactable_pin(t, mac, PORTS, T0), MACTABLE_PORT_FULL);
	assert_int_equal(learn_n(t, 7, 3, T0), MACTABLE_PINNED);
	mactable_free(t);
}

static void test_relearn_aged(void **state)
{
	struct mactable *t = new_table(TOTAL, CAP, PORTS);
	struct mactable_stats s;

	(void)state;
	assert_int_equal(learn_n(t, 1, 0, T0), MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, 1, 0, T0 + AGE), MACTABLE_LEARNED);
	s = stats_of(t);
	assert_int_equal(s.learned, 2);
	assert_int_equal(s.aged, 1);
	assert_int_equal(s.entries, 1);
	assert_int_equal(mactable_port_count(t, 0), 1);

	/* Aged, then seen on another port: learned there, not moved. */
	assert_int_equal(learn_n(t, 1, 1, T0 + 2 * AGE), MACTABLE_LEARNED);
	assert_int_equal(mactable_port_count(t, 0), 0);
	assert_int_equal(mactable_port_count(t, 1), 1);
	assert_int_equal(lookup_n(t, 1, T0 + 2 * AGE), 1);
	s = stats_of(t);
	assert_int_equal(s.moved, 0);
	assert_int_equal(s.aged, 2);
	assert_int_equal(s.learned, 3);

	/* Aged, then seen on a full port: refused, stays (aged) where it was. */
	for (uint32_t n = 0; n < CAP; n++)
		assert_int_equal(learn_n(t, 10 + n, 2, T0 + 3 * AGE), MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, 1, 2, T0 + 3 * AGE), MACTABLE_PORT_FULL);
	assert_int_equal(mactable_port_count(t, 1), 1);
	assert_int_equal(lookup_n(t, 1, T0 + 3 * AGE), MACTABLE_NO_PORT);
	assert_int_equal(mactable_expire(t, T0 + 3 * AGE), 1);
	mactable_free(t);
}

struct fwd_case {
	int id;
	const uint8_t *dst; /* NULL: use MAC number dst_n */
	uint32_t dst_n;
	uint32_t in_port;
	uint64_t now;
	enum mactable_fwd want;
	uint32_t want_port;
};

/* MAC 1 lives on port 0, MAC 2 on port 1, both learned at T0. */
static const struct fwd_case fwd_cases[] = {
	{ 1, NULL, 2, 0, T0, FWD_UNICAST, 1 },
	{ 2, NULL, 1, 1, T0, FWD_UNICAST, 0 },
	{ 3, NULL, 1, 3, T0, FWD_UNICAST, 0 },
	{ 4, NULL, 1, 0, T0, FWD_FILTER, MACTABLE_NO_PORT },
	{ 5, NULL, 2, 1, T0, FWD_FILTER, MACTABLE_NO_PORT },
	{ 6, NULL, 3, 0, T0, FWD_FLOOD, MACTABLE_NO_PORT },
	{ 7, mac_bcast, 0, 0, T0, FWD_FLOOD, MACTABLE_NO_PORT },
	{ 8, mac_ipv4_mcast, 0, 0, T0, FWD_FLOOD, MACTABLE_NO_PORT },
	{ 9, mac_ipv6_mcast, 0, 1, T0, FWD_FLOOD, MACTABLE_NO_PORT },
	{ 10, NULL, 2, 0, T0 + AGE - 1, FWD_UNICAST, 1 },
	{ 11, NULL, 2, 0, T0 + AGE, FWD_FLOOD, MACTABLE_NO_PORT },
	{ 12, NULL, 1, 0, T0 + AGE, FWD_FLOOD, MACTABLE_NO_PORT },
};

static void test_forward(void **state)
{
	struct mactable *t = new_table(TOTAL, CAP, PORTS);
	uint8_t mc_src[FRAME_MAC_LEN];

	(void)state;
	assert_int_equal(learn_n(t, 1, 0, T0), MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, 2, 1, T0), MACTABLE_LEARNED);
	/* Even if a group address got learned somehow, it still floods. */
	memcpy(mc_src, mac_ipv4_mcast, sizeof(mc_src));
	assert_int_equal(mactable_learn(t, mc_src, 2, T0), MACTABLE_LEARNED);

	for (size_t i = 0; i < sizeof(fwd_cases) / sizeof(fwd_cases[0]); i++) {
		const struct fwd_case *c = &fwd_cases[i];
		uint8_t buf[FRAME_MAC_LEN];
		const uint8_t *dst = c->dst ? c->dst : mac_n(buf, c->dst_n);
		uint32_t out = 12345;
		enum mactable_fwd got = mactable_forward(t, dst, c->in_port, c->now, &out);

		if (got != c->want || out != c->want_port)
			fail_msg("forward case %d: got %d port %u, want %d port %u", c->id, (int)got,
				 out, (int)c->want, c->want_port);
	}
	mactable_free(t);
}

#define VISIT_MAX 64

struct visits {
	uint32_t n;
	uint32_t stop_after; /* 0: never stop */
	uint8_t mac[VISIT_MAX][FRAME_MAC_LEN];
	uint32_t port[VISIT_MAX];
	uint64_t last_seen[VISIT_MAX];
};

static bool record_visit(const uint8_t mac[FRAME_MAC_LEN], uint32_t port, uint64_t last_seen_ms,
			 bool pinned, void *arg)
{
	struct visits *v = arg;

	assert_false(pinned);
	assert_true(v->n < VISIT_MAX);
	memcpy(v->mac[v->n], mac, FRAME_MAC_LEN);
	v->port[v->n] = port;
	v->last_seen[v->n] = last_seen_ms;
	v->n++;
	return v->stop_after == 0 || v->n < v->stop_after;
}

/* Index of mac in v, failing the test if it appears other than once. */
static uint32_t visited_once(const struct visits *v, const uint8_t mac[FRAME_MAC_LEN])
{
	uint32_t found = VISIT_MAX, times = 0;

	for (uint32_t i = 0; i < v->n; i++) {
		if (memcmp(v->mac[i], mac, FRAME_MAC_LEN) == 0) {
			found = i;
			times++;
		}
	}
	assert_int_equal(times, 1);
	return found;
}

static void test_foreach(void **state)
{
	struct mactable *t = new_table(TOTAL, CAP, PORTS);
	struct visits v = { 0 };
	uint8_t mac[FRAME_MAC_LEN];

	(void)state;
	mactable_foreach_from(t, 0, record_visit, &v);
	assert_int_equal(v.n, 0);

	for (uint32_t n = 0; n < 8; n++)
		assert_int_equal(learn_n(t, n, n % PORTS, T0 + n * 100), MACTABLE_LEARNED);
	assert_int_equal(mactable_flush_port(t, 3), 2);      /* MACs 3 and 7 */
	assert_int_equal(mactable_expire(t, T0 + AGE + 100), 2); /* MACs 0 and 1 */
	mactable_foreach_from(t, 0, record_visit, &v);
	assert_int_equal(v.n, 4);
	for (uint32_t n = 2; n < 7; n++) {
		uint32_t i;

		if (n == 3)
			continue;
		i = visited_once(&v, mac_n(mac, n));
		assert_int_equal(v.port[i], n % PORTS);
		assert_int_equal(v.last_seen[i], T0 + n * 100);
	}

	memset(&v, 0, sizeof(v));
	v.stop_after = 2;
	mactable_foreach_from(t, 0, record_visit, &v);
	assert_int_equal(v.n, 2);
	mactable_free(t);
}

/* The status view walks the table a few entries at a time: every step resumes
 * where the last stopped, no entry is visited twice or skipped, and the end is
 * reported once the last slot has been passed, whatever the step size. */
static void test_foreach_in_steps(void **state)
{
	struct mactable *t = new_table(TOTAL, CAP, PORTS);
	uint8_t mac[FRAME_MAC_LEN];

	(void)state;
	for (uint32_t n = 0; n < TOTAL; n++)
		assert_int_equal(learn_n(t, n, n % PORTS, T0), MACTABLE_LEARNED);
	for (uint32_t step = 1; step <= TOTAL + 1; step++) {
		struct visits v = { 0 };
		uint32_t pos = 0, steps = 0;

		do {
			v.stop_after = v.n + step;
			pos = mactable_foreach_from(t, pos, record_visit, &v);
			steps++;
			assert_true(steps <= TOTAL + 1);
		} while (pos != MACTABLE_WALK_END);
		assert_int_equal(v.n, TOTAL);
		for (uint32_t n = 0; n < TOTAL; n++)
			(void)visited_once(&v, mac_n(mac, n));
	}
	mactable_free(t);
}

/* Many entries at once: every one findable, and expiry removes exactly the old. */
static void test_many_entries(void **state)
{
	const uint32_t total = 100000, ports = 100;
	struct mactable *t = new_table(total, total / ports, ports);

	(void)state;
	for (uint32_t n = 0; n < total; n++)
		assert_int_equal(learn_n(t, n, n % ports, T0 + (n & 1)), MACTABLE_LEARNED);
	assert_int_equal(learn_n(t, total, 0, T0), MACTABLE_PORT_FULL);
	for (uint32_t n = 0; n < total; n++)
		assert_int_equal(lookup_n(t, n, T0 + 1), n % ports);
	assert_int_equal(mactable_expire(t, T0 + AGE), total / 2);
	for (uint32_t n = 0; n < total; n++)
		assert_int_equal(lookup_n(t, n, T0 + 1), n & 1 ? n % ports : MACTABLE_NO_PORT);
	assert_int_equal(mactable_expire(t, T0 + AGE + 1), total / 2);
	assert_int_equal(stats_of(t).entries, 0);
	mactable_free(t);
}

/* ---- The naive reference: a plain array searched linearly. ---- */

#define REF_MAX 64

struct ref_entry {
	bool used;
	uint8_t mac[FRAME_MAC_LEN];
	uint32_t port;
	uint64_t last_seen;
};

struct ref_table {
	struct ref_entry e[REF_MAX];
	uint32_t max_total, max_per_port, max_ports;
	struct mactable_stats stats;
};

static struct ref_entry *ref_find(struct ref_table *r, const uint8_t mac[FRAME_MAC_LEN])
{
	for (uint32_t i = 0; i < REF_MAX; i++)
		if (r->e[i].used && memcmp(r->e[i].mac, mac, FRAME_MAC_LEN) == 0)
			return &r->e[i];
	return NULL;
}

static uint32_t ref_count(const struct ref_table *r, uint32_t port)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < REF_MAX; i++)
		n += r->e[i].used && (port == MACTABLE_NO_PORT || r->e[i].port == port);
	return n;
}

static bool ref_aged(const struct ref_entry *e, uint64_t now)
{
	return now >= e->last_seen + AGE;
}

static enum mactable_learn_result ref_learn(struct ref_table *r, const uint8_t mac[FRAME_MAC_LEN],
					    uint32_t port, uint64_t now)
{
	struct ref_entry *e = ref_find(r, mac);
	bool full = port >= r->max_ports || ref_count(r, port) >= r->max_per_port;

	if (port >= r->max_ports || (full && (!e || e->port != port))) {
		r->stats.refused_port_full++;
		return MACTABLE_PORT_FULL;
	}
	if (e && ref_aged(e, now)) {
		e->port = port;
		e->last_seen = now;
		r->stats.aged++;
		r->stats.learned++;
		return MACTABLE_LEARNED;
	}
	if (e) {
		bool moved = e->port != port;

		e->port = port;
		e->last_seen = now;
		r->stats.moved += moved;
		return moved ? MACTABLE_MOVED : MACTABLE_REFRESHED;
	}
	if (ref_count(r, MACTABLE_NO_PORT) >= r->max_total) {
		r->stats.refused_table_full++;
		return MACTABLE_TABLE_FULL;
	}
	for (e = r->e; e->used; e++)
		;
	*e = (struct ref_entry){ .used = true, .port = port, .last_seen = now };
	memcpy(e->mac, mac, FRAME_MAC_LEN);
	r->stats.learned++;
	r->stats.entries++;
	return MACTABLE_LEARNED;
}

static uint32_t ref_lookup(struct ref_table *r, const uint8_t mac[FRAME_MAC_LEN], uint64_t now)
{
	struct ref_entry *e = ref_find(r, mac);

	return e && !ref_aged(e, now) ? e->port : MACTABLE_NO_PORT;
}

static uint32_t ref_remove(struct ref_table *r, bool by_age, uint32_t port, uint64_t now)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < REF_MAX; i++) {
		struct ref_entry *e = &r->e[i];

		if (e->used && (by_age ? ref_aged(e, now) : e->port == port)) {
			e->used = false;
			n++;
		}
	}
	r->stats.entries -= n;
	if (by_age)
		r->stats.aged += n;
	return n;
}

static enum mactable_fwd ref_forward(struct ref_table *r, const uint8_t dst[FRAME_MAC_LEN],
				     uint32_t in_port, uint64_t now, uint32_t *out)
{
	uint32_t port = dst[0] & 1 ? MACTABLE_NO_PORT : ref_lookup(r, dst, now);

	*out = MACTABLE_NO_PORT;
	if (port == MACTABLE_NO_PORT)
		return FWD_FLOOD;
	if (port == in_port)
		return FWD_FILTER;
	*out = port;
	return FWD_UNICAST;
}

/* ---- The randomized run. ---- */

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64: deterministic, so a failure replays from its seed. */
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rng_next(s) % n);
}

struct random_config {
	uint32_t max_total, max_per_port, max_ports, alphabet;
};

static const struct random_config random_configs[] = {
	{ 16, 6, 4, 24 },  /* both limits bite */
	{ 1, 1, 2, 3 },    /* a single slot in two buckets */
	{ 8, 3, 5, 30 },   /* per-port limit bites first */
	{ 40, 40, 3, 60 }, /* only the total limit bites */
	{ REF_MAX, 16, 6, 48 },
};

static void check_same_state(const struct mactable *t, struct ref_table *r, uint64_t now,
			     uint32_t alphabet, const char *where)
{
	struct mactable_stats s = stats_of(t);
	uint8_t mac[FRAME_MAC_LEN];

	if (memcmp(&s, &r->stats, sizeof(s)) != 0)
		fail_msg("%s: stats differ: learned %u/%u moved %u/%u aged %u/%u refused %u/%u "
			 "%u/%u entries %u/%u",
			 where, (unsigned)s.learned, (unsigned)r->stats.learned, (unsigned)s.moved,
			 (unsigned)r->stats.moved, (unsigned)s.aged, (unsigned)r->stats.aged,
			 (unsigned)s.refused_port_full, (unsigned)r->stats.refused_port_full,
			 (unsigned)s.refused_table_full, (unsigned)r->stats.refused_table_full,
			 s.entries, r->stats.entries);
	for (uint32_t p = 0; p <= r->max_ports; p++)
		if (mactable_port_count(t, p) != (p < r->max_ports ? ref_count(r, p) : 0))
			fail_msg("%s: port %u count differs", where, p);
	for (uint32_t n = 0; n < alphabet; n++)
		if (mactable_lookup(t, mac_n(mac, n), now) != ref_lookup(r, mac, now))
			fail_msg("%s: lookup of MAC %u differs", where, n);
}

static void check_same_entries(const struct mactable *t, struct ref_table *r, const char *where)
{
	struct visits v = { 0 };

	mactable_foreach_from(t, 0, record_visit, &v);
	if (v.n != ref_count(r, MACTABLE_NO_PORT))
		fail_msg("%s: foreach visited %u, reference has %u", where, v.n,
			 ref_count(r, MACTABLE_NO_PORT));
	for (uint32_t i = 0; i < REF_MAX; i++) {
		uint32_t k;

		if (!r->e[i].used)
			continue;
		k = visited_once(&v, r->e[i].mac);
		if (v.port[k] != r->e[i].port || v.last_seen[k] != r->e[i].last_seen)
			fail_msg("%s: foreach entry %u differs", where, i);
	}
}

/* One random operation on both tables; fails on any difference. */
static void random_step(struct mactable *t, struct ref_table *r, uint64_t *rng, uint64_t now,
			uint32_t alphabet, const char *where)
{
	uint32_t op = rng_below(rng, 100), port = rng_below(rng, r->max_ports + 1);
	uint8_t mac[FRAME_MAC_LEN];
	uint32_t out, ref_out;

	mac_n(mac, rng_below(rng, alphabet));
	if (op < 60) {
		if (mactable_learn(t, mac, port, now) != ref_learn(r, mac, port, now))
			fail_msg("%s: learn result differs", where);
	} else if (op < 80) {
		if (rng_below(rng, 8) == 0)
			memcpy(mac, mac_bcast, sizeof(mac));
		if (mactable_forward(t, mac, port, now, &out) !=
			    ref_forward(r, mac, port, now, &ref_out) ||
		    out != ref_out)
			fail_msg("%s: forward differs", where);
	} else if (op < 97) {
		if (mactable_expire(t, now) != ref_remove(r, true, 0, now))
			fail_msg("%s: expire count differs", where);
	} else {
		if (mactable_flush_port(t, port) != ref_remove(r, false, port, now))
			fail_msg("%s: flush count differs", where);
	}
}

static void run_random(const struct random_config *c, uint64_t seed)
{
	struct ref_table *r = test_calloc(1, sizeof(*r));
	uint8_t key[16];
	struct mactable *t;
	uint64_t rng = seed, now = T0;
	char where[64];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)rng_next(&rng);
	t = mactable_new(c->max_total, c->max_per_port, c->max_ports, AGE, key);
	assert_non_null(t);
	assert_true(c->max_total <= REF_MAX && c->alphabet <= REF_MAX);
	r->max_total = c->max_total;
	r->max_per_port = c->max_per_port;
	r->max_ports = c->max_ports;

	for (uint32_t step = 0; step < 5000; step++) {
		/* Bursts at one instant, small steps, now and then exactly the age or
		 * a leap. Slow enough on average for the tables to fill up. */
		uint32_t kind = rng_below(&rng, 400);

		now += kind == 0 ? AGE : kind == 1 ? 3 * AGE : kind < 200 ? 0 : rng_below(&rng, AGE / 32);
		snprintf(where, sizeof(where), "seed %llu step %u", (unsigned long long)seed, step);
		random_step(t, r, &rng, now, c->alphabet, where);
		check_same_state(t, r, now, c->alphabet, where);
		if (step % 16 == 0)
			check_same_entries(t, r, where);
	}
	mactable_free(t);
	test_free(r);
}

static void test_random_against_reference(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(random_configs) / sizeof(random_configs[0]); i++)
		for (uint64_t seed = 1; seed <= 4; seed++)
			run_random(&random_configs[i], seed * 1000 + i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_rejects_bad_limits),
		cmocka_unit_test(test_learn_and_lookup),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_port_cap),
		cmocka_unit_test(test_total_cap),
		cmocka_unit_test(test_flush_port),
		cmocka_unit_test(test_bad_port),
		cmocka_unit_test(test_relearn_aged),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_pin_refused),
		cmocka_unit_test(test_pin_evicts),
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_foreach_in_steps),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_random_against_reference),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
