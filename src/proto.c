/* proto — handshake and data messages between two nodes. See proto.h. */
#include "proto.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char *const result_names[PROTO_RESULT_COUNT] = {
	[PROTO_OK] = "ok",
	[PROTO_BAD_MAC1] = "bad_mac1",
	[PROTO_BAD_HANDSHAKE] = "bad_handshake",
	[PROTO_UNEXPECTED] = "unexpected_response",
};

const char *proto_result_name(enum proto_result r)
{
	return (unsigned)r < PROTO_RESULT_COUNT ? result_names[r] : "unknown";
}

static const uint8_t prologue[] = WIRE_PROLOGUE;
#define PROLOGUE_LEN (sizeof(prologue) - 1)

bool proto_identity_init(struct proto_identity *id, const uint8_t priv[NOISE_KEY_LEN])
{
	memcpy(id->priv, priv, NOISE_KEY_LEN);
	if (noise_public_key(id->pub, id->priv) != 0) {
		proto_identity_wipe(id);
		return false;
	}
	wire_mac1_key(id->mac1_key, id->pub);
	return true;
}

void proto_identity_wipe(struct proto_identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

size_t proto_create_init(struct proto_initiation *pi, const struct proto_identity *me,
			 const uint8_t peer_pub[NOISE_KEY_LEN], const uint8_t e_priv[NOISE_KEY_LEN],
			 const uint8_t timestamp[WIRE_TIMESTAMP_LEN], uint32_t sender_index,
			 uint8_t *out, size_t cap)
{
	uint8_t noise_msg[WIRE_INIT_NOISE_LEN];
	uint8_t peer_mac1_key[NOISE_KEY_LEN];
	size_t noise_len = 0;
	size_t len;

	noise_wipe(&pi->hs);
	pi->is_pending = false;
	noise_init_initiator(&pi->hs, prologue, PROLOGUE_LEN, me->priv, peer_pub);
	if (noise_write_msg1(&pi->hs, e_priv, timestamp, WIRE_TIMESTAMP_LEN, noise_msg,
			     sizeof(noise_msg), &noise_len) != 0)
		goto fail;
	wire_mac1_key(peer_mac1_key, peer_pub);
	len = wire_encode_init(out, cap, sender_index, noise_msg, noise_len, peer_mac1_key);
	if (len == 0)
		goto fail;
	pi->sender_index = sender_index;
	pi->is_pending = true;
	return len;
fail:
	noise_wipe(&pi->hs);
	return 0;
}

enum proto_result proto_consume_resp(struct proto_initiation *pi, const struct proto_identity *me,
				     const uint8_t *msg, size_t len, const struct wire_resp *resp,
				     struct session *s, uint64_t now_ms)
{
	uint8_t send_key[NOISE_KEY_LEN], recv_key[NOISE_KEY_LEN];
	uint8_t payload[1]; /* the response carries no payload; any is refused */
	struct noise_handshake trial;
	size_t payload_len;
	bool ok;

	(void)len;
	if (!wire_mac1_valid(msg, resp->mac1_offset, resp->mac1, me->mac1_key))
		return PROTO_BAD_MAC1;
	if (!pi->is_pending || resp->receiver_index != pi->sender_index)
		return PROTO_UNEXPECTED;
	/* Read into a copy: a forged response (from someone on the path who saw
	 * our index) must not cancel the initiation the real one answers. */
	trial = pi->hs;
	ok = noise_read_msg2(&trial, resp->noise, WIRE_RESP_NOISE_LEN, payload, 0, &payload_len) ==
		     0 &&
	     payload_len == 0 && noise_split(&trial, send_key, recv_key) == 0;
	noise_wipe(&trial);
	if (!ok)
		return PROTO_BAD_HANDSHAKE;
	pi->is_pending = false;
	session_install(s, send_key, recv_key, pi->sender_index, resp->sender_index, true, now_ms);
	sodium_memzero(send_key, sizeof(send_key));
	sodium_memzero(recv_key, sizeof(recv_key));
	noise_wipe(&pi->hs);
	return PROTO_OK;
}

enum proto_result proto_consume_init(struct proto_incoming *in, const struct proto_identity *me,
				     const uint8_t *msg, size_t len, const struct wire_init *init)
{
	size_t payload_len = 0;

	(void)len;
	if (!wire_mac1_valid(msg, init->mac1_offset, init->mac1, me->mac1_key))
		return PROTO_BAD_MAC1;
	noise_init_responder(&in->hs, prologue, PROLOGUE_LEN, me->priv);
	if (noise_read_msg1(&in->hs, init->noise, WIRE_INIT_NOISE_LEN, in->timestamp,
			    sizeof(in->timestamp), &payload_len) != 0 ||
	    payload_len != WIRE_TIMESTAMP_LEN)
		return PROTO_BAD_HANDSHAKE;
	in->sender_index = init->sender_index;
	return PROTO_OK;
}

size_t proto_create_resp(struct proto_incoming *in, const uint8_t e_priv[NOISE_KEY_LEN],
			 uint32_t sender_index, struct session *s, uint64_t now_ms, uint8_t *out,
			 size_t cap)
{
	uint8_t noise_msg[WIRE_RESP_NOISE_LEN];
	uint8_t peer_mac1_key[NOISE_KEY_LEN];
	uint8_t send_key[NOISE_KEY_LEN], recv_key[NOISE_KEY_LEN];
	static const uint8_t no_payload[1];
	size_t noise_len = 0;
	size_t len;

	if (noise_write_msg2(&in->hs, e_priv, no_payload, 0, noise_msg, sizeof(noise_msg), &noise_len) !=
		    0 ||
	    noise_split(&in->hs, send_key, recv_key) != 0)
		return 0;
	wire_mac1_key(peer_mac1_key, in->hs.rs);
	len = wire_encode_resp(out, cap, sender_index, in->sender_index, noise_msg, noise_len,
			       peer_mac1_key);
	if (len != 0)
		session_install(s, send_key, recv_key, sender_index, in->sender_index, false,
				now_ms);
	sodium_memzero(send_key, sizeof(send_key));
	sodium_memzero(recv_key, sizeof(recv_key));
	return len;
}

void proto_incoming_wipe(struct proto_incoming *in)
{
	noise_wipe(&in->hs);
	sodium_memzero(in, sizeof(*in));
}

size_t proto_seal_data(struct session *s, uint8_t *msg, size_t frame_len, uint64_t now_ms,
		       enum session_result *why)
{
	struct proto_seal one = { .msg = msg, .frame_len = frame_len };

	proto_seal_data_run(s, &one, 1, now_ms);
	*why = one.why;
	return one.len;
}

/* A data message's nonce: its flags, three zero bytes, its counter (little
 * endian). Without flags this is Noise's transport nonce; with them, a flag
 * changed on the way makes the tag wrong. */
static void data_nonce(uint8_t nonce[NOISE_NONCE_LEN], uint8_t flags, uint64_t counter)
{
	noise_nonce(nonce, counter);
	nonce[0] = flags;
}

/* At most PROTO_SEAL_RUN_MAX messages: each takes its keypair and counter in
 * turn, as proto_seal_data would, then the cipher seals them together. */
static void seal_run(struct session *s, struct proto_seal *run, size_t n, uint64_t now_ms)
{
	struct aead_seal_job jobs[PROTO_SEAL_RUN_MAX];
	const struct keypair *kps[PROTO_SEAL_RUN_MAX];
	uint64_t counters[PROTO_SEAL_RUN_MAX];
	size_t which[PROTO_SEAL_RUN_MAX], m = 0;

	for (size_t i = 0; i < n; i++) {
		struct proto_seal *ps = &run[i];
		struct keypair *kp = session_send_keypair(s, now_ms);

		ps->len = 0;
		ps->why = kp ? keypair_take_counter(kp, now_ms, &counters[m]) : SESSION_NO_KEY;
		if (ps->why != SESSION_OK)
			continue;
		jobs[m].key = kp->send_key;
		data_nonce(jobs[m].nonce, ps->flags, counters[m]);
		jobs[m].buf = ps->msg + WIRE_DATA_HEADER_LEN;
		jobs[m].len = ps->frame_len;
		kps[m] = kp;
		which[m++] = i;
	}
	aead_seal_frames(jobs, m);
	for (size_t k = 0; k < m; k++) {
		struct proto_seal *ps = &run[which[k]];

		if (jobs[k].result != 0) {
			ps->why = SESSION_CRYPTO_ERROR;
			continue;
		}
		wire_encode_data_header(ps->msg, ps->flags, kps[k]->remote_index, counters[k]);
		ps->len = WIRE_DATA_HEADER_LEN + ps->frame_len + NOISE_TAG_LEN;
	}
}

void proto_seal_data_run(struct session *s, struct proto_seal *run, size_t n, uint64_t now_ms)
{
	for (size_t i = 0; i < n; i += PROTO_SEAL_RUN_MAX)
		seal_run(s, run + i, n - i < PROTO_SEAL_RUN_MAX ? n - i : PROTO_SEAL_RUN_MAX,
			 now_ms);
}

enum session_result proto_open_data(struct session *s, struct wire_data *d, uint64_t now_ms,
				    uint8_t **frame, size_t *frame_len)
{
	struct proto_open op = { .d = *d };

	proto_open_data_check(s, &op, 1, now_ms);
	return proto_open_data_finish(s, &op, frame, frame_len);
}

void proto_open_data_check(struct session *s, struct proto_open *run, size_t n, uint64_t now_ms)
{
	struct aead_open_job jobs[PROTO_OPEN_RUN_MAX];
	size_t which[PROTO_OPEN_RUN_MAX], m = 0;

	if (n > PROTO_OPEN_RUN_MAX) { /* the rest as runs of their own: no state changes */
		proto_open_data_check(s, run + PROTO_OPEN_RUN_MAX, n - PROTO_OPEN_RUN_MAX, now_ms);
		n = PROTO_OPEN_RUN_MAX;
	}
	for (size_t i = 0; i < n; i++) {
		struct proto_open *op = &run[i];
		struct keypair *kp = session_find(s, op->d.receiver_index);

		op->result = kp ? keypair_may_open(kp, now_ms) : SESSION_NO_KEY;
		if (op->result == SESSION_OK && op->d.ciphertext_len < NOISE_TAG_LEN)
			op->result = SESSION_BAD_AUTH;
		if (op->result != SESSION_OK)
			continue;
		jobs[m].key = kp->recv_key;
		data_nonce(jobs[m].nonce, op->d.flags, op->d.counter);
		jobs[m].buf = op->d.ciphertext;
		jobs[m].len = op->d.ciphertext_len;
		which[m++] = i;
	}
	aead_open_frames(jobs, m);
	for (size_t k = 0; k < m; k++)
		if (jobs[k].result != 0)
			run[which[k]].result = SESSION_BAD_AUTH;
}

/* The keypair is looked up again: finishing an earlier message of the run
 * may have moved it (a responder's next keypair confirmed) or wiped it, and
 * one by one, a message for a wiped keypair is refused before its tag is
 * looked at. */
enum session_result proto_open_data_finish(struct session *s, struct proto_open *op,
					   uint8_t **frame, size_t *frame_len)
{
	struct keypair *kp = session_find(s, op->d.receiver_index);
	enum session_result r;

	if (!kp)
		return SESSION_NO_KEY;
	if (op->result != SESSION_OK)
		return op->result;
	r = keypair_accept(kp, op->d.counter);
	if (r != SESSION_OK)
		return r;
	session_received_on(s, kp);
	*frame = op->d.ciphertext;
	*frame_len = op->d.ciphertext_len - NOISE_TAG_LEN;
	return SESSION_OK;
}

uint8_t *proto_data_buf_alloc(size_t len)
{
	uint8_t *mem = len <= SIZE_MAX - PROTO_DATA_HEADROOM ? calloc(1, PROTO_DATA_HEADROOM + len)
							      : NULL;

	return mem ? mem + PROTO_DATA_HEADROOM : NULL;
}

void proto_data_buf_free(uint8_t *buf)
{
	if (buf)
		free(buf - PROTO_DATA_HEADROOM);
}
