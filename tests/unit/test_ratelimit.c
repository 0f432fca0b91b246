/* ratelimit: fixed windows, burst ±1, window edge ±1 ms, suppressed count. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "log.h"

struct step {
	int id;
	uint64_t now_ms;
	int events;  /* how many to ask for at now_ms */
	int allowed; /* how many of them must be allowed */
};

/* Window 100 ms, burst 3, starting at t = 1000. */
static const struct step steps[] = {
	{ 1, 1000, 3, 3 },  /* the burst */
	{ 2, 1000, 1, 0 },  /* burst + 1 */
	{ 3, 1099, 2, 0 },  /* last millisecond of the window */
	{ 4, 1100, 4, 3 },  /* a new window: burst again, then refused */
	{ 5, 1250, 1, 1 },
	{ 6, 1349, 3, 2 },  /* same window as step 5 */
	{ 7, 1350, 1, 1 },
};

static void test_windows(void **state)
{
	struct ratelimit r = { 0 };
	uint32_t refused = 0;

	(void)state;
	r.window_start_ms = 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int allowed = 0;

		for (int e = 0; e < steps[i].events; e++)
			allowed += ratelimit_allow_n(&r, steps[i].now_ms, 100, 3);
		refused += (uint32_t)(steps[i].events - allowed);
		if (allowed != steps[i].allowed)
			fail_msg("step %d: %d allowed, want %d", steps[i].id, allowed,
				 steps[i].allowed);
	}
	assert_int_equal(r.suppressed, refused);
}

static void test_log_defaults(void **state)
{
	struct ratelimit r = { 0 };
	unsigned allowed = 0;

	(void)state;
	for (int i = 0; i < 100; i++)
		allowed += ratelimit_allow(&r, RATELIMIT_WINDOW_MS + (uint64_t)i);
	assert_int_equal(allowed, RATELIMIT_BURST);
	assert_true(ratelimit_allow(&r, 2 * RATELIMIT_WINDOW_MS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_log_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
