/*
 * session — transport keys between two nodes: keypairs, nonce counters, the
 * replay window, and which keypair to send and receive with. Pure: time comes
 * in as now_ms.
 *
 * A node holds up to three keypairs per peer, as WireGuard does:
 *   current   the one we send with;
 *   previous  the one before it, still accepted on receive so packets in
 *             flight during a rekey are not lost;
 *   next      (responder only) a fresh keypair that the initiator has not
 *             yet used. The responder must not send with it before the
 *             initiator proves it has it, by sending on it; the first packet
 *             received on next rotates it into current.
 * The initiator installs a new keypair straight into current.
 *
 * Limits follow WireGuard's: a keypair is rekeyed by its initiator after
 * SESSION_REKEY_AFTER_MS or SESSION_REKEY_AFTER_MESSAGES, and refused for
 * sending and receiving after SESSION_REJECT_AFTER_MS or
 * SESSION_REJECT_AFTER_MESSAGES.
 */
#ifndef VSWITCH_SESSION_H
#define VSWITCH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "noise.h"

#define SESSION_REKEY_AFTER_MS (120u * 1000u)
#define SESSION_REJECT_AFTER_MS (180u * 1000u)
#define SESSION_REKEY_AFTER_MESSAGES (1ULL << 60)
#define SESSION_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13))

/* The replay window (RFC 6479): a ring of 64-bit blocks. One block is always
 * being recycled, so REPLAY_WINDOW_SIZE counters behind the newest are judged
 * exactly; anything older is refused. */
#define REPLAY_BLOCK_BITS 64u
#define REPLAY_BLOCKS 64u
#define REPLAY_WINDOW_SIZE ((REPLAY_BLOCKS - 1) * REPLAY_BLOCK_BITS) /* 4032 */

struct replay_window {
	uint64_t next;  /* one more than the highest counter accepted; 0 = none yet */
	uint64_t bitmap[REPLAY_BLOCKS];
};

/* Accept counter once: returns false for a replay, a counter too far behind the
 * window, or one at or past SESSION_REJECT_AFTER_MESSAGES. Call only after the
 * packet authenticated, so forged counters cannot move the window. */
bool replay_accept(struct replay_window *w, uint64_t counter);

struct keypair {
	uint8_t send_key[NOISE_KEY_LEN];
	uint8_t recv_key[NOISE_KEY_LEN];
	uint64_t send_counter;
	struct replay_window replay;
	uint32_t local_index;  /* the index peers put in messages to us */
	uint32_t remote_index; /* the index we put in messages to the peer */
	uint64_t birth_ms;
	bool is_initiator;
	bool is_valid;
};

enum session_result {
	SESSION_OK = 0,
	SESSION_NO_KEY,   /* no usable keypair */
	SESSION_EXPIRED,  /* keypair too old or counter exhausted */
	SESSION_BAD_AUTH, /* the tag did not verify */
	SESSION_REPLAY,   /* counter seen before or too old */
	SESSION_CRYPTO_ERROR, /* the cipher library failed; nothing was sent */
	SESSION_RESULT_COUNT,
};
const char *session_result_name(enum session_result r);

/* Whether kp may send one more message now; if so, takes that message's
 * counter (the nonce) into *counter. keypair_seal does this and then seals;
 * proto_seal_data_run takes a run's counters and seals them together. */
enum session_result keypair_take_counter(struct keypair *kp, uint64_t now_ms, uint64_t *counter);
/* Seal len bytes at payload in place, appending NOISE_TAG_LEN bytes of tag.
 * Sets *counter to the nonce used (the caller writes it in the header). The
 * AEAD_FRAME_HEADROOM bytes before payload must be the caller's (aead.h). */
enum session_result keypair_seal(struct keypair *kp, uint8_t *payload, size_t len,
				 uint64_t now_ms, uint64_t *counter);
/* Open len bytes (ciphertext and tag) in place; the frame is len - NOISE_TAG_LEN
 * bytes. Checks authenticity, then age and replay. The AEAD_FRAME_HEADROOM
 * bytes before buf must be the caller's (aead.h). */
enum session_result keypair_open(struct keypair *kp, uint64_t counter, uint8_t *buf, size_t len,
				 uint64_t now_ms);
/* keypair_open in two steps, for opening several frames at once: whether kp
 * may open a frame now (SESSION_OK, SESSION_NO_KEY or SESSION_EXPIRED);
 * then, once the frame proved authentic, whether its counter is new
 * (SESSION_OK or SESSION_REPLAY; marks it seen). */
enum session_result keypair_may_open(const struct keypair *kp, uint64_t now_ms);
enum session_result keypair_accept(struct keypair *kp, uint64_t counter);
void keypair_wipe(struct keypair *kp);

struct session {
	struct keypair current;
	struct keypair previous;
	struct keypair next;
};

/* Take the keys from a completed handshake (noise_split) and install them as
 * the initiator (into current) or the responder (into next). */
void session_install(struct session *s, const uint8_t send_key[NOISE_KEY_LEN],
		     const uint8_t recv_key[NOISE_KEY_LEN], uint32_t local_index,
		     uint32_t remote_index, bool is_initiator, uint64_t now_ms);

/* The keypair whose local index is local_index, or NULL. */
struct keypair *session_find(struct session *s, uint32_t local_index);

/* Call after a packet authenticated on kp: confirms a responder's next keypair. */
void session_received_on(struct session *s, struct keypair *kp);

/* The keypair to send with, or NULL if none is usable now. */
struct keypair *session_send_keypair(struct session *s, uint64_t now_ms);

/* True when the initiator should start a new handshake: no usable current
 * keypair, it is old, or either direction's counter passed the rekey limit. */
bool session_needs_rekey(const struct session *s, uint64_t now_ms);

/* Drop keypairs too old to use (call from a timer). */
void session_expire(struct session *s, uint64_t now_ms);

/* Wipe every key. */
void session_wipe(struct session *s);

#endif
