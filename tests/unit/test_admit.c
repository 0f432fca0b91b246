/* admit: the budgets for new connections and for rekeys, and that a flood of
 * one cannot use up the other. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "admit.h"

#define T0 5000u
#define HOST_A 7u
#define HOST_B (HOST_A + ADMIT_SOURCES) /* another host, the same bucket */
#define HOST_C 8u

static struct admit a;

static int reset(void **state)
{
	(void)state;
	a = (struct admit){ 0 };
	return 0;
}

static unsigned admitted_new(uint64_t host, unsigned tries, uint64_t now)
{
	unsigned n = 0;

	for (unsigned i = 0; i < tries; i++)
		n += admit_new(&a, host, now);
	return n;
}

static void test_host_share_then_global(void **state)
{
	(void)state;
	assert_int_equal(admitted_new(HOST_A, 500, T0), ADMIT_SOURCE_BURST);
	/* A bucket is shared by the hosts hashed into it. */
	assert_int_equal(admitted_new(HOST_B, 1, T0), 0);
	assert_int_equal(admitted_new(HOST_C, 500, T0), ADMIT_BURST - ADMIT_SOURCE_BURST);
	assert_int_equal(admitted_new(HOST_C + 1, 1, T0), 0); /* the global budget is spent */
	/* The next window starts afresh. */
	assert_int_equal(admitted_new(HOST_C + 1, 1, T0 + ADMIT_WINDOW_MS), 1);
	assert_int_equal(admitted_new(HOST_A, 500, T0 + ADMIT_WINDOW_MS), ADMIT_SOURCE_BURST);
}

/* The review's attack: a flood that claims a connected port's host (any UDP
 * port but its own) spends the host's share and the global budget; the
 * port's rekeys must still get through. */
static void test_flood_from_host_leaves_rekeys(void **state)
{
	struct ratelimit port = { 0 };

	(void)state;
	admitted_new(HOST_A, 10000, T0);
	admitted_new(HOST_C, 10000, T0);
	assert_false(admit_new(&a, HOST_A, T0));
	assert_true(admit_rekey(&a, &port, T0));
}

static void test_port_allowance(void **state)
{
	struct ratelimit p1 = { 0 }, p2 = { 0 };
	unsigned n = 0;

	(void)state;
	for (int i = 0; i < 10; i++)
		n += admit_rekey(&a, &p1, T0);
	assert_int_equal(n, ADMIT_PORT_BURST);
	/* One port's flood (its exact endpoint forged) leaves the others'. */
	assert_true(admit_rekey(&a, &p2, T0));
	assert_true(admit_rekey(&a, &p1, T0 + ADMIT_WINDOW_MS));
	/* New connections do not draw on rekeys' budget. */
	assert_int_equal(admitted_new(HOST_A, 1, T0), 1);
}

static void test_rekeys_budget(void **state)
{
	static struct ratelimit ports[ADMIT_BURST + 1];
	unsigned n = 0;

	(void)state;
	for (unsigned i = 0; i <= ADMIT_BURST; i++)
		n += admit_rekey(&a, &ports[i], T0);
	assert_int_equal(n, ADMIT_BURST);
	assert_true(admit_rekey(&a, &ports[ADMIT_BURST], T0 + ADMIT_WINDOW_MS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_host_share_then_global, reset),
		cmocka_unit_test_setup(test_flood_from_host_leaves_rekeys, reset),
		cmocka_unit_test_setup(test_port_allowance, reset),
		cmocka_unit_test_setup(test_rekeys_budget, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
