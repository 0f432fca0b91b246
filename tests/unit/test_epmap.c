/* epmap: exact endpoint -> port map; checked against a model through random
 * connects, moves and disconnects with hashes squeezed into few cells (ports
 * sharing endpoints included), a full map of EPMAP_PORTS ports, two ports at
 * one endpoint, and the case that defeated the old cache (many endpoints of
 * one member must not displace another port's entry). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "epmap.h"

#define NO_EP UINT32_MAX

/* What the switch holds: each port's current endpoint (a number here). */
static uint32_t current[EPMAP_PORTS];

static bool same_endpoint(uint32_t port, const void *ctx)
{
	return current[port] == *(const uint32_t *)ctx;
}

/* Squeezed hashes: endpoints collide in few homes, runs wrap past the end. */
static uint64_t squeezed(uint32_t ep)
{
	return (uint64_t)(EPMAP_SIZE - 7) + ep % 23 * 3;
}

static uint64_t spread(uint32_t ep)
{
	return (uint64_t)ep * 0x9e3779b97f4a7c15ull;
}

struct model {
	uint32_t entry[EPMAP_PORTS]; /* endpoint of the port's entry, or NO_EP */
};

/* The map under test and its model (static: the model is 16 KiB). */
static struct epmap m;
static struct model md;

static void start(void)
{
	epmap_init(&m);
	for (uint32_t q = 0; q < EPMAP_PORTS; q++)
		current[q] = md.entry[q] = NO_EP;
}

static uint32_t rng_state = 12345;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return (rng_state >> 8) % n;
}

/* The switch's steps: forget the old entry, change endpoint, put the new one. */
static void move(uint64_t (*h)(uint32_t), uint32_t port, uint32_t ep)
{
	if (current[port] != NO_EP)
		epmap_remove(&m, h(current[port]), port);
	md.entry[port] = NO_EP;
	current[port] = ep;
	if (ep == NO_EP)
		return;
	assert_true(epmap_put(&m, h(ep), port));
	md.entry[port] = ep;
}

static void check(uint64_t (*h)(uint32_t), uint32_t endpoints)
{
	uint32_t entries = 0;

	for (uint32_t q = 0; q < EPMAP_PORTS; q++)
		entries += md.entry[q] != NO_EP;
	assert_int_equal(m.count, entries);
	/* Any port at the endpoint will do; none only if no port is there. */
	for (uint32_t ep = 0; ep < endpoints; ep++) {
		int32_t got = epmap_find(&m, h(ep), same_endpoint, &ep);
		bool someone = false;

		for (uint32_t q = 0; q < EPMAP_PORTS; q++)
			someone |= md.entry[q] == ep;
		if (got < 0)
			assert_false(someone);
		else
			assert_int_equal(md.entry[got], ep);
	}
}

static void run_random(uint64_t (*h)(uint32_t), uint32_t ports, uint32_t endpoints, int steps)
{
	start();
	for (int s = 0; s < steps; s++) {
		uint32_t port = rnd(ports), r = rnd(10);

		move(h, port, r < 2 ? NO_EP : rnd(endpoints));
		if (s % 16 == 0 || s == steps - 1)
			check(h, endpoints);
	}
}

static void test_random_collisions(void **state)
{
	(void)state;
	run_random(squeezed, 40, 60, 20000);
	run_random(spread, 200, 400, 20000);
}

/* Every port connected at once, then all moved and all gone. */
static void test_full(void **state)
{
	(void)state;
	start();
	for (uint32_t q = 0; q < EPMAP_PORTS; q++)
		move(spread, q, q);
	check(spread, EPMAP_PORTS);
	for (uint32_t q = 0; q < EPMAP_PORTS; q++)
		move(spread, q, EPMAP_PORTS + q);
	check(spread, 2 * EPMAP_PORTS);
	for (uint32_t q = 0; q < EPMAP_PORTS; q++)
		move(spread, q, NO_EP);
	assert_int_equal(m.count, 0);
	for (uint32_t i = 0; i < EPMAP_SIZE; i++)
		assert_int_equal(m.port_plus1[i], 0);
	assert_false(epmap_put(&m, 1, EPMAP_PORTS));
}

/* Two ports at one endpoint (a NAT mapping handed on, or a forged source):
 * when the newer one moves on, the one still there keeps its entry. */
static void test_shared_endpoint(void **state)
{
	uint32_t e = 5;

	(void)state;
	start();
	move(squeezed, 1, e);
	move(squeezed, 2, e);
	assert_int_equal(m.count, 2);
	move(squeezed, 2, 6);
	assert_int_equal(epmap_find(&m, squeezed(e), same_endpoint, &e), 1);
	move(squeezed, 2, e);
	move(squeezed, 2, NO_EP);
	assert_int_equal(epmap_find(&m, squeezed(e), same_endpoint, &e), 1);
	check(squeezed, 10);
}

/* One member roaming through thousands of source ports keeps one entry, and
 * every other port keeps its own. */
static void test_roaming_member_displaces_nobody(void **state)
{
	(void)state;
	start();
	for (uint32_t q = 1; q <= 50; q++)
		move(spread, q, q);
	for (uint32_t ep = 1000; ep < 26000; ep++)
		move(spread, 0, ep);
	assert_int_equal(m.count, 51);
	for (uint32_t q = 1; q <= 50; q++)
		assert_int_equal(epmap_find(&m, spread(q), same_endpoint, &q), (int32_t)q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_collisions),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_shared_endpoint),
		cmocka_unit_test(test_roaming_member_displaces_nobody),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
