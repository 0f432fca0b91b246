/*
 * Fuzz target for noise.c: every input is read as a handshake message twice,
 * as msg1 by a responder and as msg2 by an initiator that has sent its msg1.
 * Keys, ephemerals, prologue and msg1 payload are those of the first cacophony
 * vector in tests/data/noise-ik-vectors.json, so that vector's two ciphertexts
 * (the seeds in tests/fuzz/corpus/noise/) pass authentication and the fuzzer
 * starts from inside the successful paths, not only the length checks.
 */
#include "fuzz.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "noise.h"

static const uint8_t prologue[] = "John Galt";
static const uint8_t msg1_payload[] = "Ludwig von Mises";
static const uint8_t init_static[NOISE_KEY_LEN] = {
	0xe6, 0x1e, 0xf9, 0x91, 0x9c, 0xde, 0x45, 0xdd, 0x5f, 0x82, 0x16, 0x64, 0x04, 0xbd, 0x08, 0xe3,
	0x8b, 0xce, 0xb5, 0xdf, 0xdf, 0xde, 0xd0, 0xa3, 0x4c, 0x8d, 0xf7, 0xed, 0x54, 0x22, 0x14, 0xd1,
};
static const uint8_t init_ephemeral[NOISE_KEY_LEN] = {
	0x89, 0x3e, 0x28, 0xb9, 0xdc, 0x6c, 0xa8, 0xd6, 0x11, 0xab, 0x66, 0x47, 0x54, 0xb8, 0xce, 0xb7,
	0xba, 0xc5, 0x11, 0x73, 0x49, 0xa4, 0x43, 0x9a, 0x6b, 0x05, 0x69, 0xda, 0x97, 0x7c, 0x46, 0x4a,
};
static const uint8_t resp_static[NOISE_KEY_LEN] = {
	0x4a, 0x3a, 0xcb, 0xfd, 0xb1, 0x63, 0xde, 0xc6, 0x51, 0xdf, 0xa3, 0x19, 0x4d, 0xec, 0xe6, 0x76,
	0xd4, 0x37, 0x02, 0x9c, 0x62, 0xa4, 0x08, 0xb4, 0xc5, 0xea, 0x91, 0x14, 0x24, 0x6e, 0x48, 0x93,
};
static const uint8_t resp_ephemeral[NOISE_KEY_LEN] = {
	0xbb, 0xdb, 0x4c, 0xdb, 0xd3, 0x09, 0xf1, 0xa1, 0xf2, 0xe1, 0x45, 0x69, 0x67, 0xfe, 0x28, 0x8c,
	0xad, 0xd6, 0xf7, 0x12, 0xd6, 0x5d, 0xc7, 0xb7, 0x79, 0x3d, 0x5e, 0x63, 0xda, 0x6b, 0x37, 0x5b,
};

/* Built once: a fresh responder, and an initiator that has just written msg1. */
static struct noise_handshake responder, initiator_sent_msg1;
static uint8_t payload[65536];

static bool is_known_error(int ret)
{
	return ret == -EMSGSIZE || ret == -EBADMSG || ret == -EINVAL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t msg1[NOISE_MSG1_OVERHEAD + sizeof(msg1_payload)], resp_pub[NOISE_KEY_LEN];
	size_t len;

	(void)argc;
	(void)argv;
	check(sodium_init() >= 0);
	check(noise_public_key(resp_pub, resp_static) == 0);
	noise_init_responder(&responder, prologue, sizeof(prologue) - 1, resp_static);
	noise_init_initiator(&initiator_sent_msg1, prologue, sizeof(prologue) - 1, init_static,
			     resp_pub);
	check(noise_write_msg1(&initiator_sent_msg1, init_ephemeral, msg1_payload,
			       sizeof(msg1_payload) - 1, msg1, sizeof(msg1), &len) == 0);
	return 0;
}

/* After an accepted msg1 the responder must be able to answer and split. */
static void answer(struct noise_handshake *hs)
{
	uint8_t msg2[NOISE_MSG2_OVERHEAD], send_key[NOISE_KEY_LEN], recv_key[NOISE_KEY_LEN];
	size_t len;

	check(noise_write_msg2(hs, resp_ephemeral, NULL, 0, msg2, sizeof(msg2), &len) == 0);
	check(len == NOISE_MSG2_OVERHEAD);
	check(noise_split(hs, send_key, recv_key) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t send_key[NOISE_KEY_LEN], recv_key[NOISE_KEY_LEN];
	struct noise_handshake hs = responder;
	size_t payload_len = 0;
	int ret;

	ret = noise_read_msg1(&hs, data, size, payload, sizeof(payload), &payload_len);
	check(ret == 0 || is_known_error(ret));
	if (ret == 0) {
		check(payload_len == size - NOISE_MSG1_OVERHEAD);
		answer(&hs);
	}

	hs = initiator_sent_msg1;
	ret = noise_read_msg2(&hs, data, size, payload, sizeof(payload), &payload_len);
	check(ret == 0 || is_known_error(ret));
	if (ret == 0) {
		check(payload_len == size - NOISE_MSG2_OVERHEAD);
		check(noise_split(&hs, send_key, recv_key) == 0);
	} else {
		/* A failed or refused read leaves no way to finish the handshake. */
		check(noise_split(&hs, send_key, recv_key) == -EINVAL);
	}
	noise_wipe(&hs);
	return 0;
}
