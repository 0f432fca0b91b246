/*
 * libFuzzer target: the input is one Ethernet frame, as a TAP device would
 * hand it over. It is checked for several MTUs, and the verdicts must agree
 * with each other. A frame that passes has its source learned and its
 * destination forwarded in a small MAC table; its payload is then read as a
 * script of table operations (one op byte, then a MAC), so the fuzzer can
 * also drive moves, aging and the per-port and total limits.
 */
#include "fuzz.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "frame.h"
#include "mactable.h"

#define FUZZ_PORTS 4u
#define FUZZ_MAX_PER_PORT 3u
#define FUZZ_MAX_TOTAL 8u
#define FUZZ_AGE_MS 16u
#define FUZZ_OP_LEN (1 + FRAME_MAC_LEN)

/* Ascending, so a frame too long for one MTU is too long for all before it. */
static const unsigned mtus[] = { 0, 68, 576, 1280, 1500, 9000 };
#define MTU_COUNT (sizeof(mtus) / sizeof(mtus[0]))

static const uint8_t hash_key[16] = { 0x76, 0x73, 0x77, 0x69, 0x74, 0x63, 0x68 };

static void check_forward(const struct mactable *t, const uint8_t dst[FRAME_MAC_LEN],
			  uint32_t in_port, uint64_t now_ms)
{
	uint32_t out_port;
	enum mactable_fwd fwd = mactable_forward(t, dst, in_port, now_ms, &out_port);

	if (fwd == FWD_UNICAST)
		check(out_port < FUZZ_PORTS && out_port != in_port &&
		      out_port == mactable_lookup(t, dst, now_ms));
	else
		check(out_port == MACTABLE_NO_PORT);
	if (frame_mac_is_multicast(dst))
		check(fwd == FWD_FLOOD);
}

static void check_learn(struct mactable *t, const uint8_t mac[FRAME_MAC_LEN], uint32_t port,
			uint64_t now_ms)
{
	enum mactable_learn_result r = mactable_learn(t, mac, port, now_ms);
	struct mactable_stats s;

	if (r == MACTABLE_LEARNED || r == MACTABLE_REFRESHED || r == MACTABLE_MOVED)
		check(mactable_lookup(t, mac, now_ms) == port);
	mactable_get_stats(t, &s);
	check(s.entries <= FUZZ_MAX_TOTAL);
	check(port >= FUZZ_PORTS || mactable_port_count(t, port) <= FUZZ_MAX_PER_PORT);
}

/* op byte: low bits pick the port (one value is out of range), high bits the
 * operation, the middle bits how far the clock moves. */
static void run_op(struct mactable *t, const uint8_t op[FUZZ_OP_LEN], uint64_t *now_ms)
{
	const uint8_t *mac = op + 1;
	uint32_t port = op[0] % (FUZZ_PORTS + 1);

	*now_ms += (op[0] >> 3) & 3;
	switch (op[0] >> 5) {
	case 0: case 1: case 2: case 3:
		check_learn(t, mac, port, *now_ms);
		break;
	case 4:
		check_forward(t, mac, port, *now_ms);
		break;
	case 5:
		mactable_expire(t, *now_ms);
		break;
	case 6:
		mactable_flush_port(t, port);
		break;
	default:
		*now_ms += FUZZ_AGE_MS;
		break;
	}
}

static void switch_frame(const uint8_t *frame, size_t size, size_t payload_off)
{
	struct mactable *t = mactable_new(FUZZ_MAX_TOTAL, FUZZ_MAX_PER_PORT, FUZZ_PORTS,
					  FUZZ_AGE_MS, hash_key);
	uint64_t now_ms = 1;

	check(t != NULL);
	check_learn(t, frame_src(frame), 0, now_ms);
	check_forward(t, frame_dst(frame), 0, now_ms);
	for (size_t off = payload_off; size - off >= FUZZ_OP_LEN; off += FUZZ_OP_LEN)
		run_op(t, frame + off, &now_ms);
	mactable_expire(t, now_ms);
	mactable_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum frame_verdict v[MTU_COUNT];

	for (size_t i = 0; i < MTU_COUNT; i++) {
		v[i] = frame_check(data, size, mtus[i]);
		check(v[i] < FRAME_VERDICT_COUNT);
		check(frame_verdict_name(v[i]) != NULL);
		check(v[i] != FRAME_OK || size <= frame_max_len(mtus[i]));
		/* Only the length limit depends on the MTU. */
		if (i > 0 && v[i - 1] != FRAME_TOO_LONG)
			check(v[i] == v[i - 1]);
	}
	if (v[MTU_COUNT - 1] == FRAME_OK)
		switch_frame(data, size, FRAME_HEADER_LEN);
	return 0;
}
