/*
 * Unit tests for session.c: the replay window as a numbered table of counters
 * fed in order (after WireGuard's selftest/counter.c) and as a randomized run
 * against a naive reference; keypair seal/open between an initiator and a
 * responder holding mirrored keys; keypair rotation, rekey and expiry policy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aead.h"
#include "session.h"

#define W ((uint64_t)REPLAY_WINDOW_SIZE)
#define RING ((uint64_t)REPLAY_BLOCKS * REPLAY_BLOCK_BITS) /* 4096 counters */
#define REJECT SESSION_REJECT_AFTER_MESSAGES
#define T0 1000000u /* birth time of the first keypairs */

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* ---- replay window: table ---- */

struct replay_case {
	int id;
	uint64_t counter;
	bool want;
};

/* Fed in order into one fresh window. */
static const struct replay_case replay_cases[] = {
	{ 1, 0, true },		       /* 0 first */
	{ 2, 0, false },	       /* duplicate of 0 */
	{ 3, 1, true },		       /* in order */
	{ 4, 1, false },	       /* duplicate */
	{ 5, 9, true },		       /* skip ahead */
	{ 6, 8, true },		       /* out of order, within the window */
	{ 7, 7, true },
	{ 8, 7, false },
	{ 9, 2, true },		       /* far back but inside */
	{ 10, 9, false },	       /* top again */
	{ 11, W + 1, true },	       /* top = W + 1: 1 is exactly W behind */
	{ 12, 1, false },	       /* seen */
	{ 13, 0, false },	       /* W + 1 behind: too old (and seen) */
	{ 14, 3, true },	       /* W - 2 behind, unseen */
	{ 15, W + 2, true },	       /* top = W + 2 */
	{ 16, 2, false },	       /* W behind, but seen */
	{ 17, 4, true },	       /* W - 2 behind, unseen */
	{ 18, 1000, true },
	/* The exact edge on a fresh top, unseen both: W behind accepted, W + 1 refused. */
	{ 19, 10000, true },
	{ 20, 10000 - W, true },
	{ 21, 10000 - W - 1, false },
	{ 22, 10000 - W, false },     /* now seen */
	{ 23, 10000 - W + 1, true },
	{ 24, 10000 - 1, true },      /* just below the top */
	{ 25, 10000 + 1, true },      /* just above */
	{ 26, 10000, false },
	/* A jump of more than the whole ring: everything before it is too old or
	 * unseen, and no stale bit survives. */
	{ 27, 10001 + 3 * RING + 5, true },
	{ 28, 10001 + 3 * RING + 5 - W, true },
	{ 29, 10001 + 3 * RING + 5 - W - 1, false },
	{ 30, 10001 + 2 * RING + 5, false },      /* the same ring slot, but too old */
	{ 31, 10000 + 3 * RING, true }, /* shares a ring slot with 10000: cleared */
	{ 32, 9999 + 3 * RING, true },
	{ 33, 10001 + 3 * RING + 4, true },
	{ 34, 10001, false },
	/* The message limit. */
	{ 35, REJECT, false },
	{ 36, REJECT + 1, false },
	{ 37, UINT64_MAX, false },
	{ 38, REJECT - 1, true },
	{ 39, REJECT - 1, false },
	{ 40, REJECT, false },
	{ 41, REJECT - 2, true },
	{ 42, REJECT - 1 - W, true },
	{ 43, REJECT - 2 - W, false },
	{ 44, 0, false },
};

static void test_replay_table(void **state)
{
	struct replay_window w;

	(void)state;
	memset(&w, 0, sizeof(w));
	for (size_t i = 0; i < sizeof(replay_cases) / sizeof(replay_cases[0]); i++) {
		const struct replay_case *c = &replay_cases[i];
		bool got = replay_accept(&w, c->counter);

		if (got != c->want)
			fail_msg("case %d: counter %llu: got %d, want %d", c->id,
				 (unsigned long long)c->counter, got, c->want);
	}
}

/* A jump by exactly 63, 64 and 65 blocks, after every counter up to the top was
 * seen: each counter in the new window is accepted exactly once. */
static void test_replay_jumps(void **state)
{
	static const uint64_t jumps[] = { 1, 63, 64, 65, RING - 1, RING, RING + 1, 63 * 64,
					  64 * 64, 65 * 64, 1000 * RING };

	(void)state;
	for (size_t j = 0; j < sizeof(jumps) / sizeof(jumps[0]); j++) {
		for (uint64_t start = 0; start < 130; start += 43) {
			struct replay_window w;
			uint64_t top = start + 2 * RING, new_top = top + jumps[j];

			memset(&w, 0, sizeof(w));
			for (uint64_t c = 0; c <= top; c++)
				assert_true(replay_accept(&w, c));
			assert_true(replay_accept(&w, new_top));
			for (uint64_t c = new_top - W; c < new_top; c++) {
				bool seen_before = c <= top;

				if (replay_accept(&w, c) == seen_before)
					fail_msg("jump %llu start %llu: counter %llu",
						 (unsigned long long)jumps[j],
						 (unsigned long long)start, (unsigned long long)c);
				assert_false(replay_accept(&w, c));
			}
			assert_false(replay_accept(&w, new_top - W - 1));
		}
	}
}

/* ---- replay window: randomized against a naive reference ---- */

/* xorshift64*: reproducible from the seed printed on failure. */
static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* The reference: every counter ever accepted, in a plain hash set, and the
 * highest. "Too old" is the documented rule, nothing cleverer. */
#define SET_SLOTS (1u << 18)
struct naive_window {
	uint64_t *slots; /* counter + 1; 0 = empty */
	size_t used;
	bool any;
	uint64_t highest;
};

static bool naive_seen(const struct naive_window *n, uint64_t c)
{
	for (size_t i = (size_t)(c * 0x9e3779b97f4a7c15ULL >> 46);; i = (i + 1) % SET_SLOTS) {
		if (n->slots[i] == 0)
			return false;
		if (n->slots[i] == c + 1)
			return true;
	}
}

static void naive_add(struct naive_window *n, uint64_t c)
{
	size_t i = (size_t)(c * 0x9e3779b97f4a7c15ULL >> 46);

	while (n->slots[i] != 0)
		i = (i + 1) % SET_SLOTS;
	n->slots[i] = c + 1;
	assert_true(++n->used < SET_SLOTS / 2);
}

static bool naive_accept(struct naive_window *n, uint64_t c)
{
	uint64_t next = n->any ? n->highest + 1 : 0;

	if (c >= REJECT)
		return false;
	if (c + 1 + W < next)
		return false;
	if (naive_seen(n, c))
		return false;
	naive_add(n, c);
	if (!n->any || c > n->highest)
		n->highest = c;
	n->any = true;
	return true;
}

/* The last counters tried, replayed to make duplicates common. */
static uint64_t recent[64];

static uint64_t pick_counter(uint64_t top)
{
	uint64_t r = rng() % 100, x = rng();

	if (r < 20) /* a counter tried recently: mostly a duplicate */
		return recent[x % 64];
	if (r < 45) /* near the top, either side */
		return top + 32 > x % 128 ? top + 32 - x % 128 : 0;
	if (r < 65) /* behind, around the window edge */
		return top >= x % (W + 200) ? top - x % (W + 200) : 0;
	if (r < 75) /* the exact edges */
		return top >= W + (x & 1) ? top - W - (x & 1) : top;
	if (r < 85) /* a modest jump forward */
		return top + 1 + x % 300;
	if (r < 92) /* a jump around the whole ring */
		return top + RING - 70 + x % 140;
	if (r < 96) /* a far jump */
		return top + RING + x % (50 * RING);
	return x % (top + 1); /* anywhere below */
}

static void test_replay_random(void **state)
{
	const uint64_t seed = 0x5eed1234abcdULL;
	struct replay_window w;
	struct naive_window ref = { 0 };
	uint64_t top = 0, accepted = 0;

	(void)state;
	rng_state = seed;
	ref.slots = calloc(SET_SLOTS, sizeof(*ref.slots));
	assert_non_null(ref.slots);
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 100000; i++) {
		uint64_t c = pick_counter(top);
		bool want = naive_accept(&ref, c);
		bool got = replay_accept(&w, c);

		if (got != want)
			fail_msg("seed %llx step %d: counter %llu (top %llu): got %d, want %d",
				 (unsigned long long)seed, i, (unsigned long long)c,
				 (unsigned long long)top, got, want);
		accepted += got;
		recent[i % 64] = c;
		if (ref.any)
			top = ref.highest;
		assert_true(w.next == (ref.any ? ref.highest + 1 : 0));
	}
	/* The mix must exercise both answers heavily, or the run proves little. */
	assert_true(accepted > 30000);
	assert_true(accepted < 80000);
	free(ref.slots);
}

/* ---- keypairs ---- */

static const uint8_t key_a[NOISE_KEY_LEN] = { 0xa1, 0xa2, 0xa3, [31] = 0xaf }; /* i -> r */
static const uint8_t key_b[NOISE_KEY_LEN] = { 0xb1, 0xb2, 0xb3, [31] = 0xbf }; /* r -> i */
static const uint8_t key_c[NOISE_KEY_LEN] = { 0xc1, [31] = 0xcf };
static const uint8_t key_d[NOISE_KEY_LEN] = { 0xd1, [31] = 0xdf };
static const uint8_t zero_key[NOISE_KEY_LEN];

#define PAYLOAD_LEN 100
struct packet {
	uint8_t headroom[AEAD_FRAME_HEADROOM]; /* the cipher's, before buf (aead.h) */
	uint8_t buf[PAYLOAD_LEN + NOISE_TAG_LEN];
	uint64_t counter;
};

static void fill_payload(uint8_t *p, uint8_t seed)
{
	for (size_t i = 0; i < PAYLOAD_LEN; i++)
		p[i] = (uint8_t)(seed + i);
}

static enum session_result seal(struct keypair *kp, struct packet *pkt, uint8_t seed,
				uint64_t now)
{
	fill_payload(pkt->buf, seed);
	return keypair_seal(kp, pkt->buf, PAYLOAD_LEN, now, &pkt->counter);
}

/* Opens a copy, so the caller can replay pkt; checks the plaintext on success. */
static enum session_result open_copy(struct keypair *kp, const struct packet *pkt, uint8_t seed,
				     uint64_t now)
{
	uint8_t room[AEAD_FRAME_HEADROOM + sizeof(pkt->buf)], want[PAYLOAD_LEN];
	uint8_t *copy = room + AEAD_FRAME_HEADROOM;
	enum session_result r;

	memcpy(copy, pkt->buf, sizeof(pkt->buf));
	r = keypair_open(kp, pkt->counter, copy, sizeof(pkt->buf), now);
	if (r == SESSION_OK) {
		fill_payload(want, seed);
		assert_memory_equal(copy, want, PAYLOAD_LEN);
	}
	return r;
}

/* An initiator and a responder after one handshake: i.current and r.next. */
static void make_pair(struct session *i, struct session *r)
{
	memset(i, 0, sizeof(*i));
	memset(r, 0, sizeof(*r));
	session_install(i, key_a, key_b, 1, 2, true, T0);
	session_install(r, key_b, key_a, 2, 1, false, T0);
}

static void test_seal_open(void **state)
{
	struct session i, r;
	struct packet pkt;
	struct keypair *kp;
	uint8_t plain[PAYLOAD_LEN];

	(void)state;
	make_pair(&i, &r);
	assert_int_equal(seal(&i.current, &pkt, 7, T0), SESSION_OK);
	assert_true(pkt.counter == 0);
	fill_payload(plain, 7);
	assert_memory_not_equal(pkt.buf, plain, PAYLOAD_LEN); /* sealed in place */
	kp = session_find(&r, 2);
	assert_ptr_equal(kp, &r.next);
	assert_int_equal(open_copy(kp, &pkt, 7, T0), SESSION_OK);
	assert_int_equal(open_copy(kp, &pkt, 7, T0), SESSION_REPLAY);

	/* Counters go up by one. */
	assert_int_equal(seal(&i.current, &pkt, 8, T0), SESSION_OK);
	assert_true(pkt.counter == 1);
	assert_int_equal(open_copy(kp, &pkt, 8, T0), SESSION_OK);

	/* The other direction uses the other key. */
	session_received_on(&r, kp);
	assert_int_equal(seal(&r.current, &pkt, 9, T0), SESSION_OK);
	assert_true(pkt.counter == 0);
	assert_int_equal(open_copy(&i.current, &pkt, 9, T0), SESSION_OK);
	/* Not with the key of the wrong direction. */
	assert_int_equal(seal(&r.current, &pkt, 10, T0), SESSION_OK);
	assert_int_equal(open_copy(&r.current, &pkt, 10, T0), SESSION_BAD_AUTH);
}

static void test_keepalive_size(void **state)
{
	struct session i, r;
	uint8_t room[AEAD_FRAME_HEADROOM + NOISE_TAG_LEN], *tag = room + AEAD_FRAME_HEADROOM;
	uint64_t counter;

	(void)state;
	make_pair(&i, &r);
	assert_int_equal(keypair_seal(&i.current, tag, 0, T0, &counter), SESSION_OK);
	assert_int_equal(keypair_open(&r.next, counter, tag, NOISE_TAG_LEN, T0), SESSION_OK);
	/* Shorter than a tag is never authentic and must not be read past. */
	for (size_t len = 0; len < NOISE_TAG_LEN; len++) {
		uint8_t *p = malloc(len ? len : 1);

		assert_non_null(p);
		memcpy(p, tag, len);
		assert_int_equal(keypair_open(&r.next, 5, p, len, T0), SESSION_BAD_AUTH);
		free(p);
	}
}

static void test_bad_auth(void **state)
{
	struct session i, r;
	struct packet pkt, bad;

	(void)state;
	make_pair(&i, &r);
	assert_int_equal(seal(&i.current, &pkt, 1, T0), SESSION_OK);
	for (size_t byte = 0; byte < sizeof(pkt.buf); byte++) {
		for (int bit = 0; bit < 8; bit += 3) {
			bad = pkt;
			bad.buf[byte] ^= (uint8_t)(1u << bit);
			assert_int_equal(open_copy(&r.next, &bad, 1, T0), SESSION_BAD_AUTH);
		}
	}
	/* The nonce is authenticated too. */
	bad = pkt;
	bad.counter = 1;
	assert_int_equal(open_copy(&r.next, &bad, 1, T0), SESSION_BAD_AUTH);
	/* A forged packet does not move the window: the genuine one still opens. */
	bad = pkt;
	bad.counter = 5000;
	bad.buf[0] ^= 1;
	assert_int_equal(open_copy(&r.next, &bad, 1, T0), SESSION_BAD_AUTH);
	assert_true(r.next.replay.next == 0);
	assert_int_equal(open_copy(&r.next, &pkt, 1, T0), SESSION_OK);
}

static void test_replayed_packets(void **state)
{
	struct session i, r;
	struct packet pkts[5];

	(void)state;
	make_pair(&i, &r);
	for (int k = 0; k < 5; k++)
		assert_int_equal(seal(&i.current, &pkts[k], (uint8_t)k, T0), SESSION_OK);
	/* Out of order, then each again. */
	static const int order[] = { 3, 0, 4, 1, 2 };
	for (int k = 0; k < 5; k++)
		assert_int_equal(open_copy(&r.next, &pkts[order[k]], (uint8_t)order[k], T0),
				 SESSION_OK);
	for (int k = 0; k < 5; k++)
		assert_int_equal(open_copy(&r.next, &pkts[k], (uint8_t)k, T0), SESSION_REPLAY);
}

static void test_expiry_by_time(void **state)
{
	struct session i, r;
	struct packet pkt;
	uint64_t counter = 12345;
	uint8_t room[AEAD_FRAME_HEADROOM + NOISE_TAG_LEN], *tag = room + AEAD_FRAME_HEADROOM;

	(void)state;
	make_pair(&i, &r);
	assert_int_equal(seal(&i.current, &pkt, 1, T0 + SESSION_REJECT_AFTER_MS - 1), SESSION_OK);
	assert_int_equal(open_copy(&r.next, &pkt, 1, T0 + SESSION_REJECT_AFTER_MS - 1),
			 SESSION_OK);
	assert_int_equal(seal(&i.current, &pkt, 2, T0 + SESSION_REJECT_AFTER_MS), SESSION_EXPIRED);
	assert_int_equal(keypair_seal(&i.current, tag, 0, T0 + SESSION_REJECT_AFTER_MS, &counter),
			 SESSION_EXPIRED);
	assert_true(counter == 12345);	       /* untouched on refusal */
	assert_true(i.current.send_counter == 1); /* no nonce burnt */
	/* A packet sealed in time is refused once the receiver's keypair is too old. */
	assert_int_equal(seal(&i.current, &pkt, 3, T0 + 10), SESSION_OK);
	assert_int_equal(open_copy(&r.next, &pkt, 3, T0 + SESSION_REJECT_AFTER_MS),
			 SESSION_EXPIRED);
	assert_int_equal(open_copy(&r.next, &pkt, 3, T0 + SESSION_REJECT_AFTER_MS - 1),
			 SESSION_OK);
}

static void test_expiry_by_counter(void **state)
{
	struct session i, r;
	struct packet pkt;

	(void)state;
	make_pair(&i, &r);
	i.current.send_counter = REJECT - 1;
	assert_ptr_equal(session_send_keypair(&i, T0), &i.current);
	assert_int_equal(seal(&i.current, &pkt, 1, T0), SESSION_OK);
	assert_true(pkt.counter == REJECT - 1);
	/* The last counter the window takes. */
	assert_int_equal(open_copy(&r.next, &pkt, 1, T0), SESSION_OK);
	assert_true(i.current.send_counter == REJECT);
	assert_int_equal(seal(&i.current, &pkt, 2, T0), SESSION_EXPIRED);
	assert_null(session_send_keypair(&i, T0));
	i.current.send_counter = UINT64_MAX;
	assert_int_equal(seal(&i.current, &pkt, 2, T0), SESSION_EXPIRED);
}

static void test_no_key(void **state)
{
	struct keypair kp;
	struct packet pkt;
	struct session s;

	(void)state;
	memset(&kp, 0, sizeof(kp));
	memset(&s, 0, sizeof(s));
	assert_int_equal(seal(&kp, &pkt, 1, T0), SESSION_NO_KEY);
	assert_int_equal(open_copy(&kp, &pkt, 1, T0), SESSION_NO_KEY);
	assert_null(session_send_keypair(&s, T0));
	assert_null(session_find(&s, 0));
	assert_true(session_needs_rekey(&s, T0));
}

/* ---- rotation ---- */

static void test_initiator_rotation(void **state)
{
	struct session i, r;
	struct packet old_pkt;

	(void)state;
	make_pair(&i, &r);
	assert_true(i.current.is_valid);
	assert_true(i.current.is_initiator);
	assert_false(i.previous.is_valid);
	assert_false(i.next.is_valid);
	assert_ptr_equal(session_send_keypair(&i, T0), &i.current);
	assert_int_equal(i.current.local_index, 1);
	assert_int_equal(i.current.remote_index, 2);
	assert_true(i.current.birth_ms == T0);

	/* The responder confirms, sends on the first keypair; a packet still in
	 * flight when the initiator rekeys. */
	session_received_on(&r, &r.next);
	assert_int_equal(seal(&r.current, &old_pkt, 4, T0 + 5), SESSION_OK);

	session_install(&i, key_c, key_d, 3, 4, true, T0 + 100);
	assert_int_equal(i.current.local_index, 3);
	assert_memory_equal(i.current.send_key, key_c, NOISE_KEY_LEN);
	assert_memory_equal(i.current.recv_key, key_d, NOISE_KEY_LEN);
	assert_true(i.current.birth_ms == T0 + 100);
	assert_true(i.current.send_counter == 0);
	assert_true(i.previous.is_valid);
	assert_int_equal(i.previous.local_index, 1);
	assert_memory_equal(i.previous.send_key, key_a, NOISE_KEY_LEN);
	assert_ptr_equal(session_send_keypair(&i, T0 + 100), &i.current);
	assert_ptr_equal(session_find(&i, 1), &i.previous);
	assert_ptr_equal(session_find(&i, 3), &i.current);
	/* The in-flight packet opens on previous. */
	assert_int_equal(open_copy(session_find(&i, 1), &old_pkt, 4, T0 + 100), SESSION_OK);

	/* A third handshake drops the first keypair. */
	session_install(&i, key_a, key_d, 5, 6, true, T0 + 200);
	assert_int_equal(i.previous.local_index, 3);
	assert_null(session_find(&i, 1));
	assert_int_equal(open_copy(&i.previous, &old_pkt, 4, T0 + 200), SESSION_BAD_AUTH);
}

static void test_responder_rotation(void **state)
{
	struct session i, r;
	struct packet pkt;

	(void)state;
	make_pair(&i, &r);
	assert_true(r.next.is_valid);
	assert_false(r.next.is_initiator);
	assert_false(r.current.is_valid);
	assert_false(r.previous.is_valid);
	/* Not confirmed yet: never sent with. */
	assert_null(session_send_keypair(&r, T0));
	assert_ptr_equal(session_find(&r, 2), &r.next);

	/* The first packet received on next confirms it. */
	assert_int_equal(seal(&i.current, &pkt, 1, T0), SESSION_OK);
	assert_int_equal(open_copy(&r.next, &pkt, 1, T0), SESSION_OK);
	session_received_on(&r, &r.next);
	assert_false(r.next.is_valid);
	assert_true(r.current.is_valid);
	assert_int_equal(r.current.local_index, 2);
	assert_false(r.previous.is_valid);
	/* The replay state came along: the packet is still a replay. */
	assert_int_equal(open_copy(&r.current, &pkt, 1, T0), SESSION_REPLAY);
	assert_ptr_equal(session_send_keypair(&r, T0), &r.current);
	/* Receiving on current changes nothing. */
	session_received_on(&r, &r.current);
	assert_int_equal(r.current.local_index, 2);
	assert_false(r.previous.is_valid);

	/* A second handshake: next holds the new keys, current still sends. */
	session_install(&i, key_c, key_d, 3, 4, true, T0 + 50);
	session_install(&r, key_d, key_c, 4, 3, false, T0 + 50);
	assert_int_equal(r.next.local_index, 4);
	assert_int_equal(r.current.local_index, 2);
	assert_ptr_equal(session_send_keypair(&r, T0 + 50), &r.current);
	assert_ptr_equal(session_find(&r, 2), &r.current);
	assert_ptr_equal(session_find(&r, 4), &r.next);
	assert_null(session_find(&r, 3));

	assert_int_equal(seal(&i.current, &pkt, 2, T0 + 60), SESSION_OK);
	assert_int_equal(open_copy(session_find(&r, 4), &pkt, 2, T0 + 60), SESSION_OK);
	session_received_on(&r, session_find(&r, 4));
	assert_int_equal(r.current.local_index, 4);
	assert_int_equal(r.previous.local_index, 2);
	assert_false(r.next.is_valid);
	assert_ptr_equal(session_find(&r, 2), &r.previous);
	assert_ptr_equal(session_find(&r, 4), &r.current);
	assert_ptr_equal(session_send_keypair(&r, T0 + 60), &r.current);
	/* What the responder now sends, the initiator opens on its current. */
	assert_int_equal(seal(&r.current, &pkt, 3, T0 + 60), SESSION_OK);
	assert_int_equal(open_copy(&i.current, &pkt, 3, T0 + 60), SESSION_OK);

	/* A new responder keypair replaces an unconfirmed one. */
	session_install(&r, key_a, key_b, 7, 8, false, T0 + 70);
	session_install(&r, key_b, key_a, 9, 10, false, T0 + 80);
	assert_null(session_find(&r, 7));
	assert_ptr_equal(session_find(&r, 9), &r.next);
}

static void test_initiator_install_drops_next(void **state)
{
	struct session s;

	(void)state;
	memset(&s, 0, sizeof(s));
	session_install(&s, key_a, key_b, 1, 2, false, T0);
	session_install(&s, key_c, key_d, 3, 4, true, T0 + 1);
	assert_false(s.next.is_valid);
	assert_null(session_find(&s, 1));
	assert_ptr_equal(session_find(&s, 3), &s.current);
}

static void test_find(void **state)
{
	struct session s;

	(void)state;
	memset(&s, 0, sizeof(s));
	session_install(&s, key_a, key_b, 10, 1, true, T0);
	session_install(&s, key_a, key_b, 20, 2, true, T0);
	session_install(&s, key_a, key_b, 30, 3, false, T0);
	assert_ptr_equal(session_find(&s, 10), &s.previous);
	assert_ptr_equal(session_find(&s, 20), &s.current);
	assert_ptr_equal(session_find(&s, 30), &s.next);
	assert_null(session_find(&s, 0));
	assert_null(session_find(&s, 1)); /* a remote index is not ours */
	assert_null(session_find(&s, 40));
	assert_null(session_find(&s, UINT32_MAX));
}

/* ---- rekey and expiry policy ---- */

static void test_rekey_by_time(void **state)
{
	struct session i, r;

	(void)state;
	make_pair(&i, &r);
	assert_false(session_needs_rekey(&i, T0));
	assert_false(session_needs_rekey(&i, T0 + SESSION_REKEY_AFTER_MS - 1));
	assert_true(session_needs_rekey(&i, T0 + SESSION_REKEY_AFTER_MS));
	assert_true(session_needs_rekey(&i, T0 + SESSION_REJECT_AFTER_MS));

	/* The responder never rekeys by time, whatever the age. */
	session_received_on(&r, &r.next);
	assert_false(session_needs_rekey(&r, T0 + SESSION_REKEY_AFTER_MS - 1));
	assert_false(session_needs_rekey(&r, T0 + SESSION_REKEY_AFTER_MS));
	assert_false(session_needs_rekey(&r, T0 + SESSION_REJECT_AFTER_MS + 1000));
}

static void test_rekey_by_counter(void **state)
{
	struct session i, r;

	(void)state;
	make_pair(&i, &r);
	session_received_on(&r, &r.next);

	i.current.send_counter = SESSION_REKEY_AFTER_MESSAGES - 1;
	assert_false(session_needs_rekey(&i, T0));
	i.current.send_counter = SESSION_REKEY_AFTER_MESSAGES;
	assert_true(session_needs_rekey(&i, T0));
	r.current.send_counter = SESSION_REKEY_AFTER_MESSAGES;
	assert_true(session_needs_rekey(&r, T0));

	/* Received counters, through the window itself: next = highest + 1. The
	 * rule is "replay.next > SESSION_REKEY_AFTER_MESSAGES", i.e. rekey once
	 * counter SESSION_REKEY_AFTER_MESSAGES itself was received. */
	make_pair(&i, &r);
	assert_true(replay_accept(&i.current.replay, SESSION_REKEY_AFTER_MESSAGES - 1));
	assert_true(i.current.replay.next == SESSION_REKEY_AFTER_MESSAGES);
	assert_false(session_needs_rekey(&i, T0));
	assert_true(replay_accept(&i.current.replay, SESSION_REKEY_AFTER_MESSAGES));
	assert_true(session_needs_rekey(&i, T0));
}

static void test_expire(void **state)
{
	struct session s;

	(void)state;
	memset(&s, 0, sizeof(s));
	session_install(&s, key_a, key_b, 1, 2, true, T0);		 /* -> previous */
	session_install(&s, key_c, key_d, 3, 4, true, T0 + 1000);	 /* -> current */
	session_install(&s, key_d, key_c, 5, 6, false, T0 + 2000); /* -> next */

	session_expire(&s, T0 + SESSION_REJECT_AFTER_MS - 1);
	assert_true(s.previous.is_valid && s.current.is_valid && s.next.is_valid);

	session_expire(&s, T0 + SESSION_REJECT_AFTER_MS);
	assert_false(s.previous.is_valid);
	assert_memory_equal(s.previous.send_key, zero_key, NOISE_KEY_LEN);
	assert_memory_equal(s.previous.recv_key, zero_key, NOISE_KEY_LEN);
	assert_null(session_find(&s, 1));
	assert_true(s.current.is_valid && s.next.is_valid);

	session_expire(&s, T0 + 1000 + SESSION_REJECT_AFTER_MS);
	assert_false(s.current.is_valid);
	assert_memory_equal(s.current.send_key, zero_key, NOISE_KEY_LEN);
	assert_true(s.next.is_valid);
	assert_null(session_send_keypair(&s, T0 + 1000 + SESSION_REJECT_AFTER_MS));

	session_expire(&s, T0 + 2000 + SESSION_REJECT_AFTER_MS);
	assert_false(s.next.is_valid);
	assert_memory_equal(s.next.recv_key, zero_key, NOISE_KEY_LEN);
	assert_null(session_find(&s, 5));
}

static void test_send_keypair_age(void **state)
{
	struct session i, r;

	(void)state;
	make_pair(&i, &r);
	assert_ptr_equal(session_send_keypair(&i, T0 + SESSION_REJECT_AFTER_MS - 1), &i.current);
	assert_null(session_send_keypair(&i, T0 + SESSION_REJECT_AFTER_MS));
}

static void test_wipe(void **state)
{
	struct session s, zero;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(&zero, 0, sizeof(zero));
	session_install(&s, key_a, key_b, 1, 2, true, T0);
	session_install(&s, key_c, key_d, 3, 4, true, T0);
	session_install(&s, key_d, key_a, 5, 6, false, T0);
	assert_true(replay_accept(&s.current.replay, 77));
	assert_memory_not_equal(&s, &zero, sizeof(s));
	session_wipe(&s);
	assert_memory_equal(&s, &zero, sizeof(s));
	assert_null(session_find(&s, 3));
	assert_null(session_send_keypair(&s, T0));
}

/* Keys the cipher kept for OpenSSL's ChaCha20 (aead.h) go with their keypair. */
static void test_wipe_makes_cipher_forget(void **state)
{
	struct session i, r;
	struct packet pkt;

	(void)state;
	aead_allow_vector_chacha(false);
	make_pair(&i, &r);
	assert_int_equal(seal(&i.current, &pkt, 7, T0), SESSION_OK);
	assert_int_equal(open_copy(&r.next, &pkt, 7, T0), SESSION_OK);
	session_wipe(&i);
	assert_false(aead_forget_key(key_a));
	assert_int_equal(seal(&i.current, &pkt, 8, T0), SESSION_NO_KEY);
	/* The responder's copy of key_a went with i's wipe (one cache per
	 * thread); its own sealing key comes and goes with r. */
	session_received_on(&r, &r.next);
	assert_int_equal(seal(&r.current, &pkt, 9, T0), SESSION_OK);
	session_wipe(&r);
	assert_false(aead_forget_key(key_b));
	aead_allow_vector_chacha(true);
}

static void test_result_names(void **state)
{
	(void)state;
	assert_string_equal(session_result_name(SESSION_OK), "ok");
	assert_string_equal(session_result_name(SESSION_NO_KEY), "no_key");
	assert_string_equal(session_result_name(SESSION_EXPIRED), "expired");
	assert_string_equal(session_result_name(SESSION_BAD_AUTH), "bad_auth");
	assert_string_equal(session_result_name(SESSION_REPLAY), "replay");
	assert_string_equal(session_result_name(SESSION_RESULT_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_table),
		cmocka_unit_test(test_replay_jumps),
		cmocka_unit_test(test_replay_random),
		cmocka_unit_test(test_seal_open),
		cmocka_unit_test(test_keepalive_size),
		cmocka_unit_test(test_bad_auth),
		cmocka_unit_test(test_replayed_packets),
		cmocka_unit_test(test_expiry_by_time),
		cmocka_unit_test(test_expiry_by_counter),
		cmocka_unit_test(test_no_key),
		cmocka_unit_test(test_initiator_rotation),
		cmocka_unit_test(test_responder_rotation),
		cmocka_unit_test(test_initiator_install_drops_next),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_rekey_by_time),
		cmocka_unit_test(test_rekey_by_counter),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_send_keypair_age),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_wipe_makes_cipher_forget),
		cmocka_unit_test(test_result_names),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
