/*
 * frame — Ethernet header checks. See frame.h for the contract.
 *
 * Checks run in a fixed order (length, then tag length, then source MAC) so
 * that each bad frame maps to exactly one verdict and one counter.
 */
#include "frame.h"

#include <stdio.h>

#define FRAME_ETHERTYPE_OFFSET (2 * FRAME_MAC_LEN)
#define FRAME_TAGGED_MIN_LEN (FRAME_HEADER_LEN + FRAME_VLAN_TAG_LEN)

static const char *const verdict_names[FRAME_VERDICT_COUNT] = {
	[FRAME_OK] = "ok",
	[FRAME_TOO_SHORT] = "too_short",
	[FRAME_TOO_LONG] = "too_long",
	[FRAME_BAD_SRC_MULTICAST] = "src_multicast",
	[FRAME_BAD_SRC_ZERO] = "src_zero",
};

const char *frame_verdict_name(enum frame_verdict v)
{
	if ((unsigned)v >= FRAME_VERDICT_COUNT)
		return "unknown";
	return verdict_names[v];
}

/* Only the outer tag is looked at: the contract allows one tag of headroom, so
 * a QinQ frame's inner tag counts against the MTU. */
static bool is_tagged(const uint8_t *frame)
{
	uint16_t ethertype = (uint16_t)(frame[FRAME_ETHERTYPE_OFFSET] << 8 |
					 frame[FRAME_ETHERTYPE_OFFSET + 1]);

	return ethertype == FRAME_ETHERTYPE_VLAN || ethertype == FRAME_ETHERTYPE_QINQ;
}

enum frame_verdict frame_check(const uint8_t *frame, size_t len, unsigned mtu)
{
	size_t max_len = (size_t)mtu + FRAME_HEADER_LEN;

	if (len < FRAME_HEADER_LEN)
		return FRAME_TOO_SHORT;
	if (is_tagged(frame)) {
		if (len < FRAME_TAGGED_MIN_LEN)
			return FRAME_TOO_SHORT;
		max_len += FRAME_VLAN_TAG_LEN;
	}
	if (len > max_len)
		return FRAME_TOO_LONG;
	if (frame_mac_is_multicast(frame_src(frame)))
		return FRAME_BAD_SRC_MULTICAST;
	if (frame_mac_is_zero(frame_src(frame)))
		return FRAME_BAD_SRC_ZERO;
	return FRAME_OK;
}

size_t frame_max_len(unsigned mtu)
{
	return (size_t)mtu + FRAME_HEADER_LEN + FRAME_VLAN_TAG_LEN;
}

bool frame_mac_is_zero(const uint8_t mac[FRAME_MAC_LEN])
{
	uint8_t any = 0;

	for (size_t i = 0; i < FRAME_MAC_LEN; i++)
		any |= mac[i];
	return any == 0;
}

void frame_mac_format(const uint8_t mac[FRAME_MAC_LEN], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}
