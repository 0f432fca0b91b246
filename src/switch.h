/*
 * switch — the switch daemon's state, shared by vswitch.c (which moves
 * frames) and switch_show.c (which reports on them). Glue, private to the
 * daemon: the pure modules know nothing of it.
 */
#ifndef VSWITCH_SWITCH_H
#define VSWITCH_SWITCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "admit.h"
#include "control.h"
#include "frame.h"
#include "key.h"
#include "log.h"
#include "loop.h"
#include "mactable.h"
#include "epmap.h"
#include "members.h"
#include "proto.h"
#include "session.h"
#include "timers.h"
#include "udp.h"
#include "wire.h"

#define SWITCH_MAX_PORTS 4096u /* fits the 16-bit slot in an index */
_Static_assert(SWITCH_MAX_PORTS == EPMAP_PORTS, "every slot has room in the endpoint map");
#define SLOT_BITS 16
#define SLOT_MASK ((1u << SLOT_BITS) - 1)
#define RX_BATCH 64u
#define TX_POOL 64u
#define MEMBERS_FILE_MAX (16u << 20)
/* Which handshake initiations the switch works through: src/admit.h. */

enum port_drop {
	DROP_MAC_PORT_FULL,
	DROP_MAC_TABLE_FULL,
	DROP_FILTERED, /* destination on the ingress port */
	DROP_NO_SESSION, /* to this port: no keypair may send yet */
	DROP_MAC_SPOOFED, /* source: another connected member's own MAC */
	PORT_DROP_COUNT,
};

struct port_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes, rx_keepalives, handshakes;
	uint64_t frame[FRAME_VERDICT_COUNT];
	uint64_t session[SESSION_RESULT_COUNT];
	uint64_t drop[PORT_DROP_COUNT];
	uint64_t stale_handshake;
};

struct port {
	bool in_use;
	bool is_connected;
	bool has_timestamp;
	uint8_t pub[NOISE_KEY_LEN];
	char name[MEMBERS_NAME_MAX + 1];
	struct session session;
	struct timers timers;
	struct endpoint endpoint;
	uint8_t last_timestamp[WIRE_TIMESTAMP_LEN];
	uint64_t last_handshake_ms; /* loop_now_ms(), for the status view */
	uint32_t connected_at;  /* position in vswitch.connected while connected */
	struct ratelimit rekeys; /* its initiations from its endpoint (admit.h) */
	struct port_stats st;
};

enum switch_drop {
	SW_DROP_BAD_MAC1,
	SW_DROP_BAD_HANDSHAKE,
	SW_DROP_UNKNOWN_KEY,
	SW_DROP_UNKNOWN_INDEX,
	SW_DROP_UNEXPECTED,
	SW_DROP_PORTS_FULL,
	SW_DROP_HANDSHAKE_RATE,
	SWITCH_DROP_COUNT,
};

struct options {
	const char *listen, *key_path, *members_path, *control_path;
	uint64_t mac_age_s, max_macs, max_macs_per_port, mtu;
	enum log_level log_level;
};

struct vswitch {
	struct options opt;
	struct proto_identity id;
	struct members members;
	struct port ports[SWITCH_MAX_PORTS];
	/* Slots of connected ports, unordered: floods and timers walk only these. */
	uint32_t connected[SWITCH_MAX_PORTS];
	uint32_t connected_count;
	struct mactable *macs;
	struct endpoint listen;
	struct loop loop;
	int udp_fd;
	struct control control;
	uint64_t control_dropped; /* clients dropped for errors or time */
	uint64_t rx_errors;       /* receive calls that failed (not EAGAIN) */
	struct udp_rx rx;
	struct udp_tx tx;
	uint8_t *pool; /* from proto_data_buf_alloc */
	size_t buf_size;
	unsigned pool_used;
	/* Frames to one port waiting to be sealed together (vswitch.c: seal_flush). */
	struct port *seal_port;
	size_t seal_count;
	struct proto_seal seal_run[PROTO_SEAL_RUN_MAX];
	uint64_t now_ms, started_ms, last_age_ms;
	uint64_t rx_header[WIRE_ERR_COUNT];
	uint64_t drop[SWITCH_DROP_COUNT];
	struct ratelimit unknown_key_log, roam_log;
	struct admit admit;
	struct epmap endpoints; /* connected ports by their current endpoint */
	uint8_t hash_key[16];
	bool running;
};

static inline uint32_t switch_slot_of(const struct vswitch *sw, const struct port *p)
{
	return (uint32_t)(p - sw->ports);
}

/* The port's name, or the start of its key when it has none. */
static inline const char *switch_port_label(const struct port *p, char buf[KEY_BASE64_LEN + 1])
{
	if (p->name[0])
		return p->name;
	key_to_base64(buf, p->pub);
	buf[8] = '\0';
	return buf;
}

/* The control socket's handler: answers "show" with the status view, the MAC
 * table in pieces. */
int switch_show(const char *request, FILE *out, void *arg, struct control_more *more);

#endif
