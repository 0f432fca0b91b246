/*
 * vswitch — the switch daemon. Glue: it wires the loop, the UDP socket, the
 * members file, the handshake responder, the sessions and the MAC table
 * together. Every decision lives in a pure module; this file moves bytes.
 *
 * Ports are slots in a fixed array: a member keeps its slot while it is
 * connected and after, until the slot is needed for another member (the one
 * idle longest gives way) or it leaves the members file. A slot's number is
 * the low 16 bits of every index the switch hands out in handshakes, so a
 * data message finds its port and keypair in O(1); the high 16 bits are
 * random, so indices are not guessable and a stale one rarely matches.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aead.h"
#include "cli.h"
#include "config.h"
#include "control.h"
#include "epmap.h"
#include "frame.h"
#include "key.h"
#include "keyfile.h"
#include "log.h"
#include "loop.h"
#include "mactable.h"
#include "members.h"
#include "proto.h"
#include "session.h"
#include "switch.h"
#include "timers.h"
#include "udp.h"
#include "wire.h"

#define PROG "vswitch"
#define DEFAULT_CONTROL CONTROL_DIR "/vswitch.sock"

/* ---- sending ---- */

/* A message sealed for p: queued, or counted. */
static void queue_sealed(struct vswitch *sw, struct port *p, const struct proto_seal *ps)
{
	if (ps->why == SESSION_CRYPTO_ERROR) { /* with the receive side's */
		p->st.session[ps->why]++;
		return;
	}
	if (ps->len == 0) {
		p->st.drop[DROP_NO_SESSION]++;
		return;
	}
	udp_tx_add(&sw->tx, sw->udp_fd, ps->msg, ps->len, &p->endpoint);
	timers_data_sent(&p->timers, sw->now_ms);
	if (ps->frame_len > 0) {
		p->st.tx_frames++;
		p->st.tx_bytes += ps->frame_len;
	}
}

/* Seal and queue the frames waiting in the seal run. Called before anything
 * else is queued or the pool and receive buffers are reused, so messages
 * leave in the order they were sent. */
static void seal_flush(struct vswitch *sw)
{
	struct port *p = sw->seal_port;

	if (sw->seal_count == 0)
		return;
	proto_seal_data_run(&p->session, sw->seal_run, sw->seal_count, sw->now_ms);
	for (size_t i = 0; i < sw->seal_count; i++)
		queue_sealed(sw, p, &sw->seal_run[i]);
	sw->seal_count = 0;
}

static uint8_t *pool_get(struct vswitch *sw)
{
	if (sw->pool_used == TX_POOL) {
		seal_flush(sw);
		udp_tx_flush(&sw->tx, sw->udp_fd);
		sw->pool_used = 0;
	}
	return sw->pool + (size_t)sw->pool_used++ * sw->buf_size;
}

static void flush(struct vswitch *sw)
{
	seal_flush(sw);
	udp_tx_flush(&sw->tx, sw->udp_fd);
	sw->pool_used = 0;
}

/* msg holds headroom, frame_len bytes of frame and room for the tag; it is
 * sealed with the frames to p sent next to it (a GRO run forwarded to one
 * port: their keystreams are made together), at the latest by flush. flags
 * (WIRE_DATA_*) are the sender's, passed on. */
static void send_sealed(struct vswitch *sw, struct port *p, uint8_t *msg, size_t frame_len,
			uint8_t flags)
{
	if (sw->seal_count > 0 && (sw->seal_port != p || sw->seal_count == PROTO_SEAL_RUN_MAX))
		seal_flush(sw);
	sw->seal_port = p;
	sw->seal_run[sw->seal_count++] =
		(struct proto_seal){ .msg = msg, .frame_len = frame_len, .flags = flags };
}

static void send_copy(struct vswitch *sw, struct port *p, const uint8_t *frame, size_t len,
		      uint8_t flags)
{
	uint8_t *msg = pool_get(sw);

	memcpy(msg + WIRE_DATA_HEADER_LEN, frame, len);
	send_sealed(sw, p, msg, len, flags);
}

/* ---- endpoints ---- */

struct endpoint_query {
	const struct vswitch *sw;
	const struct endpoint *at;
};

static bool uses_endpoint(uint32_t slot, const void *ctx)
{
	const struct endpoint_query *q = ctx;

	return endpoint_equal(&q->sw->ports[slot].endpoint, q->at);
}

static uint64_t endpoint_key(const struct vswitch *sw, const struct endpoint *e)
{
	return endpoint_hash(e, sw->hash_key, false);
}

/* Call when a port connects or moves: its endpoint earns the rekey allowance
 * (admit.h). Cannot fail: one entry per port, twice as many cells (epmap.h). */
static void remember_endpoint(struct vswitch *sw, struct port *p)
{
	(void)epmap_put(&sw->endpoints, endpoint_key(sw, &p->endpoint), switch_slot_of(sw, p));
}

/* Call before a connected port's endpoint changes, and when it goes. */
static void forget_endpoint(struct vswitch *sw, struct port *p)
{
	epmap_remove(&sw->endpoints, endpoint_key(sw, &p->endpoint), switch_slot_of(sw, p));
}

/* A connected port whose current endpoint is exactly from, or NULL. */
static struct port *connected_port_at(struct vswitch *sw, const struct endpoint *from)
{
	struct endpoint_query q = { sw, from };
	int32_t slot = epmap_find(&sw->endpoints, endpoint_key(sw, from), uses_endpoint, &q);

	return slot >= 0 && sw->ports[slot].is_connected ? &sw->ports[slot] : NULL;
}

/* ---- ports ---- */

/* A member's TAP has the MAC its key derives (key_derive_mac): while the member
 * is connected, that MAC is pinned to its port, so no other member can draw
 * its traffic by sending from it. */
static void port_connect(struct vswitch *sw, struct port *p)
{
	char label[KEY_BASE64_LEN + 1];
	uint8_t mac[FRAME_MAC_LEN];
	enum mactable_learn_result r;

	key_derive_mac(mac, p->pub);
	r = mactable_pin(sw->macs, mac, switch_slot_of(sw, p), sw->now_ms);
	/* Guards, not paths: PINNED (another member's own MAC) is ruled out by
	 * members_parse (two keys deriving one MAC), TABLE_FULL by load_members
	 * (room for every member's pin) and PORT_FULL by a new port's empty share. */
	if (r == MACTABLE_PORT_FULL || r == MACTABLE_TABLE_FULL || r == MACTABLE_PINNED)
		log_warn("port %s: its own MAC could not be pinned (%s)", switch_port_label(p, label),
			 r == MACTABLE_PINNED ? "another port's own MAC" : "MAC table full");
	p->is_connected = true;
	p->connected_at = sw->connected_count;
	sw->connected[sw->connected_count++] = switch_slot_of(sw, p);
}

static void port_disconnect(struct vswitch *sw, struct port *p, const char *why)
{
	char label[KEY_BASE64_LEN + 1];

	session_wipe(&p->session);
	mactable_flush_port(sw->macs, switch_slot_of(sw, p));
	if (!p->is_connected)
		return;
	forget_endpoint(sw, p);
	log_info("port %s %s", switch_port_label(p, label), why);
	/* Swap-remove from the connected list. */
	sw->connected[p->connected_at] = sw->connected[--sw->connected_count];
	sw->ports[sw->connected[p->connected_at]].connected_at = p->connected_at;
	p->is_connected = false;
}

static void port_release(struct vswitch *sw, struct port *p, const char *why)
{
	if (why)
		port_disconnect(sw, p, why);
	else
		session_wipe(&p->session); /* a disconnected port: nothing else to undo */
	sodium_memzero(p, sizeof(*p));
}

/* The slot of member m: its own if it has one, else a free one, else the
 * disconnected one idle longest (more members than slots may come and go).
 * A reused slot forgets its member's last handshake timestamp; a replayed
 * old initiation can then install a keypair that nobody can use, until the
 * member's next handshake replaces it, as after a switch restart. */
static struct port *port_for_member(struct vswitch *sw, const struct member *m)
{
	struct port *free_slot = NULL, *idle = NULL;

	for (uint32_t i = 0; i < SWITCH_MAX_PORTS; i++) {
		struct port *p = &sw->ports[i];

		if (p->in_use && memcmp(p->pub, m->pub, NOISE_KEY_LEN) == 0)
			return p;
		if (!p->in_use && !free_slot)
			free_slot = p;
		if (p->in_use && !p->is_connected &&
		    (!idle || p->last_handshake_ms < idle->last_handshake_ms))
			idle = p;
	}
	if (!free_slot && idle) {
		port_release(sw, idle, NULL);
		free_slot = idle;
	}
	if (!free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->in_use = true;
	memcpy(free_slot->pub, m->pub, NOISE_KEY_LEN);
	memcpy(free_slot->name, m->name, sizeof(free_slot->name));
	return free_slot;
}

/* A fresh local index for p's slot that none of its keypairs uses. */
static uint32_t new_index(struct vswitch *sw, struct port *p)
{
	uint32_t idx;

	do
		idx = (randombytes_random() & ~SLOT_MASK) | switch_slot_of(sw, p);
	while (session_find(&p->session, idx));
	return idx;
}

/* ---- receiving ---- */

/* ---- handshake budget ---- */

static bool handshake_allowed(struct vswitch *sw, const struct endpoint *from)
{
	struct port *p = connected_port_at(sw, from);

	if (p)
		return admit_rekey(&sw->admit, &p->rekeys, sw->now_ms);
	return admit_new(&sw->admit, endpoint_hash(from, sw->hash_key, true), sw->now_ms);
}

static void note_endpoint(struct vswitch *sw, struct port *p, const struct endpoint *from)
{
	char label[KEY_BASE64_LEN + 1], where[64];

	p->endpoint.local = from->local; /* the port may now reach us at another address */
	if (endpoint_equal(&p->endpoint, from))
		return;
	forget_endpoint(sw, p);
	p->endpoint = *from;
	remember_endpoint(sw, p);
	if (ratelimit_allow(&sw->roam_log, sw->now_ms))
		log_info("port %s roamed to %s", switch_port_label(p, label),
			 endpoint_format(from, where, sizeof(where)));
}

static void on_init(struct vswitch *sw, const uint8_t *msg, size_t len, const struct endpoint *from)
{
	struct proto_incoming in;
	struct wire_init w;
	const struct member *m;
	struct port *p;
	uint8_t e_priv[NOISE_KEY_LEN];
	enum wire_error werr = wire_decode_init(msg, len, &w);
	enum proto_result r;
	uint8_t *out;
	size_t out_len;
	char label[KEY_BASE64_LEN + 1], where[64];

	/* Frames sent before this message are sealed with the session as it was
	 * and leave first (open_run has already done so: this only keeps it so). */
	seal_flush(sw);
	if (werr != WIRE_OK) {
		sw->rx_header[werr]++;
		return;
	}
	if (!wire_mac1_valid(msg, w.mac1_offset, w.mac1, sw->id.mac1_key)) {
		sw->drop[SW_DROP_BAD_MAC1]++;
		return;
	}
	if (!handshake_allowed(sw, from)) {
		sw->drop[SW_DROP_HANDSHAKE_RATE]++;
		return;
	}
	memset(&in, 0, sizeof(in));
	r = proto_consume_init(&in, &sw->id, msg, len, &w);
	if (r != PROTO_OK) {
		sw->drop[r == PROTO_BAD_MAC1 ? SW_DROP_BAD_MAC1 : SW_DROP_BAD_HANDSHAKE]++;
		goto out;
	}
	m = members_find(&sw->members, in.hs.rs);
	if (!m) {
		sw->drop[SW_DROP_UNKNOWN_KEY]++;
		if (ratelimit_allow(&sw->unknown_key_log, sw->now_ms)) {
			key_to_base64(label, in.hs.rs);
			log_warn("refused handshake from %s: key %s is not a member",
				 endpoint_format(from, where, sizeof(where)), label);
		}
		goto out;
	}
	p = port_for_member(sw, m);
	if (!p) {
		sw->drop[SW_DROP_PORTS_FULL]++;
		goto out;
	}
	if (p->has_timestamp && wire_timestamp_cmp(in.timestamp, p->last_timestamp) <= 0) {
		p->st.stale_handshake++;
		goto out;
	}
	randombytes_buf(e_priv, sizeof(e_priv));
	out = pool_get(sw);
	out_len = proto_create_resp(&in, e_priv, new_index(sw, p), &p->session, sw->now_ms, out,
				    sw->buf_size);
	sodium_memzero(e_priv, sizeof(e_priv));
	if (out_len == 0) {
		sw->drop[SW_DROP_BAD_HANDSHAKE]++;
		goto out;
	}
	memcpy(p->last_timestamp, in.timestamp, WIRE_TIMESTAMP_LEN);
	p->has_timestamp = true;
	if (p->is_connected) {
		note_endpoint(sw, p, from);
	} else {
		p->endpoint = *from;
		remember_endpoint(sw, p);
	}
	p->last_handshake_ms = sw->now_ms;
	p->st.handshakes++;
	if (!p->is_connected) {
		port_connect(sw, p);
		timers_init(&p->timers, sw->now_ms);
		log_info("port %s connected from %s", switch_port_label(p, label),
			 endpoint_format(from, where, sizeof(where)));
	}
	timers_data_received(&p->timers, sw->now_ms);
	udp_tx_add(&sw->tx, sw->udp_fd, out, out_len, from);
	timers_data_sent(&p->timers, sw->now_ms);
out:
	proto_incoming_wipe(&in);
}

static void forward_frame(struct vswitch *sw, struct port *in, uint8_t *frame, size_t len,
			  uint8_t flags)
{
	uint32_t in_slot = switch_slot_of(sw, in), out_slot;
	enum frame_verdict v = frame_check(frame, len, (unsigned)sw->opt.mtu);
	enum mactable_learn_result lr;

	if (v != FRAME_OK) {
		in->st.frame[v]++;
		return;
	}
	lr = mactable_learn(sw->macs, frame_src(frame), in_slot, sw->now_ms);
	/* A port past its own MAC limit is refused new sources (port security: one
	 * member cannot fill the table). A full table only stops learning: the
	 * frame still goes out, and replies to it are flooded. Both are counted. */
	if (lr == MACTABLE_PORT_FULL) {
		in->st.drop[DROP_MAC_PORT_FULL]++;
		return;
	}
	if (lr == MACTABLE_PINNED) {
		in->st.drop[DROP_MAC_SPOOFED]++;
		return;
	}
	if (lr == MACTABLE_TABLE_FULL)
		in->st.drop[DROP_MAC_TABLE_FULL]++;
	in->st.rx_frames++;
	in->st.rx_bytes += len;
	switch (mactable_forward(sw->macs, frame_dst(frame), in_slot, sw->now_ms, &out_slot)) {
	case FWD_UNICAST:
		/* The frame already sits behind data-header headroom: seal it in place. */
		send_sealed(sw, &sw->ports[out_slot], frame - WIRE_DATA_HEADER_LEN, len, flags);
		break;
	case FWD_FLOOD:
		for (uint32_t i = 0; i < sw->connected_count; i++)
			if (sw->connected[i] != in_slot)
				send_copy(sw, &sw->ports[sw->connected[i]], frame, len, flags);
		break;
	case FWD_FILTER:
		in->st.drop[DROP_FILTERED]++;
		break;
	}
}

/* Data messages from one endpoint to one port, received one after another:
 * their tags are checked together (proto_open_data_check). */
struct data_run {
	struct port *p;
	struct endpoint from;
	size_t n;
	struct proto_open ops[PROTO_OPEN_RUN_MAX];
};

static void on_opened(struct vswitch *sw, struct port *p, struct proto_open *op,
		      const struct endpoint *from)
{
	uint8_t *frame;
	size_t frame_len;
	enum session_result r = proto_open_data_finish(&p->session, op, &frame, &frame_len);

	if (r != SESSION_OK) {
		if (r == SESSION_NO_KEY)
			sw->drop[SW_DROP_UNKNOWN_INDEX]++;
		else
			p->st.session[r]++;
		return;
	}
	timers_data_received(&p->timers, sw->now_ms);
	note_endpoint(sw, p, from);
	if (frame_len == 0) {
		p->st.rx_keepalives++;
		return;
	}
	forward_frame(sw, p, frame, frame_len, op->d.flags);
}

static void open_run(struct vswitch *sw, struct data_run *run)
{
	if (run->n == 0)
		return;
	proto_open_data_check(&run->p->session, run->ops, run->n, sw->now_ms);
	for (size_t i = 0; i < run->n; i++)
		on_opened(sw, run->p, &run->ops[i], &run->from);
	run->n = 0;
	seal_flush(sw);
}

/* Takes a data message into run (opening the run first if it is for another
 * port or full), or drops it counted. */
static void take_data(struct vswitch *sw, struct data_run *run, uint8_t *msg, size_t len,
		      const struct endpoint *from)
{
	struct wire_data d;
	enum wire_error werr = wire_decode_data(msg, len, &d);
	struct port *p;
	uint32_t slot;

	if (werr != WIRE_OK) {
		sw->rx_header[werr]++;
		return;
	}
	slot = d.receiver_index & SLOT_MASK;
	p = slot < SWITCH_MAX_PORTS ? &sw->ports[slot] : NULL;
	if (!p || !p->is_connected) {
		sw->drop[SW_DROP_UNKNOWN_INDEX]++;
		return;
	}
	if (run->n > 0 && (run->p != p || run->n == PROTO_OPEN_RUN_MAX))
		open_run(sw, run);
	if (run->n == 0) {
		run->p = p;
		run->from = *from;
	}
	run->ops[run->n++].d = d;
}

/* Data messages join run; a handshake is handled after the run before it, so
 * that everything happens in the order it arrived. */
static void on_datagram(struct vswitch *sw, struct data_run *run, uint8_t *msg, size_t len,
			const struct endpoint *from)
{
	enum wire_type type;
	enum wire_error werr = wire_peek(msg, len, &type);

	if (werr != WIRE_OK) {
		sw->rx_header[werr]++;
		return;
	}
	switch (type) {
	case WIRE_DATA:
		take_data(sw, run, msg, len, from);
		break;
	case WIRE_HANDSHAKE_INIT:
		open_run(sw, run);
		on_init(sw, msg, len, from);
		break;
	case WIRE_HANDSHAKE_RESP:
		sw->drop[SW_DROP_UNEXPECTED]++;
		break;
	}
}

static void on_udp(struct vswitch *sw)
{
	struct data_run run = { .n = 0 };
	int n, rounds = 0;

	do {
		n = udp_rx_batch(sw->udp_fd, &sw->rx);
		if (n < 0) {
			sw->rx_errors++;
			continue;
		}
		sw->now_ms = loop_now_ms();
		for (unsigned i = 0; i < (unsigned)n; i++) {
			size_t count = udp_rx_count(&sw->rx, i);
			struct endpoint from;

			udp_rx_from(&sw->rx, i, &from);
			if (run.n > 0 && !endpoint_equal(&run.from, &from))
				open_run(sw, &run);
			/* A GRO run comes from one sender. Unicast frames are resealed
			 * in place, so a run to one port leaves as one GSO send. */
			for (size_t k = 0; k < count; k++) {
				size_t len;
				uint8_t *msg = udp_rx_datagram(&sw->rx, i, k, &len);

				on_datagram(sw, &run, msg, len, &from);
			}
		}
		open_run(sw, &run);
		flush(sw);
	} while (++rounds < UDP_RX_ROUNDS && (n < 0 || n == (int)sw->rx.cap));
}

/* ---- timers ---- */

static void serve_control(struct vswitch *sw)
{
	sw->control_dropped += control_serve(&sw->control, loop_now_ms());
}

static void on_tick(struct vswitch *sw)
{
	sw->now_ms = loop_now_ms();
	/* Backwards: a disconnect moves the last entry into the current place. */
	for (uint32_t i = sw->connected_count; i-- > 0;) {
		struct port *p = &sw->ports[sw->connected[i]];
		unsigned due;

		session_expire(&p->session, sw->now_ms);
		due = timers_responder_due(&p->timers, sw->now_ms);
		if (due & TIMER_PEER_DEAD)
			port_disconnect(sw, p, "expired: no packet for 30 s");
		else if ((due & TIMER_SEND_KEEPALIVE) && session_send_keypair(&p->session, sw->now_ms))
			send_sealed(sw, p, pool_get(sw), 0, 0);
	}
	if (sw->now_ms - sw->last_age_ms >= 1000) {
		mactable_expire(sw->macs, sw->now_ms);
		sw->last_age_ms = sw->now_ms;
	}
	flush(sw);
}

/* ---- members ---- */

static int read_members_file(const char *path, char **text, size_t *len, char *err, size_t err_len)
{
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	*text = NULL;
	/* O_NONBLOCK: a FIFO here is refused below instead of waited on (a
	 * reload would hang the running switch). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot open members file %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MEMBERS_FILE_MAX) {
		ret = -EINVAL;
		snprintf(err, err_len, "members file %s is not a regular file of at most %u bytes",
			 path, MEMBERS_FILE_MAX);
		goto out;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (!*text) {
		ret = -ENOMEM;
		snprintf(err, err_len, "out of memory reading members file %s", path);
		goto out;
	}
	*len = 0;
	while ((n = read(fd, *text + *len, (size_t)st.st_size + 1 - *len)) > 0)
		*len += (size_t)n;
	if (n < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot read members file %s: %s", path, strerror(errno));
	} else if (*len != (size_t)st.st_size) {
		/* Being written while we read: a cut-off list would cut members off. */
		ret = -EAGAIN;
		snprintf(err, err_len, "members file %s changed while it was read (write a new file "
			 "and rename it into place)", path);
	}
out:
	close(fd);
	if (ret < 0) {
		free(*text);
		*text = NULL;
	}
	return ret;
}

/* Every connected member's own MAC is pinned in the MAC table (port_connect),
 * so the table must hold one entry per member that can be connected at once;
 * with fewer, a member's MAC could go unpinned and be drawn by another. */
static int load_members(const char *path, uint64_t max_macs, struct members *out, char *err,
			size_t err_len)
{
	char why[200];
	char *text;
	size_t len = 0;
	int ret = read_members_file(path, &text, &len, err, err_len);
	uint32_t need;

	if (ret < 0)
		return ret;
	ret = members_parse(out, text, len, why, sizeof(why));
	free(text);
	if (ret < 0) {
		snprintf(err, err_len, "members file %s: %s", path, why);
		members_free(out);
		return ret;
	}
	need = out->count < SWITCH_MAX_PORTS ? out->count : SWITCH_MAX_PORTS;
	if (max_macs < need) {
		snprintf(err, err_len, "members file %s: %u members need --max-macs of at least %u "
			 "(each connected member's own MAC takes an entry), not %" PRIu64,
			 path, out->count, need, max_macs);
		members_free(out);
		return -ERANGE;
	}
	return 0;
}

static void reload_members(struct vswitch *sw)
{
	struct members fresh;
	char err[300];

	if (load_members(sw->opt.members_path, sw->opt.max_macs, &fresh, err, sizeof(err)) < 0) {
		log_error("%s; keeping the previous members", err);
		return;
	}
	for (uint32_t i = 0; i < SWITCH_MAX_PORTS; i++) {
		struct port *p = &sw->ports[i];
		const struct member *m;

		if (!p->in_use)
			continue;
		m = members_find(&fresh, p->pub);
		if (!m)
			port_release(sw, p, "is no longer a member: cut off");
		else
			memcpy(p->name, m->name, sizeof(p->name));
	}
	members_free(&sw->members);
	sw->members = fresh;
	log_info("reloaded %s: %u members", sw->opt.members_path, fresh.count);
}

/* ---- startup and shutdown ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " --listen [ADDR:]PORT --key FILE --members FILE [options]\n"
		"       " PROG " show [--control PATH]\n"
		"       " PROG " genkey | pubkey\n"
		"\n"
		"  --listen [ADDR:]PORT     UDP address to listen on; PORT alone means every\n"
		"                           IPv4 and IPv6 address ([2001:db8::1]:PORT for one)\n"
		"  --key FILE               private key (mode 0600), as '" PROG " genkey' writes\n"
		"  --members FILE           public keys allowed to join, one per line, optional\n"
		"                           name after it, '#' comments; SIGHUP reloads it\n"
		"  --mtu N                  largest IP packet a frame may carry (default %d)\n"
		"  --mac-age SECONDS        forget a MAC not seen for this long (default %u)\n"
		"  --max-macs N             MAC table size, at least one per member (default %u)\n"
		"  --max-macs-per-port N    MACs one port may use (default %u)\n"
		"  --control PATH           control socket (default " DEFAULT_CONTROL ")\n"
		"  --verbose                log debug messages\n"
		"  --help                   show this help\n",
		WIRE_DEFAULT_TAP_MTU, MACTABLE_DEFAULT_AGE_MS / 1000, MACTABLE_DEFAULT_MAX_TOTAL,
		MACTABLE_DEFAULT_MAX_PER_PORT);
}

static int parse_number(const char *flag, const char *text, uint64_t min, uint64_t max,
			uint64_t *out)
{
	char err[160];

	if (!config_parse_u64(text, min, max, out, err, sizeof(err)))
		return cli_fail(PROG, "%s: %s", flag, err);
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "key", required_argument, NULL, 'k' },
		{ "members", required_argument, NULL, 'm' },
		{ "mtu", required_argument, NULL, 'M' },
		{ "mac-age", required_argument, NULL, 'a' },
		{ "max-macs", required_argument, NULL, 'T' },
		{ "max-macs-per-port", required_argument, NULL, 'P' },
		{ "control", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, bad = 0;

	*o = (struct options){
		.control_path = DEFAULT_CONTROL,
		.mac_age_s = MACTABLE_DEFAULT_AGE_MS / 1000,
		.max_macs = MACTABLE_DEFAULT_MAX_TOTAL,
		.max_macs_per_port = MACTABLE_DEFAULT_MAX_PER_PORT,
		.mtu = WIRE_DEFAULT_TAP_MTU,
		.log_level = LOG_INFO,
	};
	opterr = 0;
	while (!bad && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': o->listen = optarg; break;
		case 'k': o->key_path = optarg; break;
		case 'm': o->members_path = optarg; break;
		case 'c': o->control_path = optarg; break;
		case 'v': o->log_level = LOG_DEBUG; break;
		case 'M': bad = parse_number("--mtu", optarg, WIRE_MIN_TAP_MTU, WIRE_MAX_TAP_MTU, &o->mtu); break;
		case 'a': bad = parse_number("--mac-age", optarg, 1, 86400, &o->mac_age_s); break;
		case 'T': bad = parse_number("--max-macs", optarg, 1, 1u << 24, &o->max_macs); break;
		case 'P': bad = parse_number("--max-macs-per-port", optarg, 1, 1u << 24, &o->max_macs_per_port); break;
		case 'h': usage(stdout); exit(0);
		default:
			return cli_fail(PROG, "unknown or incomplete option '%s' (see --help)",
					argv[optind - 1]);
		}
	}
	if (bad)
		return 1;
	if (optind < argc)
		return cli_fail(PROG, "unexpected argument '%s' (see --help)", argv[optind]);
	if (!o->listen || !o->key_path || !o->members_path)
		return cli_fail(PROG, "--listen, --key and --members are required (see --help)");
	return 0;
}

static int setup(struct vswitch *sw)
{
	uint8_t priv[NOISE_KEY_LEN], hash_key[16];
	char host[CONFIG_HOST_MAX + 1], err[300];
	uint16_t port;
	bool ok;

	if (loop_defer_sighup(err, sizeof(err)) < 0)
		return cli_fail(PROG, "%s", err);
	if (sodium_init() < 0)
		return cli_fail(PROG, "cannot initialise libsodium");
	if (!config_parse_hostport(sw->opt.listen, true, host, &port, err, sizeof(err)))
		return cli_fail(PROG, "--listen: %s", err);
	if (udp_resolve(host, port, true, &sw->listen, err, sizeof(err)) < 0)
		return cli_fail(PROG, "--listen: %s", err);
	if (keyfile_read(sw->opt.key_path, priv, err, sizeof(err)) < 0)
		return cli_fail(PROG, "%s", err);
	ok = proto_identity_init(&sw->id, priv);
	sodium_memzero(priv, sizeof(priv));
	if (!ok)
		return cli_fail(PROG, "key file %s: not a usable private key", sw->opt.key_path);
	if (load_members(sw->opt.members_path, sw->opt.max_macs, &sw->members, err, sizeof(err)) < 0)
		return cli_fail(PROG, "%s", err);
	randombytes_buf(hash_key, sizeof(hash_key));
	randombytes_buf(sw->hash_key, sizeof(sw->hash_key));
	epmap_init(&sw->endpoints);
	sw->macs = mactable_new((uint32_t)sw->opt.max_macs, (uint32_t)sw->opt.max_macs_per_port,
				SWITCH_MAX_PORTS, sw->opt.mac_age_s * 1000, hash_key);
	if (!sw->macs)
		return cli_fail(PROG, "cannot allocate the MAC table");
	sw->buf_size = WIRE_DATA_OVERHEAD + frame_max_len((unsigned)sw->opt.mtu) + 1;
	if (sw->buf_size < WIRE_INIT_LEN)
		sw->buf_size = WIRE_INIT_LEN;
	sw->pool = proto_data_buf_alloc(TX_POOL * sw->buf_size);
	/* A receive buffer takes a whole GRO run of datagrams. */
	if (!sw->pool || udp_rx_init(&sw->rx, RX_BATCH, UDP_SUPER_MAX, PROTO_DATA_HEADROOM) < 0)
		return cli_fail(PROG, "out of memory for packet buffers");
	if (loop_init(&sw->loop, err, sizeof(err)) < 0)
		return cli_fail(PROG, "%s", err);
	sw->udp_fd = udp_open(&sw->listen, err, sizeof(err));
	if (sw->udp_fd < 0)
		return cli_fail(PROG, "%s", err);
	if (udp_tx_init(&sw->tx, RX_BATCH * UDP_MAX_SEGMENTS + TX_POOL, sw->udp_fd, true) < 0)
		return cli_fail(PROG, "out of memory for packet buffers");
	sw->tx.before_send = aead_finish_tags;
	aead_defer_tags(true);
	if (!udp_enable_gro(sw->udp_fd))
		log_info("UDP GRO not available: receiving datagrams one by one");
	if (!udp_enable_drop_count(sw->udp_fd))
		log_info("the kernel does not report drops at the UDP socket");
	if (!udp_enable_pktinfo(sw->udp_fd))
		log_warn("cannot learn the local address of datagrams: on a host with several "
			 "addresses, answers may leave from the wrong one");
	if (control_open(&sw->control, sw->opt.control_path, switch_show, sw, err, sizeof(err)) < 0)
		return cli_fail(PROG, "%s", err);
	if (loop_add(&sw->loop, sw->udp_fd, LOOP_UDP, err, sizeof(err)) < 0 ||
	    loop_add(&sw->loop, sw->control.epfd, LOOP_CONTROL, err, sizeof(err)) < 0)
		return cli_fail(PROG, "%s", err);
	return 0;
}

/* Releases everything setup() acquired; safe on a partly set-up switch. */
static void teardown(struct vswitch *sw)
{
	for (uint32_t i = 0; i < SWITCH_MAX_PORTS; i++)
		session_wipe(&sw->ports[i].session);
	proto_identity_wipe(&sw->id);
	control_close(&sw->control, sw->opt.control_path);
	if (sw->udp_fd >= 0)
		close(sw->udp_fd);
	loop_free(&sw->loop);
	udp_tx_free(&sw->tx);
	udp_rx_free(&sw->rx);
	proto_data_buf_free(sw->pool);
	mactable_free(sw->macs);
	members_free(&sw->members);
	aead_cleanup();
}

static void on_signal(struct vswitch *sw)
{
	int sig = loop_take_signal(&sw->loop);

	if (sig == SIGHUP)
		reload_members(sw);
	else if (sig == SIGINT || sig == SIGTERM)
		sw->running = false;
}

static int run(struct vswitch *sw)
{
	struct epoll_event events[8];
	char key[KEY_BASE64_LEN + 1], where[64];

	key_to_base64(key, sw->id.pub);
	log_info("listening on %s, public key %s, %u members",
		 endpoint_format(&sw->listen, where, sizeof(where)), key, sw->members.count);
	sw->running = true;
	while (sw->running) {
		int n = loop_wait(&sw->loop, events, 8);

		if (n < 0) {
			log_error("epoll_wait: %s", strerror(-n));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			switch (events[i].data.u32) {
			case LOOP_UDP: on_udp(sw); break;
			case LOOP_TICK:
				loop_take_tick(&sw->loop);
				on_tick(sw);
				serve_control(sw); /* drops clients past their deadline */
				break;
			case LOOP_SIGNAL: on_signal(sw); break;
			case LOOP_CONTROL: serve_control(sw); break;
			}
		}
	}
	log_info("shutting down");
	return 0;
}

int main(int argc, char **argv)
{
	static struct vswitch sw; /* large (the port array): not on the stack */
	int status;

	if (cli_dispatch(PROG, argc, argv, DEFAULT_CONTROL, &status))
		return status;
	if (parse_options(argc, argv, &sw.opt) != 0)
		return 1;
	log_init(PROG, sw.opt.log_level);
	sw.udp_fd = -1;
	sw.loop.epfd = sw.loop.sigfd = sw.loop.timerfd = -1;
	sw.started_ms = sw.last_age_ms = loop_now_ms();
	status = setup(&sw);
	if (status == 0)
		status = run(&sw);
	teardown(&sw);
	return status;
}
