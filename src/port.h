/*
 * port — the port daemon's state, shared by vport.c (which moves frames) and
 * port_show.c (which reports on them). Glue, private to the daemon: the pure
 * modules know nothing of it.
 */
#ifndef VSWITCH_PORT_H
#define VSWITCH_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include "config.h"
#include "control.h"
#include "frame.h"
#include "log.h"
#include "loop.h"
#include "offload.h"
#include "proto.h"
#include "session.h"
#include "timers.h"
#include "udp.h"
#include "wire.h"

#define MAX_ADDRESSES 16
#define SEGMENTS_MAX 256u

enum port_counter {
	TAP_RX_FRAMES, TAP_RX_BYTES, TAP_TX_FRAMES, TAP_TX_BYTES,
	DROP_NO_SESSION, DROP_TAP_WRITE, DROP_BAD_MAC1, DROP_BAD_HANDSHAKE, DROP_UNEXPECTED,
	DROP_TAP_OFFLOAD, DROP_BAD_PARTIAL,
	HANDSHAKES_SENT, HANDSHAKES_DONE, RX_KEEPALIVES, TAP_SUPER_READ, TAP_SUPER_WRITTEN,
	PARTIAL_SENT, PARTIAL_RECEIVED,
	PORT_COUNTER_COUNT,
};

struct options {
	const char *switch_addr, *switch_pubkey, *key_path, *tap, *control_path;
	const char *addresses[MAX_ADDRESSES];
	unsigned address_count;
	uint64_t mtu;
	bool no_offload;
	enum log_level log_level;
};

struct vport {
	struct options opt;
	char control_path[108];
	struct proto_identity id;
	uint8_t switch_pub[NOISE_KEY_LEN];
	struct endpoint switch_ep;
	/* --switch by name: looked up again while the switch does not answer
	 * (its address may have changed: dynamic DNS), at most every
	 * RESOLVE_RETRY_MS; at start-up it may not resolve yet (no DNS). */
	char switch_host[CONFIG_HOST_MAX + 1];
	uint16_t switch_port;
	bool switch_named, switch_resolved;
	uint64_t resolved_ms;
	struct udp_lookup lookup; /* in the background: the loop never waits for DNS */
	struct config_cidr addresses[MAX_ADDRESSES];
	struct loop loop;
	int tap_fd, ifindex, udp_fd;
	bool tap_uso; /* the TAP takes and gives UDP super-frames */
	struct control control;
	struct udp_rx rx;
	struct udp_tx tx;
	uint8_t *scratch; /* one TAP read: vnet header and a super-frame */
	size_t scratch_size;
	uint8_t *arena; /* sealed messages until the next flush */
	size_t arena_used;
	size_t seg_lens[SEGMENTS_MAX];
	struct proto_seal seal_run[SEGMENTS_MAX]; /* a super-frame's segments, sealed together */
	struct offload_frame *rx_frames; /* decrypted, waiting to be written to the TAP */
	size_t rx_frame_count;
	size_t buf_size;
	struct session session;
	struct timers timers;
	struct proto_initiation init;
	uint8_t last_timestamp[WIRE_TIMESTAMP_LEN];
	uint64_t last_handshake_ms; /* loop_now_ms(); 0 before the first */
	uint64_t now_ms, started_ms;
	uint64_t count[PORT_COUNTER_COUNT];
	uint64_t rx_header[WIRE_ERR_COUNT];
	uint64_t rx_session[SESSION_RESULT_COUNT];
	uint64_t rx_frame[FRAME_VERDICT_COUNT], tap_frame[FRAME_VERDICT_COUNT];
	uint64_t udp_rx_errors;
	uint64_t tap_drops_at_start; /* the TAP's kernel drop count when we took it */
	uint64_t control_dropped; /* control clients dropped for errors or time */
	struct ratelimit retry_log;
	bool udp_connected; /* false until a route to the switch exists */
	bool running;
	int exit_status;
};

/* The control socket's handler: "show" writes the status view. */
int port_show(const char *request, FILE *out, void *arg, struct control_more *more);

#endif
