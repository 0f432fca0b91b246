/*
 * Unit tests for timers.c: each deadline at exactly its time and one
 * millisecond before, the retry backoff, and a port and a switch simulated
 * over 60 s of 100 ms ticks (port started first, switch restarted later).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "timers.h"

#define T0 5000000u /* an arbitrary start, far from zero */

static void test_retry_delays(void **state)
{
	static const struct {
		uint32_t attempts, want;
	} cases[] = {
		{ 0, 1000 }, { 1, 2000 }, { 2, 4000 }, { 3, 4000 }, { 4, 4000 },
		{ 31, 4000 }, { 32, 4000 }, { 1000, 4000 }, { UINT32_MAX, 4000 },
	};

	(void)state;
	assert_int_equal(TIMERS_RETRY_MIN_MS, 1000);
	assert_int_equal(TIMERS_RETRY_MAX_MS, 4000);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (timers_retry_delay_ms(cases[i].attempts) != cases[i].want)
			fail_msg("attempts %u: got %u, want %u", cases[i].attempts,
				 timers_retry_delay_ms(cases[i].attempts), cases[i].want);
}

/* A port with a session established at T0 and a packet sent and received then. */
static void established(struct timers *t)
{
	timers_init(t, T0 - 100);
	timers_handshake_initiated(t, T0 - 50, 0);
	timers_handshake_complete(t, T0);
	timers_data_sent(t, T0);
	timers_data_received(t, T0);
}

static void test_keepalive(void **state)
{
	struct timers t;

	(void)state;
	established(&t);
	assert_int_equal(timers_initiator_due(&t, T0, false), TIMER_NONE);
	assert_int_equal(timers_initiator_due(&t, T0 + TIMERS_KEEPALIVE_MS - 1, false), TIMER_NONE);
	/* Received recently, so only the keepalive is due. */
	timers_data_received(&t, T0 + TIMERS_KEEPALIVE_MS - 1);
	assert_int_equal(timers_initiator_due(&t, T0 + TIMERS_KEEPALIVE_MS, false),
			 TIMER_SEND_KEEPALIVE);
	/* Sending resets it; receiving does not. */
	timers_data_received(&t, T0 + 7000);
	assert_int_equal(timers_initiator_due(&t, T0 + 7000, false), TIMER_SEND_KEEPALIVE);
	timers_data_sent(&t, T0 + 7000);
	assert_int_equal(timers_initiator_due(&t, T0 + 7000 + TIMERS_KEEPALIVE_MS - 1, false),
			 TIMER_NONE);
	assert_int_equal(timers_initiator_due(&t, T0 + 7000 + TIMERS_KEEPALIVE_MS, false),
			 TIMER_SEND_KEEPALIVE);

	/* No session, no keepalive, however long it has been quiet. */
	timers_init(&t, T0);
	timers_handshake_initiated(&t, T0, 0);
	assert_false(timers_initiator_due(&t, T0 + TIMERS_KEEPALIVE_MS, false) &
		     TIMER_SEND_KEEPALIVE);

	/* The responder: the same rule. */
	timers_init(&t, T0);
	assert_int_equal(timers_responder_due(&t, T0 + TIMERS_KEEPALIVE_MS - 1), TIMER_NONE);
	assert_int_equal(timers_responder_due(&t, T0 + TIMERS_KEEPALIVE_MS), TIMER_SEND_KEEPALIVE);
	timers_data_sent(&t, T0 + 3000);
	assert_int_equal(timers_responder_due(&t, T0 + 3000 + TIMERS_KEEPALIVE_MS - 1), TIMER_NONE);
	assert_int_equal(timers_responder_due(&t, T0 + 3000 + TIMERS_KEEPALIVE_MS),
			 TIMER_SEND_KEEPALIVE);
}

static void test_dead_initiator(void **state)
{
	struct timers t;

	(void)state;
	established(&t);
	assert_int_equal(TIMERS_DEAD_AFTER_MS, 11000);
	timers_data_received(&t, T0 + 2000);
	/* Keep sending, so only the silence counts. */
	timers_data_sent(&t, T0 + 2000 + TIMERS_DEAD_AFTER_MS - 1);
	assert_int_equal(timers_initiator_due(&t, T0 + 2000 + TIMERS_DEAD_AFTER_MS - 1, false),
			 TIMER_NONE);
	assert_int_equal(timers_initiator_due(&t, T0 + 2000 + TIMERS_DEAD_AFTER_MS, false),
			 TIMER_PEER_DEAD);
	/* Dead is the only answer, even with a keepalive and a rekey also due. */
	assert_int_equal(timers_initiator_due(&t, T0 + 2000 + TIMERS_DEAD_AFTER_MS + 10000, true),
			 TIMER_PEER_DEAD);
	/* A handshake completing counts as hearing from the peer. */
	timers_handshake_complete(&t, T0 + 20000);
	assert_false(timers_initiator_due(&t, T0 + 20000 + TIMERS_DEAD_AFTER_MS - 1, false) &
		     TIMER_PEER_DEAD);
	/* Once the session is lost, silence is no longer death: handshakes follow. */
	timers_session_lost(&t);
	assert_int_equal(timers_initiator_due(&t, T0 + 20000 + TIMERS_DEAD_AFTER_MS, false),
			 TIMER_SEND_HANDSHAKE);
}

static void test_dead_responder(void **state)
{
	struct timers t;

	(void)state;
	assert_int_equal(TIMERS_EXPIRE_AFTER_MS, 30000);
	timers_init(&t, T0);
	timers_data_received(&t, T0 + 100);
	timers_data_sent(&t, T0 + 100 + TIMERS_EXPIRE_AFTER_MS - 1);
	assert_int_equal(timers_responder_due(&t, T0 + 100 + TIMERS_EXPIRE_AFTER_MS - 1),
			 TIMER_NONE);
	assert_int_equal(timers_responder_due(&t, T0 + 100 + TIMERS_EXPIRE_AFTER_MS),
			 TIMER_PEER_DEAD);
	/* The initiator's shorter limit does not apply to the responder. */
	timers_data_sent(&t, T0 + 100 + TIMERS_DEAD_AFTER_MS);
	assert_int_equal(timers_responder_due(&t, T0 + 100 + TIMERS_DEAD_AFTER_MS), TIMER_NONE);
}

static void test_handshake_when_no_session(void **state)
{
	struct timers t;

	(void)state;
	timers_init(&t, T0);
	assert_int_equal(timers_initiator_due(&t, T0, false), TIMER_SEND_HANDSHAKE);
	assert_int_equal(timers_initiator_due(&t, T0, true), TIMER_SEND_HANDSHAKE);
	/* No session and never heard from: not dead, just not there yet. */
	assert_int_equal(timers_initiator_due(&t, T0 + 10 * TIMERS_EXPIRE_AFTER_MS, false),
			 TIMER_SEND_HANDSHAKE);
}

/* Initiation k is retried after retry_delay(k) + its own jitter, not before. */
static void test_retry_backoff(void **state)
{
	static const uint32_t jitter[] = { 0, 333, 17, 200, 1 };
	static const uint32_t want_delay[] = { 1000, 2000, 4000, 4000, 4000 };
	struct timers t;
	uint64_t now = T0;

	(void)state;
	timers_init(&t, T0);
	for (size_t k = 0; k < sizeof(jitter) / sizeof(jitter[0]); k++) {
		uint64_t due_at = now + want_delay[k] + jitter[k];

		assert_true(timers_initiator_due(&t, now, false) & TIMER_SEND_HANDSHAKE);
		timers_handshake_initiated(&t, now, jitter[k]);
		assert_int_equal(t.handshake_attempts, k);
		assert_int_equal(timers_initiator_due(&t, now, false), TIMER_NONE);
		if (timers_initiator_due(&t, due_at - 1, false) != TIMER_NONE)
			fail_msg("attempt %zu: due before %u + %u ms", k, want_delay[k], jitter[k]);
		/* In flight and within its delay: a rekey does not hurry it either. */
		assert_int_equal(timers_initiator_due(&t, due_at - 1, true), TIMER_NONE);
		if (timers_initiator_due(&t, due_at, false) != TIMER_SEND_HANDSHAKE)
			fail_msg("attempt %zu: not due at %u + %u ms", k, want_delay[k], jitter[k]);
		now = due_at;
	}

	/* Completing resets the backoff: the next initiation waits 1 s again. */
	timers_handshake_initiated(&t, now, 0);
	timers_handshake_complete(&t, now + 10);
	timers_data_sent(&t, now + 10);
	assert_int_equal(t.handshake_attempts, 0);
	assert_false(t.handshake_in_flight);
	assert_int_equal(timers_initiator_due(&t, now + 10, false), TIMER_NONE);
	timers_handshake_initiated(&t, now + 20, 5);
	assert_int_equal(timers_initiator_due(&t, now + 20 + 1004, true), TIMER_NONE);
	assert_int_equal(timers_initiator_due(&t, now + 20 + 1005, true), TIMER_SEND_HANDSHAKE);
}

static void test_rekey(void **state)
{
	struct timers t;

	(void)state;
	established(&t);
	assert_int_equal(timers_initiator_due(&t, T0 + 1000, false), TIMER_NONE);
	/* A rekey asks for a handshake and leaves the session up. */
	assert_int_equal(timers_initiator_due(&t, T0 + 1000, true), TIMER_SEND_HANDSHAKE);
	timers_handshake_initiated(&t, T0 + 1000, 100);
	assert_true(t.has_session);
	assert_int_equal(timers_initiator_due(&t, T0 + 1000 + 1099, true), TIMER_NONE);
	assert_int_equal(timers_initiator_due(&t, T0 + 1000 + 1100, true), TIMER_SEND_HANDSHAKE);
	/* Keepalives still go out on the old session meanwhile. */
	assert_int_equal(timers_initiator_due(&t, T0 + TIMERS_KEEPALIVE_MS, true),
			 TIMER_SEND_HANDSHAKE | TIMER_SEND_KEEPALIVE);
	timers_handshake_complete(&t, T0 + TIMERS_KEEPALIVE_MS);
	assert_true(t.has_session);
	assert_int_equal(timers_initiator_due(&t, T0 + TIMERS_KEEPALIVE_MS, false),
			 TIMER_SEND_KEEPALIVE);
}

static void test_init(void **state)
{
	struct timers t;

	(void)state;
	memset(&t, 0xff, sizeof(t));
	timers_init(&t, T0);
	assert_false(t.has_session);
	assert_false(t.handshake_in_flight);
	assert_int_equal(t.handshake_attempts, 0);
	assert_int_equal(timers_responder_due(&t, T0), TIMER_NONE);
}

/* ---- simulation ---- */

#define TICK_MS 100u
#define SIM_MS 60000u
#define SWITCH_UP_MS 20000u   /* the port starts first, at 0 */
#define SWITCH_DOWN_MS 36000u /* the switch restarts: loses its sessions... */
#define SWITCH_BACK_MS 40000u /* ...and is back 4 s later */
#define MAX_HANDSHAKES 64

static uint32_t jitter_state = 12345;
static uint32_t next_jitter(void)
{
	jitter_state = jitter_state * 1103515245u + 12345u;
	return (jitter_state >> 16) % (TIMERS_JITTER_MAX_MS + 1);
}

struct sim {
	struct timers port, sw;
	bool switch_has_session;
	uint64_t hs_at[MAX_HANDSHAKES];
	uint32_t hs_jitter[MAX_HANDSHAKES];
	uint32_t hs_attempt[MAX_HANDSHAKES];
	size_t handshakes;
	uint64_t established_at[4];
	size_t establishments;
	unsigned dead;
};

static bool switch_up(uint64_t now)
{
	return (now >= SWITCH_UP_MS && now < SWITCH_DOWN_MS) || now >= SWITCH_BACK_MS;
}

static void port_tick(struct sim *s, uint64_t now)
{
	unsigned due = timers_initiator_due(&s->port, now, false);

	if (due & TIMER_PEER_DEAD) {
		assert_int_equal(due, TIMER_PEER_DEAD);
		s->dead++;
		timers_session_lost(&s->port);
		due = timers_initiator_due(&s->port, now, false);
	}
	if (due & TIMER_SEND_HANDSHAKE) {
		uint32_t j = next_jitter();

		assert_true(s->handshakes < MAX_HANDSHAKES);
		s->hs_at[s->handshakes] = now;
		s->hs_jitter[s->handshakes] = j;
		s->hs_attempt[s->handshakes] = s->port.handshake_in_flight
						       ? s->port.handshake_attempts + 1
						       : 0;
		s->handshakes++;
		timers_handshake_initiated(&s->port, now, j);
		if (switch_up(now)) { /* the answer comes back within the tick */
			timers_init(&s->sw, now);
			s->switch_has_session = true;
			timers_data_sent(&s->sw, now);
			timers_handshake_complete(&s->port, now);
			s->established_at[s->establishments++] = now;
		}
	}
	if (due & TIMER_SEND_KEEPALIVE) {
		timers_data_sent(&s->port, now);
		if (switch_up(now) && s->switch_has_session)
			timers_data_received(&s->sw, now);
	}
}

static void switch_tick(struct sim *s, uint64_t now)
{
	unsigned due;

	if (!switch_up(now)) {
		s->switch_has_session = false; /* the restart forgets everything */
		return;
	}
	if (!s->switch_has_session)
		return;
	due = timers_responder_due(&s->sw, now);
	assert_false(due & TIMER_PEER_DEAD); /* the port keeps talking */
	if (due & TIMER_SEND_KEEPALIVE) {
		timers_data_sent(&s->sw, now);
		timers_data_received(&s->port, now);
	}
}

static uint64_t round_up_to_tick(uint64_t ms)
{
	return (ms + TICK_MS - 1) / TICK_MS * TICK_MS;
}

static void test_port_before_switch(void **state)
{
	static struct sim s;

	(void)state;
	memset(&s, 0, sizeof(s));
	timers_init(&s.port, 0);
	for (uint64_t now = 0; now <= SIM_MS; now += TICK_MS) {
		switch_tick(&s, now);
		port_tick(&s, now);
	}

	/* The first initiation goes out at once. */
	assert_true(s.handshakes > 1);
	assert_true(s.hs_at[0] == 0);
	for (size_t k = 1; k < s.handshakes; k++) {
		uint64_t gap = s.hs_at[k] - s.hs_at[k - 1];
		uint64_t wait = timers_retry_delay_ms(s.hs_attempt[k - 1]) + s.hs_jitter[k - 1];

		if (s.hs_attempt[k] == 0)
			continue; /* a fresh start after a session, not a retry */
		/* Not earlier than the backoff, and sent on the first tick after it. */
		if (gap < wait || gap != round_up_to_tick(wait))
			fail_msg("handshake %zu: gap %llu ms, want %llu rounded up to a tick", k,
				 (unsigned long long)gap, (unsigned long long)wait);
		if (gap > round_up_to_tick(TIMERS_RETRY_MAX_MS + s.hs_jitter[k - 1]))
			fail_msg("handshake %zu: gap %llu ms past the cap", k,
				 (unsigned long long)gap);
		/* Backoff doubles from 1 s and then stays at the cap. */
		assert_int_equal(s.hs_attempt[k], s.hs_attempt[k - 1] + 1);
	}
	/* The first retries show the doubling: 1 s, 2 s, then 4 s. */
	assert_int_equal(s.hs_attempt[1], 1);
	assert_int_equal(s.hs_attempt[3], 3);
	assert_true(s.hs_at[1] - s.hs_at[0] >= 1000 && s.hs_at[1] - s.hs_at[0] < 1000 + 434);
	assert_true(s.hs_at[2] - s.hs_at[1] >= 2000 && s.hs_at[2] - s.hs_at[1] < 2000 + 434);
	assert_true(s.hs_at[3] - s.hs_at[2] >= 4000 && s.hs_at[3] - s.hs_at[2] < 4000 + 434);

	/* Found once the switch is up, within one capped retry. */
	assert_int_equal(s.establishments, 2);
	assert_true(s.established_at[0] >= SWITCH_UP_MS);
	assert_true(s.established_at[0] <=
		    SWITCH_UP_MS + round_up_to_tick(TIMERS_RETRY_MAX_MS + TIMERS_JITTER_MAX_MS));
	/* The restart is noticed as a dead peer once, and the restarted switch is
	 * found again within 15 s of going away. */
	assert_int_equal(s.dead, 1);
	assert_true(s.established_at[1] >= SWITCH_BACK_MS);
	assert_true(s.established_at[1] <= SWITCH_DOWN_MS + 15000);
	/* While a session is up nobody initiates: every initiation is a retry
	 * before the switch came up, or the one that established a session. */
	for (size_t k = 0; k < s.handshakes; k++) {
		bool establishing = s.hs_at[k] == s.established_at[0] ||
				    s.hs_at[k] == s.established_at[1];

		if (!establishing && s.hs_at[k] >= s.established_at[0])
			fail_msg("handshake %zu at %llu ms while a session was up", k,
				 (unsigned long long)s.hs_at[k]);
	}
	/* Retries from 0 to 20 s: 1 + 2 + 4 * n s apart, about 6 or 7 of them. */
	assert_true(s.handshakes >= 2 + 5 && s.handshakes <= 2 + 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_delays),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_dead_initiator),
		cmocka_unit_test(test_dead_responder),
		cmocka_unit_test(test_handshake_when_no_session),
		cmocka_unit_test(test_retry_backoff),
		cmocka_unit_test(test_rekey),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_port_before_switch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
