/*
 * proto — the protocol between two nodes, above the codecs: builds and
 * consumes handshake messages and data messages, driving noise, session and
 * wire. Pure: randomness (ephemeral keys, indices) and time come in as
 * arguments, so a whole port-to-switch exchange runs in a unit test.
 *
 * Either node may play either role; today ports initiate and the switch
 * responds, and the same calls will carry port-to-port traffic.
 */
#ifndef VSWITCH_PROTO_H
#define VSWITCH_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aead.h"
#include "noise.h"
#include "session.h"
#include "wire.h"

/* A node's long-term identity and the mac1 key that others use to reach it. */
struct proto_identity {
	uint8_t priv[NOISE_KEY_LEN];
	uint8_t pub[NOISE_KEY_LEN];
	uint8_t mac1_key[NOISE_KEY_LEN]; /* wire_mac1_key(pub): checks messages to us */
};
/* Returns false if the private key is unusable. */
bool proto_identity_init(struct proto_identity *id, const uint8_t priv[NOISE_KEY_LEN]);
void proto_identity_wipe(struct proto_identity *id);

enum proto_result {
	PROTO_OK = 0,
	PROTO_BAD_MAC1,       /* mac1 wrong: random bytes, or sent to another key */
	PROTO_BAD_HANDSHAKE,  /* the Noise message did not authenticate */
	PROTO_UNEXPECTED,     /* a response we did not ask for */
	PROTO_RESULT_COUNT,
};
const char *proto_result_name(enum proto_result r);

/* ---- initiator ---- */

struct proto_initiation {
	struct noise_handshake hs;
	uint32_t sender_index;
	bool is_pending;
};

/* Build an initiation to the responder whose public key is peer_pub. Writes
 * WIRE_INIT_LEN bytes into out (cap >= WIRE_INIT_LEN). Returns the length, or 0. */
size_t proto_create_init(struct proto_initiation *pi, const struct proto_identity *me,
			 const uint8_t peer_pub[NOISE_KEY_LEN], const uint8_t e_priv[NOISE_KEY_LEN],
			 const uint8_t timestamp[WIRE_TIMESTAMP_LEN], uint32_t sender_index,
			 uint8_t *out, size_t cap);

/* Consume a decoded response; on PROTO_OK installs the new keypair (as
 * initiator) into s and wipes the initiation. */
enum proto_result proto_consume_resp(struct proto_initiation *pi, const struct proto_identity *me,
				     const uint8_t *msg, size_t len, const struct wire_resp *resp,
				     struct session *s, uint64_t now_ms);

/* ---- responder ---- */

struct proto_incoming {
	struct noise_handshake hs; /* hs.rs is the initiator's static key */
	uint32_t sender_index;
	uint8_t timestamp[WIRE_TIMESTAMP_LEN];
};

/* Check mac1 and run the Noise read of a decoded initiation. On PROTO_OK the
 * caller checks in->hs.rs (a member?) and in->timestamp (newer than the last
 * one from that key?) before answering with proto_create_resp. On any
 * result the caller wipes `in` with proto_incoming_wipe when done. */
enum proto_result proto_consume_init(struct proto_incoming *in, const struct proto_identity *me,
				     const uint8_t *msg, size_t len, const struct wire_init *init);

/* Answer an accepted initiation: writes WIRE_RESP_LEN bytes into out and installs
 * the new keypair (as responder, into s->next). Returns the length, or 0. */
size_t proto_create_resp(struct proto_incoming *in, const uint8_t e_priv[NOISE_KEY_LEN],
			 uint32_t sender_index, struct session *s, uint64_t now_ms, uint8_t *out,
			 size_t cap);
void proto_incoming_wipe(struct proto_incoming *in);

/* ---- data ---- */

/* The bytes just before a data message that proto_seal_data and
 * proto_open_data borrow and restore (with the header, the cipher's scratch
 * block: aead.h). Every buffer a data message is built or received in has
 * them. */
#define PROTO_DATA_HEADROOM (AEAD_FRAME_HEADROOM - WIRE_DATA_HEADER_LEN)

/* len zeroed bytes for data messages, with PROTO_DATA_HEADROOM more before
 * them; NULL when out of memory. Free with proto_data_buf_free. */
uint8_t *proto_data_buf_alloc(size_t len);
void proto_data_buf_free(uint8_t *buf);

/*
 * Seal a frame into a data message in place. msg points at WIRE_DATA_HEADER_LEN
 * bytes of headroom, followed by frame_len bytes of frame, followed by room for
 * NOISE_TAG_LEN bytes; the PROTO_DATA_HEADROOM bytes before msg are the
 * caller's. frame_len 0 makes a keepalive. Returns the message length, or 0
 * with *why set when no keypair may send.
 */
size_t proto_seal_data(struct session *s, uint8_t *msg, size_t frame_len, uint64_t now_ms,
		       enum session_result *why);

/*
 * The same for a run of frames to one session, in order: what proto_seal_data
 * would do on each in turn, the cipher's work for all of them done at once
 * (aead_seal_frames: two frames' last keystream blocks share a pass). Each
 * message is encrypted when this returns; its tag may be deferred
 * (aead_defer_tags).
 */
#define PROTO_SEAL_RUN_MAX 64
struct proto_seal {
	uint8_t *msg; /* as proto_seal_data's */
	size_t frame_len;
	uint8_t flags; /* WIRE_DATA_*: sent in the header, bound by the nonce */
	size_t len;		 /* set: the message length, or 0 if not sealed */
	enum session_result why; /* set: SESSION_OK, or why not */
};
/* Fastest with n <= PROTO_SEAL_RUN_MAX (one pass; more take several). */
void proto_seal_data_run(struct session *s, struct proto_seal *run, size_t n, uint64_t now_ms);

/* Open a decoded data message in place (the PROTO_DATA_HEADROOM bytes before
 * the message are the caller's). On SESSION_OK, *frame and *frame_len
 * give the plaintext frame (length 0 for a keepalive); the session has taken
 * note (a responder's next keypair confirmed). */
enum session_result proto_open_data(struct session *s, struct wire_data *d, uint64_t now_ms,
				    uint8_t **frame, size_t *frame_len);

/*
 * The same for a run of data messages to one session, the cipher's work for
 * all of them done at once (aead_open_frames: up to eight tags in one pass).
 * proto_open_data_check checks each message's keypair and tag, changing no
 * state; then proto_open_data_finish, called on each message in order before
 * its frame is used, does the rest of proto_open_data: together they do what
 * proto_open_data would on each in turn, whatever finishing one does to the
 * session.
 */
#define PROTO_OPEN_RUN_MAX 64
struct proto_open {
	struct wire_data d; /* decoded by the caller */
	enum session_result result;
};
/* Fastest with n <= PROTO_OPEN_RUN_MAX (one pass; more take several). */
void proto_open_data_check(struct session *s, struct proto_open *run, size_t n, uint64_t now_ms);
enum session_result proto_open_data_finish(struct session *s, struct proto_open *op,
					   uint8_t **frame, size_t *frame_len);

#endif
