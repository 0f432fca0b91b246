/*
 * libFuzzer target for the data path: a frame sealed by one session and
 * opened by its peer, each side in a buffer of exactly the message's size
 * (ASan sees any read or write past it), with either ChaCha20 (aead.h).
 *
 * Input: one control byte, then the frame. Control bit 0 picks the ChaCha20
 * (vector where the CPU has it, or OpenSSL's); bits 1-2 what happens to the
 * message between the two sides: nothing (it must open to the same frame,
 * and a second copy must be refused as a replay), one byte flipped or the
 * message cut short (it must be refused, whatever byte or length), or both
 * (ditto). The position and the length come from bits 3-7 and the frame.
 * The frame's third byte, if odd, has the message sealed with a flag
 * (WIRE_DATA_CSUM_PARTIAL), which a flip must not get past either. The bytes
 * before each message are the caller's and must come back as they were.
 */
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aead.h"
#include "proto.h"
#include "session.h"
#include "wire.h"

#define FUZZ_MAX_FRAME (AEAD_FRAME_OPENSSL_MAX_LEN + 64)
#define NOW_MS 1000

enum { KEEP, FLIP, CUT, FLIP_AND_CUT };

static const uint8_t key_ab[NOISE_KEY_LEN] = { 0xab, 1, 2, 3 };
static const uint8_t key_ba[NOISE_KEY_LEN] = { 0xba, 4, 5, 6 };

/* len bytes for a message, the headroom before them filled with a pattern. */
static uint8_t *message_buf(size_t len)
{
	uint8_t *buf = proto_data_buf_alloc(len);

	check(buf != NULL);
	for (size_t i = 0; i < PROTO_DATA_HEADROOM; i++)
		buf[i - PROTO_DATA_HEADROOM] = (uint8_t)(0x5a ^ i);
	return buf;
}

static void check_headroom(const uint8_t *buf)
{
	for (size_t i = 0; i < PROTO_DATA_HEADROOM; i++)
		check(buf[i - PROTO_DATA_HEADROOM] == (uint8_t)(0x5a ^ i));
}

/* A fresh copy of msg in a buffer of exactly len bytes, decoded and opened
 * on b; what opens must be want (when given). Returns how the open went. */
static enum session_result deliver(struct session *b, const uint8_t *msg, size_t len,
				   const uint8_t *want, size_t want_len)
{
	uint8_t *copy = message_buf(len), *frame = NULL;
	struct wire_data d;
	enum session_result r = SESSION_BAD_AUTH;
	size_t frame_len = 0;

	memcpy(copy, msg, len);
	if (wire_decode_data(copy, len, &d) == WIRE_OK) {
		r = proto_open_data(b, &d, NOW_MS, &frame, &frame_len);
		if (r == SESSION_OK && want)
			check(frame_len == want_len &&
			      (want_len == 0 || memcmp(frame, want, want_len) == 0));
	}
	check_headroom(copy);
	proto_data_buf_free(copy);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session a = { 0 }, b = { 0 };
	const uint8_t *frame = data + 1;
	size_t frame_len = size - 1, msg_len, at, places[5];
	enum session_result why;
	uint8_t *msg, ctl, bit;
	int mode;

	if (size < 1 || frame_len > FUZZ_MAX_FRAME)
		return 0;
	ctl = data[0];
	mode = (ctl >> 1) & 3;
	bit = (uint8_t)(1u << (ctl >> 5));
	aead_allow_vector_chacha(ctl & 1);
	session_install(&a, key_ab, key_ba, 1, 2, true, NOW_MS);
	session_install(&b, key_ba, key_ab, 2, 1, false, NOW_MS);

	msg_len = WIRE_DATA_OVERHEAD + frame_len;
	msg = message_buf(msg_len);
	memcpy(msg + WIRE_DATA_HEADER_LEN, frame, frame_len);
	if (frame_len > 2 && (frame[2] & 1)) { /* with a flag, which the tag covers */
		struct proto_seal ps = { .msg = msg,
					 .frame_len = frame_len,
					 .flags = WIRE_DATA_CSUM_PARTIAL };

		proto_seal_data_run(&a, &ps, 1, NOW_MS);
		check(ps.len == msg_len && msg[2] == WIRE_DATA_CSUM_PARTIAL);
	} else {
		check(proto_seal_data(&a, msg, frame_len, NOW_MS, &why) == msg_len);
	}
	check_headroom(msg);
	/* Where to flip or cut: from the control byte's high bits and the
	 * frame's first bytes, anywhere in the message; flips also hit the
	 * first and last bytes of the ciphertext and of the tag, where a
	 * length mistake would show. */
	at = ((size_t)(ctl >> 3) << 16 | (size_t)(frame_len > 0 ? frame[0] : 0) << 8 |
	      (frame_len > 1 ? frame[1] : 0)) %
	     msg_len;
	places[0] = at;
	places[1] = WIRE_DATA_HEADER_LEN;
	places[2] = msg_len - NOISE_TAG_LEN - 1;
	places[3] = msg_len - NOISE_TAG_LEN;
	places[4] = msg_len - 1;

	switch (mode) {
	case KEEP:
		check(deliver(&b, msg, msg_len, frame, frame_len) == SESSION_OK);
		check(deliver(&b, msg, msg_len, NULL, 0) == SESSION_REPLAY);
		break;
	case FLIP:
		for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
			msg[places[i]] ^= bit;
			check(deliver(&b, msg, msg_len, NULL, 0) != SESSION_OK);
			msg[places[i]] ^= bit;
		}
		/* A flag set or cleared: still a well-formed header, but the tag
		 * must not match. */
		msg[2] ^= WIRE_DATA_CSUM_PARTIAL;
		check(deliver(&b, msg, msg_len, NULL, 0) == SESSION_BAD_AUTH);
		msg[2] ^= WIRE_DATA_CSUM_PARTIAL;
		break;
	case CUT:
		check(deliver(&b, msg, at, NULL, 0) != SESSION_OK);
		check(deliver(&b, msg, msg_len - 1, NULL, 0) != SESSION_OK);
		break;
	case FLIP_AND_CUT:
		msg[at / 2] ^= bit;
		check(deliver(&b, msg, at, NULL, 0) != SESSION_OK);
		break;
	}
	/* What was refused moved no replay window: the untouched message
	 * still opens. */
	if (mode == FLIP || mode == CUT)
		check(deliver(&b, msg, msg_len, frame, frame_len) == SESSION_OK);
	proto_data_buf_free(msg);
	session_wipe(&a);
	session_wipe(&b);
	return 0;
}
