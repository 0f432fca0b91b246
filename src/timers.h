/*
 * timers — when a node sends handshakes and keepalives and gives up on a peer.
 * Pure: the daemons report events with the time, then ask what is due.
 *
 * Events (named for what happened):
 *   timers_handshake_initiated   an initiation was sent
 *   timers_handshake_complete    a session was established
 *   timers_data_sent             any authenticated packet was sent (data or keepalive)
 *   timers_data_received         any authenticated packet was received
 *   timers_session_lost          the session was dropped (dead peer, key expired)
 *
 * What is due:
 *   initiator (port):  TIMER_SEND_HANDSHAKE when there is no session, or it needs
 *                      rekeying, and no initiation is in flight or the last one is
 *                      older than its retry delay (1 s doubling to
 *                      TIMERS_RETRY_MAX_MS, plus jitter), so a port started before
 *                      its switch keeps trying;
 *   both:              TIMER_SEND_KEEPALIVE when nothing was sent for
 *                      TIMERS_KEEPALIVE_MS, so NAT mappings stay open and the
 *                      peer sees we are alive;
 *   initiator:         TIMER_PEER_DEAD when nothing was received for
 *                      TIMERS_DEAD_AFTER_MS: the session is dropped and a new
 *                      handshake starts (how a port finds a restarted switch);
 *   responder (switch): TIMER_PEER_DEAD after TIMERS_EXPIRE_AFTER_MS of silence:
 *                      the port is expired and its MACs flushed.
 */
#ifndef VSWITCH_TIMERS_H
#define VSWITCH_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

#define TIMERS_KEEPALIVE_MS 5000u
/* Two keepalives missed, plus slack: a restarted switch is found within
 * TIMERS_DEAD_AFTER_MS + one retry, well inside 15 s. */
#define TIMERS_DEAD_AFTER_MS (2u * TIMERS_KEEPALIVE_MS + 1000u)
#define TIMERS_EXPIRE_AFTER_MS (6u * TIMERS_KEEPALIVE_MS)
#define TIMERS_RETRY_MIN_MS 1000u
#define TIMERS_RETRY_MAX_MS 4000u
#define TIMERS_JITTER_MAX_MS 333u

enum timer_action {
	TIMER_NONE = 0,
	TIMER_SEND_HANDSHAKE = 1 << 0,
	TIMER_SEND_KEEPALIVE = 1 << 1,
	TIMER_PEER_DEAD = 1 << 2,
};

struct timers {
	uint64_t last_sent_ms;
	uint64_t last_received_ms;
	uint64_t handshake_sent_ms;
	uint64_t handshake_complete_ms;
	uint32_t handshake_attempts; /* since the last completed handshake */
	uint32_t retry_jitter_ms;    /* chosen by the caller per attempt */
	bool handshake_in_flight;
	bool has_session;
};

void timers_init(struct timers *t, uint64_t now_ms);
void timers_handshake_initiated(struct timers *t, uint64_t now_ms, uint32_t jitter_ms);
void timers_handshake_complete(struct timers *t, uint64_t now_ms);
void timers_data_sent(struct timers *t, uint64_t now_ms);
void timers_data_received(struct timers *t, uint64_t now_ms);
void timers_session_lost(struct timers *t);

/* The delay before initiation number `attempts` (0-based) is retried. */
uint32_t timers_retry_delay_ms(uint32_t attempts);

/* What an initiator must do now; needs_rekey from session_needs_rekey(). */
unsigned timers_initiator_due(const struct timers *t, uint64_t now_ms, bool needs_rekey);
/* What a responder must do now. */
unsigned timers_responder_due(const struct timers *t, uint64_t now_ms);

#endif
