/*
 * frame — Ethernet header checks. Pure.
 *
 * A frame is what a TAP device with IFF_NO_PI hands over: destination MAC,
 * source MAC, EtherType (or an 802.1Q tag then the EtherType), payload.
 * No FCS. 802.1Q-tagged frames are accepted and passed through untouched;
 * the tag only raises the length limit by FRAME_VLAN_TAG_LEN.
 */
#ifndef VSWITCH_FRAME_H
#define VSWITCH_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_MAC_LEN 6
#define FRAME_HEADER_LEN 14 /* dst, src, EtherType */
#define FRAME_VLAN_TAG_LEN 4
#define FRAME_ETHERTYPE_VLAN 0x8100
#define FRAME_ETHERTYPE_QINQ 0x88a8

enum frame_verdict {
	FRAME_OK = 0,
	FRAME_TOO_SHORT,     /* fewer than FRAME_HEADER_LEN bytes (or a truncated VLAN tag) */
	FRAME_TOO_LONG,      /* longer than mtu + header (+ one VLAN tag if tagged) */
	FRAME_BAD_SRC_MULTICAST, /* source MAC has the group bit set (includes broadcast) */
	FRAME_BAD_SRC_ZERO,  /* source MAC is 00:00:00:00:00:00 */
	FRAME_VERDICT_COUNT,
};

/* A short lowercase name for each verdict, for counters: "too_short", ... */
const char *frame_verdict_name(enum frame_verdict v);

/* Check a frame of len bytes for a link whose MTU (the IP payload size) is mtu. */
enum frame_verdict frame_check(const uint8_t *frame, size_t len, unsigned mtu);

/* The largest frame a link of this MTU carries: header, one VLAN tag, payload. */
size_t frame_max_len(unsigned mtu);

static inline const uint8_t *frame_dst(const uint8_t *frame) { return frame; }
static inline const uint8_t *frame_src(const uint8_t *frame) { return frame + FRAME_MAC_LEN; }

/* Group bit set: broadcast and multicast destinations. */
static inline bool frame_mac_is_multicast(const uint8_t mac[FRAME_MAC_LEN]) { return mac[0] & 1; }
bool frame_mac_is_zero(const uint8_t mac[FRAME_MAC_LEN]);

/* "aa:bb:cc:dd:ee:ff" into out (at least 18 bytes). */
void frame_mac_format(const uint8_t mac[FRAME_MAC_LEN], char out[18]);

#endif
