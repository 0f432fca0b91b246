/*
 * proto: a whole port-to-switch exchange without sockets — handshake, key
 * confirmation, frames both ways, rekey, and the refusals on the way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "proto.h"

struct node {
	struct proto_identity id;
	struct session session;
};

static struct node port, sw;
static uint8_t e_port[NOISE_KEY_LEN], e_sw[NOISE_KEY_LEN];

/* Every test ends with its nodes' sessions, and the initiation if any, wiped. */
static void wipe_nodes(struct proto_initiation *pi)
{
	session_wipe(&port.session);
	session_wipe(&sw.session);
	if (pi)
		noise_wipe(&pi->hs);
}

static void make_node(struct node *n, uint8_t seed)
{
	uint8_t priv[NOISE_KEY_LEN];

	memset(priv, seed, sizeof(priv));
	priv[0] &= 248;
	assert_true(proto_identity_init(&n->id, priv));
	memset(&n->session, 0, sizeof(n->session));
}

static int setup(void **state)
{
	(void)state;
	assert_true(sodium_init() >= 0);
	make_node(&port, 1);
	make_node(&sw, 2);
	memset(e_port, 3, sizeof(e_port));
	memset(e_sw, 4, sizeof(e_sw));
	return 0;
}

static void stamp(uint8_t ts[WIRE_TIMESTAMP_LEN], uint64_t sec)
{
	wire_timestamp_encode(ts, sec, 0);
}

/* Port initiates, switch answers; returns the switch's view of the initiator. */
static void handshake(struct proto_initiation *pi, uint64_t now, uint32_t port_idx,
		      uint32_t sw_idx)
{
	uint8_t init[WIRE_INIT_LEN], resp[WIRE_RESP_LEN], ts[WIRE_TIMESTAMP_LEN];
	struct proto_incoming in;
	struct wire_init wi;
	struct wire_resp wr;

	stamp(ts, now);
	assert_int_equal(proto_create_init(pi, &port.id, sw.id.pub, e_port, ts, port_idx, init,
					   sizeof(init)),
			 WIRE_INIT_LEN);
	assert_int_equal(wire_decode_init(init, sizeof(init), &wi), WIRE_OK);
	assert_int_equal(proto_consume_init(&in, &sw.id, init, sizeof(init), &wi), PROTO_OK);
	assert_memory_equal(in.hs.rs, port.id.pub, NOISE_KEY_LEN);
	assert_memory_equal(in.timestamp, ts, WIRE_TIMESTAMP_LEN);
	assert_int_equal(proto_create_resp(&in, e_sw, sw_idx, &sw.session, now, resp, sizeof(resp)),
			 WIRE_RESP_LEN);
	proto_incoming_wipe(&in);
	assert_int_equal(wire_decode_resp(resp, sizeof(resp), &wr), WIRE_OK);
	assert_int_equal(proto_consume_resp(pi, &port.id, resp, sizeof(resp), &wr, &port.session,
					    now),
			 PROTO_OK);
}

#define MAX_FRAME 1600

/* Seal frame (len bytes) on from, open on to; returns the opened length. The
 * headroom before the message is borrowed by the cipher and must come back. */
static enum session_result transfer(struct node *from, struct node *to, const char *frame,
				    size_t len, uint64_t now, size_t *out_len)
{
	static uint8_t room[PROTO_DATA_HEADROOM + WIRE_DATA_OVERHEAD + MAX_FRAME];
	uint8_t *msg = room + PROTO_DATA_HEADROOM, *opened, pattern[PROTO_DATA_HEADROOM];
	struct wire_data d;
	enum session_result why;
	size_t n;

	assert_true(len <= MAX_FRAME);
	randombytes_buf(pattern, sizeof(pattern));
	memcpy(room, pattern, sizeof(pattern));
	memcpy(msg + WIRE_DATA_HEADER_LEN, frame, len);
	n = proto_seal_data(&from->session, msg, len, now, &why);
	assert_memory_equal(room, pattern, sizeof(pattern));
	if (n == 0)
		return why;
	assert_int_equal(n, len + WIRE_DATA_OVERHEAD);
	assert_int_equal(wire_decode_data(msg, n, &d), WIRE_OK);
	why = proto_open_data(&to->session, &d, now, &opened, out_len);
	assert_memory_equal(room, pattern, sizeof(pattern));
	if (why == SESSION_OK)
		assert_memory_equal(opened, frame, len);
	return why;
}

static void test_handshake_then_data(void **state)
{
	struct proto_initiation pi = { 0 };
	size_t len;

	(void)state;
	handshake(&pi, 1000, 0x11111111, 0x22220001);
	/* The switch may not send before the port confirms the keypair. */
	assert_int_equal(transfer(&sw, &port, "hello", 5, 1000, &len), SESSION_NO_KEY);
	assert_int_equal(transfer(&port, &sw, "", 0, 1000, &len), SESSION_OK);
	assert_int_equal(len, 0);
	assert_int_equal(transfer(&sw, &port, "hello port", 10, 1001, &len), SESSION_OK);
	assert_int_equal(len, 10);
	assert_int_equal(transfer(&port, &sw, "hello switch", 12, 1002, &len), SESSION_OK);
	assert_int_equal(len, 12);
	/* Full-size frames take the OpenSSL path (aead.h), which borrows headroom. */
	for (size_t n = AEAD_FRAME_OPENSSL_MIN_LEN - 1; n <= MAX_FRAME; n += 83) {
		static char big[MAX_FRAME];

		randombytes_buf(big, n);
		assert_int_equal(transfer(&port, &sw, big, n, 1003, &len), SESSION_OK);
		assert_int_equal(len, n);
		assert_int_equal(transfer(&sw, &port, big, n, 1003, &len), SESSION_OK);
	}
	wipe_nodes(NULL);
}

static void test_rekey_keeps_traffic_flowing(void **state)
{
	struct proto_initiation pi = { 0 };
	uint64_t t = 5000;
	size_t len;

	(void)state;
	handshake(&pi, t, 1, 0x00010002);
	assert_int_equal(transfer(&port, &sw, "a", 1, t, &len), SESSION_OK);
	t += SESSION_REKEY_AFTER_MS;
	assert_true(session_needs_rekey(&port.session, t));
	assert_false(session_needs_rekey(&sw.session, t));
	handshake(&pi, t, 2, 0x00020002);
	/* Until confirmed, the switch still sends on the old keypair, which the
	 * port keeps as previous. */
	assert_int_equal(transfer(&sw, &port, "old", 3, t, &len), SESSION_OK);
	assert_int_equal(transfer(&port, &sw, "new", 3, t, &len), SESSION_OK);
	assert_int_equal(sw.session.current.local_index, 0x00020002);
	assert_int_equal(transfer(&sw, &port, "on new", 6, t, &len), SESSION_OK);
	assert_false(session_needs_rekey(&port.session, t));
	/* Keys past their life are refused both ways. */
	t += SESSION_REJECT_AFTER_MS;
	assert_int_equal(transfer(&port, &sw, "late", 4, t, &len), SESSION_NO_KEY);
	wipe_nodes(NULL);
}

static void test_wrong_switch_key_gets_bad_mac1(void **state)
{
	struct proto_initiation pi = { 0 };
	struct node other;
	struct proto_incoming in;
	struct wire_init wi;
	uint8_t init[WIRE_INIT_LEN], ts[WIRE_TIMESTAMP_LEN];

	(void)state;
	make_node(&other, 9);
	stamp(ts, 1);
	assert_int_equal(proto_create_init(&pi, &port.id, other.id.pub, e_port, ts, 7, init,
					   sizeof(init)),
			 WIRE_INIT_LEN);
	assert_int_equal(wire_decode_init(init, sizeof(init), &wi), WIRE_OK);
	assert_int_equal(proto_consume_init(&in, &sw.id, init, sizeof(init), &wi), PROTO_BAD_MAC1);
	proto_incoming_wipe(&in);
	noise_wipe(&pi.hs);
}

/* Seal frame on from with flags; returns the message length (0 if refused). */
static size_t seal_flagged(struct node *from, uint8_t *msg, const char *frame, size_t len,
			   uint8_t flags, uint64_t now)
{
	struct proto_seal ps = { .msg = msg, .frame_len = len, .flags = flags };

	memcpy(msg + WIRE_DATA_HEADER_LEN, frame, len);
	proto_seal_data_run(&from->session, &ps, 1, now);
	return ps.len;
}

/* A data message's flags travel in its header and are bound by its nonce: they
 * arrive as sent, and a flag set or cleared on the way makes the tag wrong. */
static void test_flags_are_authenticated(void **state)
{
	static uint8_t room[PROTO_DATA_HEADROOM + WIRE_DATA_OVERHEAD + MAX_FRAME];
	uint8_t *msg = room + PROTO_DATA_HEADROOM, *opened, sent[8 + WIRE_DATA_OVERHEAD];
	struct proto_initiation pi = { 0 };
	struct wire_data d;
	size_t n, len;

	(void)state;
	handshake(&pi, 1000, 0x11111111, 0x22220001);
	assert_int_equal(transfer(&port, &sw, "", 0, 1000, &len), SESSION_OK);

	n = seal_flagged(&port, msg, "partial", 7, WIRE_DATA_CSUM_PARTIAL, 1001);
	assert_int_equal(n, 7 + WIRE_DATA_OVERHEAD);
	assert_int_equal(msg[2], WIRE_DATA_CSUM_PARTIAL);
	assert_int_equal(wire_decode_data(msg, n, &d), WIRE_OK);
	assert_int_equal(d.flags, WIRE_DATA_CSUM_PARTIAL);
	assert_int_equal(proto_open_data(&sw.session, &d, 1001, &opened, &len), SESSION_OK);
	assert_int_equal(len, 7);
	assert_memory_equal(opened, "partial", 7);

	for (int set = 0; set < 2; set++) {
		uint8_t flags = set ? 0 : WIRE_DATA_CSUM_PARTIAL;

		n = seal_flagged(&port, msg, "tampered", 8, flags, 1002);
		assert_int_equal(n, 8 + WIRE_DATA_OVERHEAD);
		memcpy(sent, msg, n);
		msg[2] ^= WIRE_DATA_CSUM_PARTIAL;
		assert_int_equal(wire_decode_data(msg, n, &d), WIRE_OK);
		assert_int_equal(d.flags, flags ^ WIRE_DATA_CSUM_PARTIAL);
		assert_int_equal(proto_open_data(&sw.session, &d, 1002, &opened, &len),
				 SESSION_BAD_AUTH);
		/* Refused, it took no counter: as sent, the same message opens. */
		memcpy(msg, sent, n);
		assert_int_equal(wire_decode_data(msg, n, &d), WIRE_OK);
		assert_int_equal(proto_open_data(&sw.session, &d, 1002, &opened, &len), SESSION_OK);
		assert_memory_equal(opened, "tampered", 8);
	}
	wipe_nodes(&pi);
}

static void test_tampered_init_is_refused(void **state)
{
	struct proto_initiation pi = { 0 };
	struct proto_incoming in;
	struct wire_init wi;
	uint8_t init[WIRE_INIT_LEN], ts[WIRE_TIMESTAMP_LEN];
	uint8_t mac1_key[NOISE_KEY_LEN];

	(void)state;
	stamp(ts, 1);
	assert_int_equal(proto_create_init(&pi, &port.id, sw.id.pub, e_port, ts, 7, init,
					   sizeof(init)),
			 WIRE_INIT_LEN);
	/* Flip a byte of the encrypted static key and recompute mac1, as an
	 * attacker who knows the switch's public key can: Noise must refuse it. */
	init[WIRE_HEADER_LEN + WIRE_INDEX_LEN + NOISE_KEY_LEN + 3] ^= 1;
	wire_mac1_key(mac1_key, sw.id.pub);
	crypto_generichash_blake2b(init + WIRE_INIT_LEN - WIRE_MAC1_LEN, WIRE_MAC1_LEN, init,
				   WIRE_INIT_LEN - WIRE_MAC1_LEN, mac1_key, NOISE_KEY_LEN);
	assert_int_equal(wire_decode_init(init, sizeof(init), &wi), WIRE_OK);
	assert_int_equal(proto_consume_init(&in, &sw.id, init, sizeof(init), &wi),
			 PROTO_BAD_HANDSHAKE);
	proto_incoming_wipe(&in);
	noise_wipe(&pi.hs);
}

/* The port initiates with sender index 7, the switch answers into resp: the
 * response is not yet consumed. */
static void initiate_and_answer(struct proto_initiation *pi, uint8_t resp[WIRE_RESP_LEN])
{
	uint8_t init[WIRE_INIT_LEN], ts[WIRE_TIMESTAMP_LEN];
	struct proto_incoming in;
	struct wire_init wi;

	stamp(ts, 1);
	assert_int_equal(proto_create_init(pi, &port.id, sw.id.pub, e_port, ts, 7, init,
					   sizeof(init)),
			 WIRE_INIT_LEN);
	assert_int_equal(wire_decode_init(init, sizeof(init), &wi), WIRE_OK);
	assert_int_equal(proto_consume_init(&in, &sw.id, init, sizeof(init), &wi), PROTO_OK);
	assert_int_equal(proto_create_resp(&in, e_sw, 9, &sw.session, 1, resp, WIRE_RESP_LEN),
			 WIRE_RESP_LEN);
	proto_incoming_wipe(&in);
}

static void test_unexpected_response_is_refused(void **state)
{
	struct proto_initiation pi = { 0 }, stale = { 0 };
	uint8_t resp[WIRE_RESP_LEN];
	struct wire_resp wr;

	(void)state;
	initiate_and_answer(&pi, resp);
	assert_int_equal(wire_decode_resp(resp, sizeof(resp), &wr), WIRE_OK);
	/* No initiation pending on this state. */
	assert_int_equal(proto_consume_resp(&stale, &port.id, resp, sizeof(resp), &wr,
					    &port.session, 1),
			 PROTO_UNEXPECTED);
	/* The right one works once, and a replay of the response is then unexpected. */
	assert_int_equal(proto_consume_resp(&pi, &port.id, resp, sizeof(resp), &wr, &port.session,
					    1),
			 PROTO_OK);
	assert_int_equal(proto_consume_resp(&pi, &port.id, resp, sizeof(resp), &wr, &port.session,
					    1),
			 PROTO_UNEXPECTED);
	wipe_nodes(NULL);
}

/* A forged response with the right index and a valid mac1 (anyone who knows
 * the port's public key can make one) is refused and does not cancel the
 * initiation: the real response still completes it. */
static void test_forged_response_keeps_initiation(void **state)
{
	struct proto_initiation pi = { 0 };
	uint8_t resp[WIRE_RESP_LEN], forged[WIRE_RESP_LEN];
	uint8_t mac1_key[NOISE_KEY_LEN], junk[WIRE_RESP_NOISE_LEN];
	struct wire_resp wr, wf;

	(void)state;
	initiate_and_answer(&pi, resp);
	memset(junk, 0x42, sizeof(junk));
	wire_mac1_key(mac1_key, port.id.pub);
	assert_int_equal(wire_encode_resp(forged, sizeof(forged), 1234, 7, junk, sizeof(junk),
					  mac1_key),
			 WIRE_RESP_LEN);
	assert_int_equal(wire_decode_resp(forged, sizeof(forged), &wf), WIRE_OK);
	assert_int_equal(proto_consume_resp(&pi, &port.id, forged, sizeof(forged), &wf,
					    &port.session, 1),
			 PROTO_BAD_HANDSHAKE);
	assert_false(port.session.current.is_valid);
	assert_int_equal(wire_decode_resp(resp, sizeof(resp), &wr), WIRE_OK);
	assert_int_equal(proto_consume_resp(&pi, &port.id, resp, sizeof(resp), &wr, &port.session,
					    1),
			 PROTO_OK);
	assert_true(port.session.current.is_valid);
	wipe_nodes(NULL);
}

static void test_replayed_data_is_refused(void **state)
{
	struct proto_initiation pi = { 0 };
	uint8_t room[PROTO_DATA_HEADROOM + 64], *msg = room + PROTO_DATA_HEADROOM;
	uint8_t copy_room[PROTO_DATA_HEADROOM + 64], *copy = copy_room + PROTO_DATA_HEADROOM, *frame;
	struct wire_data d;
	enum session_result why;
	size_t n, len;

	(void)state;
	handshake(&pi, 1, 1, 2);
	memcpy(msg + WIRE_DATA_HEADER_LEN, "frame", 5);
	n = proto_seal_data(&port.session, msg, 5, 1, &why);
	assert_int_not_equal(n, 0);
	memcpy(copy, msg, n);
	assert_int_equal(wire_decode_data(msg, n, &d), WIRE_OK);
	assert_int_equal(proto_open_data(&sw.session, &d, 1, &frame, &len), SESSION_OK);
	assert_int_equal(wire_decode_data(copy, n, &d), WIRE_OK);
	assert_int_equal(proto_open_data(&sw.session, &d, 1, &frame, &len), SESSION_REPLAY);
	wipe_nodes(NULL);
}

/*
 * Opening a run of data messages together (proto_open_data_check, then
 * proto_open_data_finish on each) against opening them one by one with the
 * session module's steps (open_alone), the naive reference. The switch holds
 * three keypairs: previous (Z), current (A) and an unconfirmed next (B); the
 * port made eight messages on each, of lengths on both sides of the cipher's
 * paths. Each trial opens a random run of 1-64 of them, repeats included
 * (replays), some forged, some for an unknown index, from the same starting
 * session both ways: the first message on B confirms it, which makes A
 * previous and wipes Z, so Z's messages after it must fail though their tags
 * were checked before. Results, frames and the sessions afterwards must be
 * the same.
 */
#define MADE 24
#define RUN_ROOM (PROTO_DATA_HEADROOM + WIRE_DATA_OVERHEAD + MAX_FRAME)

static uint8_t made[MADE][RUN_ROOM], run_room[PROTO_OPEN_RUN_MAX][RUN_ROOM], ref_room[RUN_ROOM];
static size_t made_len[MADE];

static void make_messages(size_t first, uint64_t now)
{
	static const size_t lens[] = { 0, 10, 63, 64, 200, 1434, 1434, 1434 };
	enum session_result why;

	for (size_t i = 0; i < 8; i++) {
		uint8_t *msg = made[first + i] + PROTO_DATA_HEADROOM;

		randombytes_buf(msg + WIRE_DATA_HEADER_LEN, lens[i]);
		made_len[first + i] = proto_seal_data(&port.session, msg, lens[i], now, &why);
		assert_int_not_equal(made_len[first + i], 0);
	}
}

/* The reference: a message opened alone, through the session module's own
 * steps (not proto_open_data, which is now check and finish on one). */
static enum session_result open_alone(struct session *s, struct wire_data *d, uint64_t now,
				      uint8_t **frame, size_t *len)
{
	struct keypair *kp = session_find(s, d->receiver_index);
	enum session_result r;

	if (!kp)
		return SESSION_NO_KEY;
	r = keypair_open(kp, d->counter, d->ciphertext, d->ciphertext_len, now);
	if (r != SESSION_OK)
		return r;
	session_received_on(s, kp);
	*frame = d->ciphertext;
	*len = d->ciphertext_len - NOISE_TAG_LEN;
	return SESSION_OK;
}

/* The end of a run test: the node's session put back as it was, the
 * reference and the saved copy wiped with everything else. */
static void end_run_test(struct session *s, struct session *base, struct session *ref,
			 struct proto_initiation *pi)
{
	memcpy(s, base, sizeof(*base));
	session_wipe(ref);
	session_wipe(base);
	wipe_nodes(pi);
}

/* Message `pick` into room, forged (a flipped bit) or to an unknown index if
 * asked, decoded into d. */
static void prepare(uint8_t *room, size_t pick, int twist, struct wire_data *d)
{
	uint8_t *msg = room + PROTO_DATA_HEADROOM;
	size_t len = made_len[pick];

	memcpy(msg, made[pick] + PROTO_DATA_HEADROOM, len);
	if (twist == 1)
		msg[WIRE_DATA_HEADER_LEN + (pick * 7) % (len - WIRE_DATA_HEADER_LEN)] ^= 0x10;
	assert_int_equal(wire_decode_data(msg, len, d), WIRE_OK);
	if (twist == 2)
		d->receiver_index ^= 0x8000;
}

static void test_run_opens_as_one_by_one(void **state)
{
	struct proto_initiation pi = { 0 };
	struct session base, ref;
	static struct proto_open ops[PROTO_OPEN_RUN_MAX];
	size_t pick[PROTO_OPEN_RUN_MAX], len, ref_len, run_len;
	int twist[PROTO_OPEN_RUN_MAX];
	uint64_t t = 7000;
	uint8_t *ref_frame, *run_frame;

	(void)state;
	handshake(&pi, t, 1, 0x101);
	assert_int_equal(transfer(&port, &sw, "", 0, t, &len), SESSION_OK);
	make_messages(0, t);
	handshake(&pi, t, 2, 0x202);
	assert_int_equal(transfer(&port, &sw, "", 0, t, &len), SESSION_OK);
	make_messages(8, t);
	handshake(&pi, t, 3, 0x303);
	make_messages(16, t);
	assert_true(sw.session.previous.is_valid && sw.session.next.is_valid);
	memcpy(&base, &sw.session, sizeof(base));
	for (int trial = 0; trial < 400; trial++) {
		size_t n = 1 + randombytes_uniform(PROTO_OPEN_RUN_MAX);

		memcpy(&ref, &base, sizeof(ref));
		memcpy(&sw.session, &base, sizeof(base));
		for (size_t i = 0; i < n; i++) {
			uint32_t roll = randombytes_uniform(20);

			pick[i] = randombytes_uniform(MADE);
			twist[i] = roll == 0 ? 1 : roll == 1 ? 2 : 0;
			prepare(run_room[i], pick[i], twist[i], &ops[i].d);
		}
		proto_open_data_check(&sw.session, ops, n, t);
		for (size_t i = 0; i < n; i++) {
			struct wire_data d;
			enum session_result want, got;

			prepare(ref_room, pick[i], twist[i], &d);
			want = open_alone(&ref, &d, t, &ref_frame, &ref_len);
			got = proto_open_data_finish(&sw.session, &ops[i], &run_frame, &run_len);
			assert_int_equal(got, want);
			if (want == SESSION_OK) {
				assert_int_equal(run_len, ref_len);
				assert_memory_equal(run_frame, ref_frame, ref_len);
			}
		}
		assert_memory_equal(&sw.session, &ref, sizeof(ref));
	}
	end_run_test(&sw.session, &base, &ref, &pi);
}

#define SEAL_RUN 150 /* more than one pass of proto_seal_data_run */

static uint8_t seal_room[SEAL_RUN][RUN_ROOM], seal_ref[SEAL_RUN][RUN_ROOM];

/* The reference: proto_seal_data as it was before runs, from the session
 * module's own steps. */
static size_t seal_alone(struct session *s, uint8_t *msg, size_t len, uint64_t now,
			 enum session_result *why)
{
	struct keypair *kp = session_send_keypair(s, now);
	uint64_t counter;

	*why = kp ? keypair_seal(kp, msg + WIRE_DATA_HEADER_LEN, len, now, &counter)
		  : SESSION_NO_KEY;
	if (*why != SESSION_OK)
		return 0;
	wire_encode_data_header(msg, 0, kp->remote_index, counter);
	return len + WIRE_DATA_OVERHEAD;
}

/* Runs of 0-150 frames of every kind of length, some near the keypair's
 * message limit or with no keypair at all: the same messages, results and
 * session afterwards as sealing them one by one; the headroom comes back. */
static void test_run_seals_as_one_by_one(void **state)
{
	struct proto_initiation pi = { 0 };
	struct session base, ref;
	static struct proto_seal run[SEAL_RUN];
	uint8_t pattern[PROTO_DATA_HEADROOM];
	size_t len;

	(void)state;
	handshake(&pi, 9000, 4, 0x404);
	assert_int_equal(transfer(&port, &sw, "", 0, 9000, &len), SESSION_OK);
	memcpy(&base, &port.session, sizeof(base));
	randombytes_buf(pattern, sizeof(pattern));
	for (int trial = 0; trial < 300; trial++) {
		size_t n = randombytes_uniform(SEAL_RUN + 1);
		uint32_t roll = randombytes_uniform(10);

		memcpy(&port.session, &base, sizeof(base));
		if (roll == 0) /* the limit falls inside the run */
			port.session.current.send_counter =
				SESSION_REJECT_AFTER_MESSAGES - randombytes_uniform(SEAL_RUN);
		else if (roll == 1)
			port.session.current.is_valid = false;
		memcpy(&ref, &port.session, sizeof(ref));
		for (size_t i = 0; i < n; i++) {
			size_t frame_len = randombytes_uniform(3) ? 1434
								  : randombytes_uniform(MAX_FRAME + 1);
			uint8_t *msg = seal_room[i] + PROTO_DATA_HEADROOM;

			memcpy(seal_room[i], pattern, sizeof(pattern));
			randombytes_buf(msg + WIRE_DATA_HEADER_LEN, frame_len);
			memcpy(seal_ref[i], seal_room[i], RUN_ROOM);
			run[i] = (struct proto_seal){ .msg = msg, .frame_len = frame_len };
		}
		proto_seal_data_run(&port.session, run, n, 9000);
		for (size_t i = 0; i < n; i++) {
			enum session_result why;
			size_t want = seal_alone(&ref, seal_ref[i] + PROTO_DATA_HEADROOM,
						 run[i].frame_len, 9000, &why);

			assert_int_equal(run[i].why, why);
			assert_int_equal(run[i].len, want);
			assert_memory_equal(seal_room[i], pattern, sizeof(pattern));
			if (want)
				assert_memory_equal(run[i].msg, seal_ref[i] + PROTO_DATA_HEADROOM,
						    want);
		}
		assert_memory_equal(&port.session, &ref, sizeof(ref));
	}
	end_run_test(&port.session, &base, &ref, &pi);
}

/* The headroom before a data buffer is the caller's to write (ASan would
 * catch a short allocation); the buffer starts zeroed; a size that cannot be
 * allocated gives NULL. */
static void test_data_buffer_has_headroom(void **state)
{
	enum { LEN = 3000 };
	uint8_t *buf = proto_data_buf_alloc(LEN);

	(void)state;
	assert_non_null(buf);
	for (size_t i = 0; i < LEN; i++)
		assert_int_equal(buf[i], 0);
	memset(buf - PROTO_DATA_HEADROOM, 0x5a, PROTO_DATA_HEADROOM + LEN);
	proto_data_buf_free(buf);
	proto_data_buf_free(NULL);
	assert_null(proto_data_buf_alloc(SIZE_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_then_data),
		cmocka_unit_test(test_rekey_keeps_traffic_flowing),
		cmocka_unit_test(test_wrong_switch_key_gets_bad_mac1),
		cmocka_unit_test(test_flags_are_authenticated),
		cmocka_unit_test(test_tampered_init_is_refused),
		cmocka_unit_test(test_unexpected_response_is_refused),
		cmocka_unit_test(test_replayed_data_is_refused),
		cmocka_unit_test(test_run_opens_as_one_by_one),
		cmocka_unit_test(test_run_seals_as_one_by_one),
		cmocka_unit_test(test_forged_response_keeps_initiation),
		cmocka_unit_test(test_data_buffer_has_headroom),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
