/*
 * vport — the port daemon. Glue: a TAP device on one side, the switch over
 * UDP on the other. It initiates the handshake (it knows the switch's key),
 * keeps the session alive, rekeys before keys expire, and reconnects when the
 * switch goes silent. Every decision lives in a pure module.
 */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "control.h"
#include "frame.h"
#include "key.h"
#include "keyfile.h"
#include "log.h"
#include "loop.h"
#include "aead.h"
#include "netlink.h"
#include "offload.h"
#include "port.h"
#include "proto.h"
#include "session.h"
#include "tap.h"
#include "timers.h"
#include "udp.h"
#include "wire.h"

#define PROG "vport"
#define CONTROL_PREFIX CONTROL_DIR "/vport-"
#define BATCH 64u
/* Sealed messages waiting for one sendmmsg; room for a few super-frames. */
#define ARENA_SIZE (1u << 20)
/* Most frames one receive batch can hold: GRO packs up to 64 per message. */
#define RX_FRAMES_MAX (BATCH * UDP_MAX_SEGMENTS)
#define TX_QUEUE 1024u

/* ---- to the switch ---- */

#define RESOLVE_RETRY_MS 10000u

/* A new socket picks its source address afresh: after the host's address
 * changed (a laptop moved networks), the old one can no longer send. */
static int open_switch_socket(struct vport *vp, char *err, size_t err_len)
{
	char where[64];
	int fd = udp_open_for(&vp->switch_ep, err, err_len);

	if (fd < 0)
		return fd;
	/* Connected: the kernel drops datagrams from anyone but the switch. */
	if (connect(fd, (struct sockaddr *)&vp->switch_ep.addr, vp->switch_ep.len) < 0) {
		int ret = -errno;

		snprintf(err, err_len, "cannot connect UDP socket to %s: %s",
			 endpoint_format(&vp->switch_ep, where, sizeof(where)), strerror(errno));
		close(fd);
		return ret;
	}
	if (!vp->opt.no_offload && !udp_enable_gro(fd))
		log_debug("UDP GRO not available: receiving datagrams one by one");
	if (!udp_enable_drop_count(fd))
		log_debug("the kernel does not report drops at the UDP socket");
	return fd;
}

/* No route to the switch yet (a laptop before its network is up): worth
 * waiting for, not a reason to exit. */
static bool is_transient(int err)
{
	return err == -ENETUNREACH || err == -EHOSTUNREACH || err == -EADDRNOTAVAIL ||
	       err == -ENETDOWN;
}

static void reopen_switch_socket(struct vport *vp)
{
	char err[200];
	int fd = open_switch_socket(vp, err, sizeof(err));

	if (fd < 0 || loop_add(&vp->loop, fd, LOOP_UDP, err, sizeof(err)) < 0) {
		if (vp->udp_connected || ratelimit_allow(&vp->retry_log, vp->now_ms))
			log_warn("%s; %s", err,
				 vp->udp_connected ? "keeping the old socket" : "will retry");
		if (fd >= 0)
			close(fd);
		return;
	}
	close(vp->udp_fd);
	vp->udp_fd = fd;
	udp_rx_new_socket(&vp->rx);
	if (!vp->udp_connected)
		log_info("the switch %s is reachable now", vp->opt.switch_addr);
	vp->udp_connected = true;
}

static void send_handshake(struct vport *vp);

/* Look the switch's name up again, in the background (take_lookup has the
 * answer), unless a lookup is under way. */
static void resolve_switch(struct vport *vp)
{
	char err[300];

	if (vp->lookup.busy)
		return;
	vp->resolved_ms = vp->now_ms;
	if (udp_lookup_start(&vp->lookup, vp->switch_host, vp->switch_port, err, sizeof(err)) < 0 &&
	    ratelimit_allow(&vp->retry_log, vp->now_ms))
		log_warn("--switch: %s; will retry", err);
}

/* A finished lookup: a new address takes effect at once (a new socket and a
 * handshake); a failure keeps the last address, if any. */
static void take_lookup(struct vport *vp)
{
	struct endpoint ep;
	char err[300], was[64], now[64];
	int r = udp_lookup_poll(&vp->lookup, &ep, err, sizeof(err));

	if (r < 0 && ratelimit_allow(&vp->retry_log, vp->now_ms))
		log_warn("--switch: %s; %s", err,
			 vp->switch_resolved ? "keeping the last address" : "will retry");
	if (r <= 0 || (vp->switch_resolved && endpoint_equal(&ep, &vp->switch_ep)))
		return;
	if (vp->switch_resolved)
		log_info("switch %s now resolves to %s (was %s)", vp->opt.switch_addr,
			 endpoint_format(&ep, now, sizeof(now)),
			 endpoint_format(&vp->switch_ep, was, sizeof(was)));
	vp->switch_ep = ep;
	vp->switch_resolved = true;
	vp->udp_connected = false; /* a socket connected to the new address */
	send_handshake(vp);
}

static void next_timestamp(struct vport *vp, uint8_t ts[WIRE_TIMESTAMP_LEN])
{
	struct timespec now;

	/* CLOCK_REALTIME cannot fail here; it may step backwards, so never repeat. */
	clock_gettime(CLOCK_REALTIME, &now);
	wire_timestamp_encode(ts, (uint64_t)now.tv_sec, (uint32_t)now.tv_nsec);
	if (wire_timestamp_cmp(ts, vp->last_timestamp) <= 0) {
		memcpy(ts, vp->last_timestamp, WIRE_TIMESTAMP_LEN);
		for (int i = WIRE_TIMESTAMP_LEN - 1; i >= 0 && ++ts[i] == 0; i--)
			;
	}
	memcpy(vp->last_timestamp, ts, WIRE_TIMESTAMP_LEN);
}

static void send_handshake(struct vport *vp)
{
	uint8_t e_priv[NOISE_KEY_LEN], ts[WIRE_TIMESTAMP_LEN], msg[WIRE_INIT_LEN];
	size_t len;

	/* Unanswered, or never resolved: the name may point elsewhere now. */
	if (vp->switch_named &&
	    (!vp->switch_resolved || (vp->timers.handshake_in_flight &&
				      vp->now_ms - vp->resolved_ms >= RESOLVE_RETRY_MS)))
		resolve_switch(vp);
	if (vp->switch_resolved && !vp->udp_connected)
		reopen_switch_socket(vp);
	if (!vp->udp_connected) {
		timers_handshake_initiated(&vp->timers, vp->now_ms,
					   randombytes_uniform(TIMERS_JITTER_MAX_MS));
		return;
	}
	if (vp->timers.handshake_in_flight && ratelimit_allow(&vp->retry_log, vp->now_ms))
		log_info("no answer from switch %s yet; retrying", vp->opt.switch_addr);
	next_timestamp(vp, ts);
	randombytes_buf(e_priv, sizeof(e_priv));
	len = proto_create_init(&vp->init, &vp->id, vp->switch_pub, e_priv, ts,
				randombytes_random(), msg, sizeof(msg));
	sodium_memzero(e_priv, sizeof(e_priv));
	timers_handshake_initiated(&vp->timers, vp->now_ms,
				   randombytes_uniform(TIMERS_JITTER_MAX_MS));
	if (len == 0)
		return;
	udp_tx_add(&vp->tx, vp->udp_fd, msg, len, NULL);
	udp_tx_flush(&vp->tx, vp->udp_fd);
	vp->count[HANDSHAKES_SENT]++;
}

/* Queue a message proto_seal_data_run sealed. Returns SESSION_OK,
 * SESSION_NO_KEY (no keypair may send) or SESSION_CRYPTO_ERROR. */
static enum session_result send_sealed(struct vport *vp, const struct proto_seal *ps)
{
	if (ps->len == 0)
		return ps->why == SESSION_CRYPTO_ERROR ? SESSION_CRYPTO_ERROR : SESSION_NO_KEY;
	udp_tx_add(&vp->tx, vp->udp_fd, ps->msg, ps->len, NULL);
	timers_data_sent(&vp->timers, vp->now_ms);
	return SESSION_OK;
}

/* msg: headroom, frame_len bytes of frame, room for the tag. Returns as
 * send_sealed. */
static enum session_result send_frame(struct vport *vp, uint8_t *msg, size_t frame_len)
{
	struct proto_seal ps = { .msg = msg, .frame_len = frame_len };

	proto_seal_data_run(&vp->session, &ps, 1, vp->now_ms);
	return send_sealed(vp, &ps);
}

static void send_keepalive(struct vport *vp)
{
	uint8_t room[PROTO_DATA_HEADROOM + WIRE_DATA_OVERHEAD];

	if (send_frame(vp, room + PROTO_DATA_HEADROOM, 0) == SESSION_OK)
		udp_tx_flush(&vp->tx, vp->udp_fd);
}

/* ---- from the TAP ---- */

static void flush_tx(struct vport *vp)
{
	udp_tx_flush(&vp->tx, vp->udp_fd);
	vp->arena_used = 0;
}

/* Room for need more bytes of sealed messages, flushing if the arena is full. */
static uint8_t *arena_room(struct vport *vp, size_t need)
{
	if (vp->arena_used + need > ARENA_SIZE)
		flush_tx(vp);
	return vp->arena + vp->arena_used;
}

/* Whether the frame at msg + WIRE_DATA_HEADER_LEN may go to the switch;
 * counted if not. */
static bool frame_ok(struct vport *vp, const uint8_t *msg, size_t len)
{
	enum frame_verdict v = frame_check(msg + WIRE_DATA_HEADER_LEN, len, (unsigned)vp->opt.mtu);

	if (v != FRAME_OK)
		vp->tap_frame[v]++;
	return v == FRAME_OK;
}

/* Queue a frame from the TAP that proto_seal_data_run sealed, and count it. */
static void queue_sealed(struct vport *vp, const struct proto_seal *ps)
{
	enum session_result r = send_sealed(vp, ps);

	if (r == SESSION_CRYPTO_ERROR) { /* counted with the receive side's */
		vp->rx_session[r]++;
		return;
	}
	if (r != SESSION_OK) {
		vp->count[DROP_NO_SESSION]++;
		return;
	}
	vp->count[TAP_RX_FRAMES]++;
	vp->count[TAP_RX_BYTES] += ps->frame_len;
	if (ps->flags & WIRE_DATA_CSUM_PARTIAL)
		vp->count[PARTIAL_SENT]++;
}

/* flags: WIRE_DATA_CSUM_PARTIAL if the frame's checksum is left partial. */
static void queue_frame(struct vport *vp, const uint8_t *frame, size_t len, uint8_t flags)
{
	uint8_t *msg = arena_room(vp, WIRE_DATA_OVERHEAD + len);
	struct proto_seal ps = { .msg = msg, .frame_len = len, .flags = flags };

	memcpy(msg + WIRE_DATA_HEADER_LEN, frame, len);
	if (frame_ok(vp, msg, len)) {
		proto_seal_data_run(&vp->session, &ps, 1, vp->now_ms);
		queue_sealed(vp, &ps);
	}
	vp->arena_used += WIRE_DATA_OVERHEAD + len;
}

/* A super-frame cut into out: its checksums left partial where offload_segment
 * reads its headers, else finished (*partial false). */
static int cut_super_frame(struct vport *vp, const uint8_t *frame, size_t len,
			   const struct offload_hdr *h, uint8_t *out, size_t room, size_t *stride,
			   bool *partial)
{
	int n = offload_segment(frame, len, h, out, room, WIRE_DATA_HEADER_LEN, NOISE_TAG_LEN,
				vp->seg_lens, SEGMENTS_MAX, stride);

	*partial = n != -OFFLOAD_BAD_GSO;
	if (*partial)
		return n;
	return offload_segment_finished(frame, len, h, out, room, WIRE_DATA_HEADER_LEN,
					NOISE_TAG_LEN, vp->seg_lens, SEGMENTS_MAX, stride);
}

/* A TCP or UDP super-frame: segments laid out back to back so the batch leaves in
 * one UDP GSO send. */
static void queue_super_frame(struct vport *vp, const uint8_t *frame, size_t len,
			      const struct offload_hdr *h)
{
	struct proto_seal *run = vp->seal_run;
	size_t stride = 0, room = ARENA_SIZE - vp->arena_used, m = 0;
	bool partial;
	int n = cut_super_frame(vp, frame, len, h, vp->arena + vp->arena_used, room, &stride,
				&partial);

	if (n == -OFFLOAD_TOO_MANY && vp->arena_used > 0) {
		flush_tx(vp);
		n = cut_super_frame(vp, frame, len, h, vp->arena, ARENA_SIZE, &stride, &partial);
	}
	if (n < 0) {
		vp->count[DROP_TAP_OFFLOAD]++;
		return;
	}
	vp->count[TAP_SUPER_READ]++;
	for (int i = 0; i < n; i++) {
		uint8_t *msg = vp->arena + vp->arena_used + (size_t)i * stride;

		if (frame_ok(vp, msg, vp->seg_lens[i]))
			run[m++] = (struct proto_seal){
				.msg = msg,
				.frame_len = vp->seg_lens[i],
				.flags = partial ? WIRE_DATA_CSUM_PARTIAL : 0,
			};
	}
	proto_seal_data_run(&vp->session, run, m, vp->now_ms);
	for (size_t k = 0; k < m; k++)
		queue_sealed(vp, &run[k]);
	vp->arena_used += (size_t)n * stride;
}

/* A frame the kernel left a checksum to finish in: sent as it is if the
 * receiver will find the checksum where the kernel says it is
 * (offload_partial_at), finished here if not. Returns the frame's flags, or
 * -1 if it cannot be sent. */
static int partial_or_finished(uint8_t *frame, size_t len, const struct offload_hdr *h)
{
	struct offload_hdr at;

	if (offload_partial_at(frame, len, &at) && at.csum_start == h->csum_start &&
	    at.csum_offset == h->csum_offset)
		return WIRE_DATA_CSUM_PARTIAL;
	if (offload_finish_csum(frame, len, h->csum_start, h->csum_offset) != OFFLOAD_OK)
		return -1;
	return 0;
}

static void take_tap_read(struct vport *vp, uint8_t *buf, size_t len)
{
	struct offload_hdr h;
	int flags = 0;

	if (!vp->opt.no_offload) {
		if (len < OFFLOAD_VNET_HDR_LEN) {
			vp->tap_frame[FRAME_TOO_SHORT]++;
			return;
		}
		offload_hdr_decode(buf, &h);
		buf += OFFLOAD_VNET_HDR_LEN;
		len -= OFFLOAD_VNET_HDR_LEN;
		if (h.gso_type != OFFLOAD_GSO_NONE) {
			queue_super_frame(vp, buf, len, &h);
			return;
		}
		if (h.flags & OFFLOAD_F_NEEDS_CSUM)
			flags = partial_or_finished(buf, len, &h);
		if (flags < 0) {
			vp->count[DROP_TAP_OFFLOAD]++;
			return;
		}
	}
	queue_frame(vp, buf, len, (uint8_t)flags);
}

static void on_tap(struct vport *vp)
{
	vp->now_ms = loop_now_ms();
	for (unsigned n = 0; n < BATCH; n++) {
		ssize_t len = read(vp->tap_fd, vp->scratch, vp->scratch_size);

		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				/* The device is gone (deleted from outside) or broken:
				 * nothing more can be done here; let the supervisor restart
				 * us. */
				log_error("cannot read %s: %s; stopping", vp->opt.tap, strerror(errno));
				vp->running = false;
				vp->exit_status = 1;
			}
			break;
		}
		/* tun reports a frame's whole length even if the buffer took less;
		 * the buffer fits the largest super-frame, so this is a safeguard. */
		if ((size_t)len > vp->scratch_size) {
			vp->tap_frame[FRAME_TOO_LONG]++;
			continue;
		}
		take_tap_read(vp, vp->scratch, (size_t)len);
	}
	flush_tx(vp);
}

/* ---- from the switch ---- */

static void on_resp(struct vport *vp, const uint8_t *msg, size_t len)
{
	struct wire_resp w;
	enum wire_error werr = wire_decode_resp(msg, len, &w);
	enum proto_result r;

	if (werr != WIRE_OK) {
		vp->rx_header[werr]++;
		return;
	}
	r = proto_consume_resp(&vp->init, &vp->id, msg, len, &w, &vp->session, vp->now_ms);
	if (r != PROTO_OK) {
		vp->count[r == PROTO_BAD_MAC1 ? DROP_BAD_MAC1
			  : r == PROTO_UNEXPECTED ? DROP_UNEXPECTED
						  : DROP_BAD_HANDSHAKE]++;
		return;
	}
	if (!vp->timers.has_session)
		log_info("connected to switch %s", vp->opt.switch_addr);
	timers_handshake_complete(&vp->timers, vp->now_ms);
	vp->count[HANDSHAKES_DONE]++;
	vp->last_handshake_ms = vp->now_ms;
	/* Confirms the new keypair to the switch, which may not send on it before. */
	send_keepalive(vp);
}

static void tap_write(struct vport *vp, const struct iovec *iov, int iov_count, size_t frames,
		      size_t bytes)
{
	ssize_t want = 0, n;

	for (int i = 0; i < iov_count; i++)
		want += (ssize_t)iov[i].iov_len;
	n = writev(vp->tap_fd, iov, iov_count);
	if (n != want) {
		vp->count[DROP_TAP_WRITE] += frames;
		return;
	}
	vp->count[TAP_TX_FRAMES] += frames;
	vp->count[TAP_TX_BYTES] += bytes;
}

/* The virtio header for a frame written alone: a checksum left partial goes
 * on for the kernel to finish, where offload_partial_at finds it. NULL if the
 * frame is flagged partial but cannot be: only a TCP or UDP checksum can, and
 * the kernel must not be told to finish one anywhere else. */
static const uint8_t *alone_header(const struct offload_frame *f,
				   uint8_t vnet[OFFLOAD_VNET_HDR_LEN])
{
	static const uint8_t plain[OFFLOAD_VNET_HDR_LEN];
	struct offload_hdr at;

	if (!f->csum_partial)
		return plain;
	if (!offload_partial_at(f->data, f->len, &at))
		return NULL;
	offload_hdr_encode(vnet, &at);
	return vnet;
}

/* Write the decrypted frames of a receive batch, merging TCP segments of one
 * flow, and datagrams of one UDP flow where the TAP takes them, into
 * super-frames (one write, one pass through the kernel's stack). */
static void deliver_pending(struct vport *vp)
{
	uint8_t vnet[OFFLOAD_VNET_HDR_LEN], hdr[OFFLOAD_MAX_HEADERS];
	const struct offload_frame *f = vp->rx_frames;
	struct iovec wiov[OFFLOAD_MAX_COALESCE + 2];
	size_t i = 0;

	while (i < vp->rx_frame_count) {
		size_t hdr_len = 0, bytes = 0;
		size_t k = offload_coalesce_next(f, vp->rx_frame_count, i, vp->tap_uso, vnet,
						 hdr, &hdr_len);
		int iov = 0;

		if (k == 1) {
			const uint8_t *head = alone_header(&f[i], vnet);

			if (!head) {
				vp->count[DROP_BAD_PARTIAL]++;
				i++;
				continue;
			}
			wiov[iov++] = (struct iovec){ (void *)head, OFFLOAD_VNET_HDR_LEN };
			wiov[iov++] = (struct iovec){ f[i].data, f[i].len };
			bytes = f[i].len;
		} else {
			wiov[iov++] = (struct iovec){ vnet, sizeof(vnet) };
			wiov[iov++] = (struct iovec){ hdr, hdr_len };
			for (size_t j = i; j < i + k; j++) {
				wiov[iov++] =
					(struct iovec){ f[j].data + hdr_len, f[j].len - hdr_len };
				bytes += f[j].len;
			}
			vp->count[TAP_SUPER_WRITTEN]++;
		}
		tap_write(vp, wiov, iov, k, bytes);
		i += k;
	}
	vp->rx_frame_count = 0;
}

/* A decrypted frame, with its data message's flags (WIRE_DATA_*). A flagged
 * one's partial checksum is checked once: by offload_coalesce_next as it
 * merges it, by alone_header if it goes alone, or here, where it is finished
 * for a TAP without offloads. */
static void deliver(struct vport *vp, uint8_t *frame, size_t len, uint8_t flags)
{
	enum frame_verdict v = frame_check(frame, len, (unsigned)vp->opt.mtu);
	bool partial = flags & WIRE_DATA_CSUM_PARTIAL;

	if (v != FRAME_OK) {
		vp->rx_frame[v]++;
		return;
	}
	vp->count[PARTIAL_RECEIVED] += partial;
	if (vp->opt.no_offload) {
		struct iovec one = { frame, len };
		struct offload_hdr at;

		if (partial &&
		    (!offload_partial_at(frame, len, &at) ||
		     offload_finish_csum(frame, len, at.csum_start, at.csum_offset) != OFFLOAD_OK))
			vp->count[DROP_BAD_PARTIAL]++;
		else
			tap_write(vp, &one, 1, 1, len);
		return;
	}
	if (vp->rx_frame_count == RX_FRAMES_MAX)
		deliver_pending(vp);
	vp->rx_frames[vp->rx_frame_count++] = (struct offload_frame){ frame, len, partial };
}

/* Data messages received one after another: their tags are checked together
 * (proto_open_data_check). */
struct data_run {
	size_t n;
	struct proto_open ops[PROTO_OPEN_RUN_MAX];
};

static void open_run(struct vport *vp, struct data_run *run)
{
	if (run->n == 0)
		return;
	proto_open_data_check(&vp->session, run->ops, run->n, vp->now_ms);
	for (size_t i = 0; i < run->n; i++) {
		uint8_t *frame;
		size_t frame_len;
		enum session_result r =
			proto_open_data_finish(&vp->session, &run->ops[i], &frame, &frame_len);

		if (r != SESSION_OK) {
			vp->rx_session[r]++;
			continue;
		}
		timers_data_received(&vp->timers, vp->now_ms);
		if (frame_len == 0)
			vp->count[RX_KEEPALIVES]++;
		else
			deliver(vp, frame, frame_len, run->ops[i].d.flags);
	}
	run->n = 0;
}

/* Takes a data message into run (opening the run first if it is full), or
 * drops it counted. */
static void take_data(struct vport *vp, struct data_run *run, uint8_t *msg, size_t len)
{
	enum wire_error werr;

	if (run->n == PROTO_OPEN_RUN_MAX)
		open_run(vp, run);
	werr = wire_decode_data(msg, len, &run->ops[run->n].d);
	if (werr != WIRE_OK)
		vp->rx_header[werr]++;
	else
		run->n++;
}

/* Data messages join run; a handshake response is handled after the run
 * before it, so that everything happens in the order it arrived. */
static void on_datagram(struct vport *vp, struct data_run *run, uint8_t *msg, size_t len)
{
	enum wire_type type;
	enum wire_error werr = wire_peek(msg, len, &type);

	if (werr != WIRE_OK) {
		vp->rx_header[werr]++;
		return;
	}
	if (type == WIRE_DATA) {
		take_data(vp, run, msg, len);
	} else if (type == WIRE_HANDSHAKE_RESP) {
		open_run(vp, run);
		on_resp(vp, msg, len);
	} else {
		vp->count[DROP_UNEXPECTED]++;
	}
}

static void on_udp(struct vport *vp)
{
	struct data_run run = { .n = 0 };
	int n, rounds = 0;

	do {
		n = udp_rx_batch(vp->udp_fd, &vp->rx);
		if (n < 0) {
			/* ICMP errors from a switch that is down: counted, retried by timers. */
			vp->udp_rx_errors++;
			continue;
		}
		vp->now_ms = loop_now_ms();
		for (unsigned i = 0; i < (unsigned)n; i++) {
			size_t count = udp_rx_count(&vp->rx, i);

			for (size_t k = 0; k < count; k++) {
				size_t len;
				uint8_t *msg = udp_rx_datagram(&vp->rx, i, k, &len);

				on_datagram(vp, &run, msg, len);
			}
		}
		open_run(vp, &run);
		deliver_pending(vp);
	} while (++rounds < UDP_RX_ROUNDS && (n < 0 || n == (int)vp->rx.cap));
	udp_tx_flush(&vp->tx, vp->udp_fd);
}

/* ---- timers ---- */

static void on_tick(struct vport *vp)
{
	unsigned due;

	vp->now_ms = loop_now_ms();
	take_lookup(vp);
	session_expire(&vp->session, vp->now_ms);
	due = timers_initiator_due(&vp->timers, vp->now_ms,
				   session_needs_rekey(&vp->session, vp->now_ms));
	if (due & TIMER_PEER_DEAD) {
		log_warn("switch %s silent for %u s: reconnecting", vp->opt.switch_addr,
			 TIMERS_DEAD_AFTER_MS / 1000);
		session_wipe(&vp->session);
		timers_session_lost(&vp->timers);
		vp->tx.count = 0; /* queued for the old socket: let them go */
		if (vp->switch_named)
			resolve_switch(vp);
		reopen_switch_socket(vp);
		due = TIMER_SEND_HANDSHAKE;
	}
	if (due & TIMER_SEND_HANDSHAKE)
		send_handshake(vp);
	if (due & TIMER_SEND_KEEPALIVE)
		send_keepalive(vp);
}

/* ---- startup and shutdown ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " --switch HOST:PORT --switch-pubkey BASE64 --key FILE --tap NAME\n"
		"             [--address CIDR]... [--mtu N] [options]\n"
		"       " PROG " show [--control PATH]\n"
		"       " PROG " genkey | pubkey\n"
		"\n"
		"  --switch HOST:PORT       the switch ([2001:db8::1]:PORT for IPv6); a name is\n"
		"                           looked up again while the switch does not answer\n"
		"  --switch-pubkey BASE64   the switch's public key\n"
		"  --key FILE               this port's private key (mode 0600)\n"
		"  --tap NAME               TAP device to create\n"
		"  --address CIDR           address for the TAP, IPv4 or IPv6 (repeatable)\n"
		"  --mtu N                  TAP MTU (default %d: fits a 1500-byte underlay)\n"
		"  --control PATH           control socket (default " CONTROL_PREFIX "NAME.sock)\n"
		"  --no-offload             move frames one by one (no TSO/GSO/GRO super-frames)\n"
		"  --verbose                log debug messages\n"
		"  --help                   show this help\n",
		WIRE_DEFAULT_TAP_MTU);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "switch", required_argument, NULL, 's' },
		{ "switch-pubkey", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "tap", required_argument, NULL, 't' },
		{ "address", required_argument, NULL, 'a' },
		{ "mtu", required_argument, NULL, 'M' },
		{ "control", required_argument, NULL, 'c' },
		{ "no-offload", no_argument, NULL, 'O' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[160];
	int c;

	*o = (struct options){ .mtu = WIRE_DEFAULT_TAP_MTU, .log_level = LOG_INFO };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->switch_addr = optarg; break;
		case 'p': o->switch_pubkey = optarg; break;
		case 'k': o->key_path = optarg; break;
		case 't': o->tap = optarg; break;
		case 'c': o->control_path = optarg; break;
		case 'v': o->log_level = LOG_DEBUG; break;
		case 'O': o->no_offload = true; break;
		case 'a':
			if (o->address_count == MAX_ADDRESSES)
				return cli_fail(PROG, "--address: at most %d addresses", MAX_ADDRESSES);
			o->addresses[o->address_count++] = optarg;
			break;
		case 'M':
			if (!config_parse_u64(optarg, WIRE_MIN_TAP_MTU, WIRE_MAX_TAP_MTU, &o->mtu, err,
					      sizeof(err)))
				return cli_fail(PROG, "--mtu: %s", err);
			break;
		case 'h': usage(stdout); exit(0);
		default:
			return cli_fail(PROG, "unknown or incomplete option '%s' (see --help)",
					argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_fail(PROG, "unexpected argument '%s' (see --help)", argv[optind]);
	if (!o->switch_addr || !o->switch_pubkey || !o->key_path || !o->tap)
		return cli_fail(PROG, "--switch, --switch-pubkey, --key and --tap are required (see --help)");
	return 0;
}

/* Checks every value before touching the system, so a typo changes nothing. */
static int check_values(struct vport *vp, char *host, uint16_t *port)
{
	char err[200];

	if (!config_parse_hostport(vp->opt.switch_addr, false, host, port, err, sizeof(err)))
		return cli_fail(PROG, "--switch: %s", err);
	if (!key_from_text(vp->switch_pub, vp->opt.switch_pubkey, strlen(vp->opt.switch_pubkey)))
		return cli_fail(PROG, "--switch-pubkey: '%s' is not a base64 public key",
				vp->opt.switch_pubkey);
	if (!config_parse_ifname(vp->opt.tap, err, sizeof(err)))
		return cli_fail(PROG, "--tap: %s", err);
	for (unsigned i = 0; i < vp->opt.address_count; i++) {
		if (!config_parse_cidr(vp->opt.addresses[i], &vp->addresses[i], err, sizeof(err)))
			return cli_fail(PROG, "--address: %s", err);
		/* The kernel removes a link's IPv6 addresses below IPv6's minimum MTU. */
		if (vp->addresses[i].family == AF_INET6 && vp->opt.mtu < 1280)
			return cli_fail(PROG, "--address %s: IPv6 needs an MTU of at least 1280, "
					"not %" PRIu64 " (--mtu)", vp->opt.addresses[i], vp->opt.mtu);
	}
	if ((vp->opt.control_path
		     ? snprintf(vp->control_path, sizeof(vp->control_path), "%s", vp->opt.control_path)
		     : snprintf(vp->control_path, sizeof(vp->control_path), CONTROL_PREFIX "%s.sock",
				vp->opt.tap)) >= (int)sizeof(vp->control_path))
		return cli_fail(PROG, "--control: path longer than %zu characters",
				sizeof(vp->control_path) - 1);
	return 0;
}

static int setup_tap(struct vport *vp)
{
	unsigned char mac[6];
	char err[200];

	vp->tap_fd = tap_open(vp->opt.tap, !vp->opt.no_offload, &vp->tap_uso, &vp->ifindex, err,
			      sizeof(err));
	if (vp->tap_fd < 0)
		return cli_fail(PROG, "%s", err);
	/* A TAP made persistent beforehand may have dropped frames before us. */
	if (tap_kernel_drops(vp->ifindex, &vp->tap_drops_at_start) < 0)
		vp->tap_drops_at_start = 0;
	for (unsigned i = 0; i < vp->opt.address_count; i++)
		if (netlink_addr_add(vp->ifindex, &vp->addresses[i], err, sizeof(err)) < 0)
			return cli_fail(PROG, "%s: %s", vp->opt.tap, err);
	/* A super-frame is cut into at most SEGMENTS_MAX segments at once; by
	 * default the kernel makes up to 65,535 (a small MSS), which would be
	 * dropped whole. An older kernel may refuse: then those are counted
	 * as tap_bad_offload. */
	if (!vp->opt.no_offload &&
	    netlink_link_gso_max_segs(vp->ifindex, SEGMENTS_MAX, err, sizeof(err)) < 0)
		log_warn("%s: %s; super-frames of more than %u segments will be dropped",
			 vp->opt.tap, err, SEGMENTS_MAX);
	key_derive_mac(mac, vp->id.pub);
	if (netlink_link_setup(vp->ifindex, (unsigned)vp->opt.mtu, mac, err, sizeof(err)) < 0)
		return cli_fail(PROG, "%s: %s", vp->opt.tap, err);
	return 0;
}

static int setup(struct vport *vp)
{
	uint8_t priv[NOISE_KEY_LEN];
	char host[CONFIG_HOST_MAX + 1], err[300];
	uint16_t port;
	bool ok;
	int ret;

	if (loop_defer_sighup(err, sizeof(err)) < 0)
		return cli_fail(PROG, "%s", err);
	if (sodium_init() < 0)
		return cli_fail(PROG, "cannot initialise libsodium");
	if (check_values(vp, host, &port) != 0)
		return 1;
	if (keyfile_read(vp->opt.key_path, priv, err, sizeof(err)) < 0)
		return cli_fail(PROG, "%s", err);
	ok = proto_identity_init(&vp->id, priv);
	sodium_memzero(priv, sizeof(priv));
	if (!ok)
		return cli_fail(PROG, "key file %s: not a usable private key", vp->opt.key_path);
	snprintf(vp->switch_host, sizeof(vp->switch_host), "%s", host);
	vp->switch_port = port;
	vp->switch_named = !config_is_numeric_host(host);
	ret = udp_resolve(host, port, false, &vp->switch_ep, err, sizeof(err));
	vp->switch_resolved = ret == 0;
	if (ret == -EAGAIN && vp->switch_named) {
		/* No DNS yet (a laptop at boot): an IPv4 socket until the name resolves. */
		log_warn("--switch: %s; will keep trying", err);
		vp->switch_ep = (struct endpoint){ .len = sizeof(struct sockaddr_in) };
		vp->switch_ep.addr.ss_family = AF_INET;
	} else if (ret < 0) {
		return cli_fail(PROG, "--switch: %s", err);
	}
	/* Receive buffers take a whole GRO run; a TAP read a whole super-frame. */
	vp->buf_size = UDP_SUPER_MAX;
	vp->scratch_size = OFFLOAD_VNET_HDR_LEN + OFFLOAD_MAX_FRAME;
	vp->scratch = malloc(vp->scratch_size);
	vp->arena = proto_data_buf_alloc(ARENA_SIZE);
	vp->rx_frames = calloc(RX_FRAMES_MAX, sizeof(*vp->rx_frames));
	if (!vp->scratch || !vp->arena || !vp->rx_frames ||
	    udp_rx_init(&vp->rx, BATCH, vp->buf_size, PROTO_DATA_HEADROOM) < 0)
		return cli_fail(PROG, "out of memory for packet buffers");
	if (loop_init(&vp->loop, err, sizeof(err)) < 0)
		return cli_fail(PROG, "%s", err);
	vp->udp_fd = vp->switch_resolved ? open_switch_socket(vp, err, sizeof(err))
					 : udp_open_for(&vp->switch_ep, err, sizeof(err));
	vp->udp_connected = vp->switch_resolved && vp->udp_fd >= 0;
	if (vp->udp_fd < 0 && is_transient(vp->udp_fd)) {
		log_warn("%s; will keep trying", err);
		vp->udp_fd = udp_open_for(&vp->switch_ep, err, sizeof(err));
	}
	if (vp->udp_fd < 0)
		return cli_fail(PROG, "%s", err);
	if (udp_tx_init(&vp->tx, TX_QUEUE, vp->udp_fd, !vp->opt.no_offload) < 0)
		return cli_fail(PROG, "out of memory for packet buffers");
	vp->tx.before_send = aead_finish_tags;
	aead_defer_tags(true);
	if (setup_tap(vp) != 0)
		return 1;
	if (control_open(&vp->control, vp->control_path, port_show, vp, err, sizeof(err)) < 0)
		return cli_fail(PROG, "%s", err);
	if (loop_add(&vp->loop, vp->udp_fd, LOOP_UDP, err, sizeof(err)) < 0 ||
	    loop_add(&vp->loop, vp->tap_fd, LOOP_TAP, err, sizeof(err)) < 0 ||
	    loop_add(&vp->loop, vp->control.epfd, LOOP_CONTROL, err, sizeof(err)) < 0)
		return cli_fail(PROG, "%s", err);
	return 0;
}

static void serve_control(struct vport *vp)
{
	vp->control_dropped += control_serve(&vp->control, loop_now_ms());
}

static void teardown(struct vport *vp)
{
	udp_lookup_cancel(&vp->lookup);
	session_wipe(&vp->session);
	noise_wipe(&vp->init.hs);
	proto_identity_wipe(&vp->id);
	control_close(&vp->control, vp->control_path);
	if (vp->tap_fd >= 0)
		close(vp->tap_fd); /* the TAP device goes away with its last descriptor */
	if (vp->udp_fd >= 0)
		close(vp->udp_fd);
	loop_free(&vp->loop);
	udp_tx_free(&vp->tx);
	udp_rx_free(&vp->rx);
	free(vp->scratch);
	proto_data_buf_free(vp->arena);
	free(vp->rx_frames);
	aead_cleanup();
}

static int run(struct vport *vp)
{
	struct epoll_event events[8];

	log_info("%s up (mtu %" PRIu64 "), connecting to switch %s", vp->opt.tap, vp->opt.mtu,
		 vp->opt.switch_addr);
	vp->now_ms = loop_now_ms();
	timers_init(&vp->timers, vp->now_ms);
	send_handshake(vp);
	vp->running = true;
	while (vp->running) {
		int n = loop_wait(&vp->loop, events, 8);

		if (n < 0) {
			log_error("epoll_wait: %s", strerror(-n));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			switch (events[i].data.u32) {
			case LOOP_UDP: on_udp(vp); break;
			case LOOP_TAP: on_tap(vp); break;
			case LOOP_TICK:
				loop_take_tick(&vp->loop);
				on_tick(vp);
				serve_control(vp); /* drops clients past their deadline */
				break;
			case LOOP_CONTROL: serve_control(vp); break;
			case LOOP_SIGNAL: {
				int sig = loop_take_signal(&vp->loop);

				if (sig == SIGINT || sig == SIGTERM)
					vp->running = false;
				break;
			}
			}
		}
	}
	log_info("shutting down");
	return vp->exit_status;
}

/* `vport show` with no --control: the only running port's socket, if just one. */
static const char *default_control(char *buf, size_t len)
{
	glob_t g;

	snprintf(buf, len, CONTROL_PREFIX "vport0.sock");
	if (glob(CONTROL_PREFIX "*.sock", 0, NULL, &g) == 0) {
		if (g.gl_pathc == 1)
			snprintf(buf, len, "%s", g.gl_pathv[0]);
		globfree(&g);
	}
	return buf;
}

int main(int argc, char **argv)
{
	static struct vport vp;
	char path[108];
	int status;

	if (argc > 1 && strcmp(argv[1], "show") == 0)
		return cli_show(PROG, argc - 2, argv + 2, default_control(path, sizeof(path)));
	if (cli_dispatch(PROG, argc, argv, NULL, &status))
		return status;
	if (parse_options(argc, argv, &vp.opt) != 0)
		return 1;
	log_init(PROG, vp.opt.log_level);
	vp.tap_fd = vp.udp_fd = -1;
	vp.loop.epfd = vp.loop.sigfd = vp.loop.timerfd = -1;
	vp.started_ms = loop_now_ms();
	status = setup(&vp);
	if (status == 0)
		status = run(&vp);
	teardown(&vp);
	return status;
}
