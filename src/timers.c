/* timers — handshake retries, keepalives, dead peers. See timers.h. */
#include "timers.h"

#include <string.h>

void timers_init(struct timers *t, uint64_t now_ms)
{
	memset(t, 0, sizeof(*t));
	t->last_sent_ms = now_ms;
	t->last_received_ms = now_ms;
}

void timers_handshake_initiated(struct timers *t, uint64_t now_ms, uint32_t jitter_ms)
{
	if (t->handshake_in_flight)
		t->handshake_attempts++;
	t->handshake_in_flight = true;
	t->handshake_sent_ms = now_ms;
	t->retry_jitter_ms = jitter_ms;
}

void timers_handshake_complete(struct timers *t, uint64_t now_ms)
{
	t->handshake_in_flight = false;
	t->handshake_attempts = 0;
	t->handshake_complete_ms = now_ms;
	t->has_session = true;
	t->last_received_ms = now_ms;
}

void timers_data_sent(struct timers *t, uint64_t now_ms)
{
	t->last_sent_ms = now_ms;
}

void timers_data_received(struct timers *t, uint64_t now_ms)
{
	t->last_received_ms = now_ms;
}

void timers_session_lost(struct timers *t)
{
	t->has_session = false;
}

uint32_t timers_retry_delay_ms(uint32_t attempts)
{
	uint32_t delay = TIMERS_RETRY_MIN_MS;

	while (attempts-- > 0 && delay < TIMERS_RETRY_MAX_MS)
		delay *= 2;
	return delay < TIMERS_RETRY_MAX_MS ? delay : TIMERS_RETRY_MAX_MS;
}

static bool handshake_may_start(const struct timers *t, uint64_t now_ms)
{
	uint64_t wait;

	if (!t->handshake_in_flight)
		return true;
	wait = (uint64_t)timers_retry_delay_ms(t->handshake_attempts) + t->retry_jitter_ms;
	return now_ms - t->handshake_sent_ms >= wait;
}

unsigned timers_initiator_due(const struct timers *t, uint64_t now_ms, bool needs_rekey)
{
	unsigned due = TIMER_NONE;

	if (t->has_session && now_ms - t->last_received_ms >= TIMERS_DEAD_AFTER_MS)
		return TIMER_PEER_DEAD;
	if ((!t->has_session || needs_rekey) && handshake_may_start(t, now_ms))
		due |= TIMER_SEND_HANDSHAKE;
	if (t->has_session && now_ms - t->last_sent_ms >= TIMERS_KEEPALIVE_MS)
		due |= TIMER_SEND_KEEPALIVE;
	return due;
}

unsigned timers_responder_due(const struct timers *t, uint64_t now_ms)
{
	if (now_ms - t->last_received_ms >= TIMERS_EXPIRE_AFTER_MS)
		return TIMER_PEER_DEAD;
	if (now_ms - t->last_sent_ms >= TIMERS_KEEPALIVE_MS)
		return TIMER_SEND_KEEPALIVE;
	return TIMER_NONE;
}
