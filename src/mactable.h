/*
 * mactable — the switch's MAC address table. Pure: time comes in as now_ms.
 *
 * Learning: each ingress frame's source MAC is bound to the ingress port.
 * A MAC seen on another port moves there. Entries not refreshed within the
 * aging time are treated as absent and are removed by mactable_expire().
 * Limits: at most max_per_port entries per port and max_total in all; a full
 * table refuses the new entry and counts it (refreshes and moves of existing
 * entries are always allowed, a move is refused only if the new port is full).
 *
 * A pinned entry (a connected member's own MAC, see vswitch.c) never ages and
 * never moves: learning it from another port is refused.
 *
 * Lookups and learning are O(1) on average: open hashing with a keyed hash
 * (the key is chosen by the caller, randomly, so an attacker cannot pick MACs
 * that collide). Storage is allocated once in mactable_new() and never grows.
 */
#ifndef VSWITCH_MACTABLE_H
#define VSWITCH_MACTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

#define MACTABLE_DEFAULT_AGE_MS (300u * 1000u)
#define MACTABLE_DEFAULT_MAX_PER_PORT 1024u
#define MACTABLE_DEFAULT_MAX_TOTAL 131072u
#define MACTABLE_NO_PORT UINT32_MAX

struct mactable;

struct mactable_stats {
	uint64_t learned;        /* new entries */
	uint64_t moved;          /* entries that changed port */
	uint64_t aged;           /* entries removed by age */
	uint64_t evicted;        /* removed to make room for a pin in a full table */
	uint64_t refused_port_full;
	uint64_t refused_table_full;
	uint32_t entries;        /* current count */
};

/* Ports are numbered 0 .. max_ports-1. Returns NULL on allocation failure or a zero
 * limit. hash_key: 16 random bytes. */
struct mactable *mactable_new(uint32_t max_total, uint32_t max_per_port, uint32_t max_ports,
			      uint64_t age_ms, const uint8_t hash_key[16]);
void mactable_free(struct mactable *t);

enum mactable_learn_result {
	MACTABLE_REFRESHED,
	MACTABLE_LEARNED,
	MACTABLE_MOVED,
	MACTABLE_PORT_FULL,
	MACTABLE_TABLE_FULL,
	MACTABLE_PINNED, /* pinned to another port: refused */
};
/* Bind mac to port at now_ms. A port >= max_ports is refused as MACTABLE_PORT_FULL. */
enum mactable_learn_result mactable_learn(struct mactable *t, const uint8_t mac[FRAME_MAC_LEN],
					  uint32_t port, uint64_t now_ms);

/* Bind mac to port and pin it there (learned, refreshed or moved as by
 * mactable_learn); mactable_flush_port() removes it. A full table makes room
 * by evicting the unpinned entry seen longest ago. A MAC pinned to another
 * port stays there (MACTABLE_PINNED: a member's own MAC is never taken over).
 * On a refusal nothing changes. */
enum mactable_learn_result mactable_pin(struct mactable *t, const uint8_t mac[FRAME_MAC_LEN],
					uint32_t port, uint64_t now_ms);
/* The port mac was last seen on, or MACTABLE_NO_PORT if unknown or aged. */
uint32_t mactable_lookup(const struct mactable *t, const uint8_t mac[FRAME_MAC_LEN],
			 uint64_t now_ms);

/* Remove entries older than the aging time. Returns how many were removed. */
uint32_t mactable_expire(struct mactable *t, uint64_t now_ms);

/* Remove every entry of a port (it left, or was cut off). Returns how many. */
uint32_t mactable_flush_port(struct mactable *t, uint32_t port);

/* Entries currently bound to port. */
uint32_t mactable_port_count(const struct mactable *t, uint32_t port);

void mactable_get_stats(const struct mactable *t, struct mactable_stats *out);

/* Visit live entries (for the status view), in steps: from position from (0
 * to start) until fn returns false; returns the position to resume at (after
 * the entry fn stopped on), or MACTABLE_WALK_END once every entry has been
 * visited. Entries learned or aged between steps may be missed or seen: a
 * status view's snapshot, not a transaction. */
typedef bool (*mactable_visit_fn)(const uint8_t mac[FRAME_MAC_LEN], uint32_t port,
				  uint64_t last_seen_ms, bool pinned, void *arg);
#define MACTABLE_WALK_END UINT32_MAX
uint32_t mactable_foreach_from(const struct mactable *t, uint32_t from, mactable_visit_fn fn,
			       void *arg);

/*
 * The forwarding decision for one ingress frame, after learning its source:
 *   FWD_UNICAST  send to *out_port only;
 *   FWD_FLOOD    send to every port except in_port (broadcast, multicast,
 *                unknown unicast);
 *   FWD_FILTER   the destination lives on in_port: send nowhere (a real
 *                switch never sends a frame back where it came from).
 */
enum mactable_fwd { FWD_UNICAST, FWD_FLOOD, FWD_FILTER };
enum mactable_fwd mactable_forward(const struct mactable *t, const uint8_t dst[FRAME_MAC_LEN],
				   uint32_t in_port, uint64_t now_ms, uint32_t *out_port);

#endif
