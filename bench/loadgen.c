/*
 * loadgen — a load generator for vswitch: many ports in one process.
 *
 *     loadgen keys --ports N --members-out FILE --keys-out FILE
 *     loadgen run --switch HOST:PORT --switch-pubkey BASE64 --keys FILE --ports N
 *                 --macs-per-port M --seconds S [--frame-size BYTES] [options]
 *
 * `keys` makes N port key pairs: a members file for the switch and a 0600 file
 * of private keys, one base64 key a line, in the same order.
 *
 * `run` plays N ports, each with its own UDP socket connected to the switch,
 * as N vport processes would, in three phases:
 *   handshake  each port runs the Noise IK handshake as vport does (fresh
 *              ephemeral, TAI64N timestamp) and confirms the keypair with a
 *              keepalive; an unanswered initiation is sent again, new, after
 *              HANDSHAKE_TIMEOUT_MS, at most HANDSHAKE_ATTEMPTS times;
 *   learning   each port sends one frame from each of its M source MACs, so
 *              the switch learns N*M MACs, and the floods coming back are
 *              drained. Sent to broadcast, that is N*M*(N-1) copies: 10^8
 *              for 1000 ports with 100 MACs, minutes of work. So past
 *              AUTO_MAX_FLOOD_COPIES (or with --learn once) one frame is
 *              broadcast, each port's first frame goes to the previous
 *              port's first MAC, and the other frames to their own port's
 *              first MAC: the switch learns every source and filters those
 *              frames, except the last of each batch, sent to the next
 *              port's first MAC so that its arrival paces the batches;
 *   measured   for S seconds the ports take turns sending a sendmmsg batch of
 *              frames from one of their MACs to a random MAC of another port
 *              (so lookups hit the whole table); everything that arrives is
 *              counted, and every SAMPLE_EVERY-th frame is decrypted and
 *              checked.
 * Sending is paced by a window of frames expected but not yet received, so
 * the socket buffers (the switch's above all) do not just overflow. A frame
 * lost anyway would hold its place in the window forever, so lost frames are
 * written off. While measuring, each frame carries a sequence number counted
 * per destination port; the switch forwards in order and a socket delivers
 * in order, so when a port's sampled frame carries number s, whichever of the
 * s frames sent to that port before it have not arrived are lost. And at any
 * time, when nothing comes back for LOST_AFTER_MS, all that is expected is.
 *
 * Results: one line on stdout,
 *     ports=N macs=TOTAL seconds=S sent=X received=Y frames_per_sec=R
 *     decrypt_fail=F handshakes_ok=H
 * and details on stderr. Exits 1 when more than 1% of the handshakes fail or
 * nothing is received. Sessions are not rekeyed, so a run must end before the
 * switch refuses the keys (SESSION_REJECT_AFTER_MS).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/sock_diag.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "frame.h"
#include "key.h"
#include "loop.h"
#include "noise.h"
#include "proto.h"
#include "session.h"
#include "udp.h"
#include "wire.h"

#define PROG "loadgen"
#define MAX_PORTS 4096u          /* the switch's port slots */
#define MAX_MACS_PER_PORT 65535u /* k is two bytes of the MAC, see make_mac() */
/* Keys live SESSION_REJECT_AFTER_MS and are not renewed here: stay well inside. */
#define MAX_SECONDS (SESSION_REKEY_AFTER_MS / 1000u)
#define DEFAULT_FRAME_SIZE 64u
#define ETHERTYPE_LOADGEN 0x88b5 /* IEEE 802 local experimental EtherType 1 */
#define SEQ_LEN 8 /* the payload starts with a sequence number */
#define PAYLOAD_BYTE 0x5a /* and the rest is this */
#define MAC_TAG 0x4c /* second byte of every MAC we make: 'L' */

#define BATCH 32u              /* frames per sendmmsg */
#define RX_BATCH 64u           /* datagrams per recvmmsg */
#define EPOLL_EVENTS 256
#define SAMPLE_EVERY 64u       /* decrypt one frame in this many */
/*
 * Frames in flight while measuring. The switch reads one socket, which at the
 * default rmem (212992 bytes) holds 256 small datagrams (~830 bytes of
 * truesize each) when they come one by one (--no-offload); frames in flight
 * beyond that are mostly queued there, so a bigger window only overflows it:
 * 2048 lost a fifth of all frames, 256 a few hundred per run, 128 none, with
 * no change in frames per second. (GSO runs queue as one buffer each, so
 * with offloads even 2048 lost nothing, and was no faster either.)
 */
#define DEFAULT_WINDOW 128u
#define LEARN_BROADCASTS 16u   /* broadcasts in flight while learning */
#define LEARN_FILTERED DEFAULT_WINDOW /* filtered frames in flight while learning */
/* About 15 s of flooding at the ~250k copies/s one core managed here. */
#define AUTO_MAX_FLOOD_COPIES 4000000u
/* The switch forgets a port it has not heard from for 30 s; vport's keepalive
 * interval keeps the ports that are done learning alive while others flood.
 * A few ports are checked at a time: a keepalive from every port at once
 * would overflow the switch's socket and take frames down with it. */
#define KEEPALIVE_MS 5000u
#define KEEPALIVE_CHECKS 8u
/* Loopback takes microseconds, but a busy machine can starve the switch for
 * a good part of a second. */
#define LOST_AFTER_MS 1000u
#define DRAIN_QUIET_MS 500u    /* a drain ends after this long without a frame */
#define SOCKET_RCVBUF (256 * 1024)
#define SOCKET_SNDBUF (64 * 1024)
#define FD_RESERVE 16u         /* stdio, epoll and what libc may open */

#define HANDSHAKES_IN_FLIGHT 64u
#define HANDSHAKE_TIMEOUT_MS 1000u
#define HANDSHAKE_ATTEMPTS 10u
#define HANDSHAKE_SCAN_MS 50u
#define MAX_FAILED_PERCENT 1u

enum learn_mode {
	LEARN_AUTO,      /* broadcast unless that floods too much, then once */
	LEARN_BROADCAST, /* every frame to broadcast: N*M floods of N-1 copies */
	LEARN_ONCE,      /* one broadcast, then frames to MACs already known */
};

struct run_options {
	const char *switch_addr, *switch_pubkey, *keys_path;
	uint64_t ports, macs_per_port, seconds, frame_size, window;
	enum learn_mode learn;
	bool no_offload; /* as vport's --no-offload: no UDP GSO or GRO */
};

enum handshake_state { HS_IDLE, HS_WAITING, HS_DONE, HS_FAILED };

struct lport {
	int fd;
	enum handshake_state state;
	unsigned attempts;
	uint64_t sent_ms, last_tx_ms;
	/* As a destination, while measuring: */
	uint64_t next_seq; /* of the next frame sent to this port */
	uint64_t rx_frames, rx_lost;
	struct proto_identity id;
	struct proto_initiation init;
	struct session session;
};

/* What arrived during one phase. */
struct rx_stats {
	uint64_t frames, keepalives, sampled, decrypt_fail, bad_frame, stray, errors;
	int first_error; /* errno of the first receive error, for the report */
};

struct loadgen {
	struct run_options opt;
	uint8_t switch_pub[NOISE_KEY_LEN];
	struct endpoint switch_ep;
	struct lport *ports;
	uint32_t *up; /* ports whose handshake completed */
	uint32_t up_count;
	int epfd;
	struct udp_rx rx;
	struct udp_tx tx;
	uint8_t *tx_bufs;
	size_t frame_len, msg_cap;
	uint8_t last_timestamp[WIRE_TIMESTAMP_LEN];
	uint64_t rng, now_ms, last_rx_ms;
	struct rx_stats st;
	uint64_t sent, written_off, send_errors, no_session;
	uint64_t queued;   /* frames handed to the kernel or refused by it */
	bool is_measuring; /* frames come back once each, in sequence */
	int64_t socket_drops; /* at our sockets, at the start of the phase */
	uint32_t gro_refused; /* sockets that could not have UDP GRO */
	uint32_t hs_waiting, hs_settled, hs_ok, keepalive_cursor;
	uint64_t hs_sent, hs_rejected[PROTO_RESULT_COUNT], hs_late;
};

/* ---- small helpers ---- */

/* xorshift64*: cheap, and statistically good enough to spread lookups. */
static uint64_t rng_next(struct loadgen *lg)
{
	lg->rng ^= lg->rng >> 12;
	lg->rng ^= lg->rng << 25;
	lg->rng ^= lg->rng >> 27;
	return lg->rng * 2685821657736338717ull;
}

static uint32_t rng_below(struct loadgen *lg, uint32_t n)
{
	return (uint32_t)((rng_next(lg) >> 32) * n >> 32);
}

/* 02:4c:PP:PP:KK:KK: locally administered unicast, distinct per (port, k). */
static void make_mac(uint8_t mac[FRAME_MAC_LEN], uint32_t port, uint32_t k)
{
	mac[0] = 0x02;
	mac[1] = MAC_TAG;
	mac[2] = (uint8_t)(port >> 8);
	mac[3] = (uint8_t)port;
	mac[4] = (uint8_t)(k >> 8);
	mac[5] = (uint8_t)k;
}

static uint32_t mac_port(const uint8_t mac[FRAME_MAC_LEN])
{
	if (mac[0] != 0x02 || mac[1] != MAC_TAG)
		return UINT32_MAX;
	return (uint32_t)mac[2] << 8 | mac[3];
}

static void write_frame(uint8_t *frame, size_t len, const uint8_t dst[FRAME_MAC_LEN],
			const uint8_t src[FRAME_MAC_LEN])
{
	memcpy(frame, dst, FRAME_MAC_LEN);
	memcpy(frame + FRAME_MAC_LEN, src, FRAME_MAC_LEN);
	frame[2 * FRAME_MAC_LEN] = (uint8_t)(ETHERTYPE_LOADGEN >> 8);
	frame[2 * FRAME_MAC_LEN + 1] = (uint8_t)ETHERTYPE_LOADGEN;
	memset(frame + FRAME_HEADER_LEN + SEQ_LEN, PAYLOAD_BYTE, len - FRAME_HEADER_LEN - SEQ_LEN);
}

static double seconds_between(uint64_t from_ms, uint64_t to_ms)
{
	return (double)(to_ms - from_ms) / 1000.0;
}

/* ---- keys ---- */

static int parse_u64(const char *flag, const char *text, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	char err[160];

	if (!config_parse_u64(text, min, max, out, err, sizeof(err)))
		return cli_fail(PROG, "%s: %s", flag, err);
	return 0;
}

static int write_key_pair(FILE *members, FILE *keys, uint32_t i)
{
	uint8_t priv[NOISE_KEY_LEN], pub[NOISE_KEY_LEN];
	char text[KEY_BASE64_LEN + 1];
	int ok;

	randombytes_buf(priv, sizeof(priv));
	key_clamp(priv);
	ok = noise_public_key(pub, priv) == 0;
	key_to_base64(text, priv);
	sodium_memzero(priv, sizeof(priv));
	ok = ok && fprintf(keys, "%s\n", text) > 0;
	sodium_memzero(text, sizeof(text));
	key_to_base64(text, pub);
	return ok && fprintf(members, "%s port%04u\n", text, i) > 0 ? 0 : -1;
}

/* The private keys file: created 0600, and made 0600 if it already existed. */
static FILE *open_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0) {
		cli_report(PROG, "cannot create %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fchmod(fd, 0600) < 0) {
		cli_report(PROG, "cannot chmod 600 %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		cli_report(PROG, "cannot open %s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

static int close_output(FILE *f, const char *path, int status)
{
	if (fclose(f) != 0 && status == 0)
		return cli_fail(PROG, "cannot write %s: %s", path, strerror(errno));
	return status;
}

static int write_keys(uint32_t n, const char *members_path, const char *keys_path)
{
	FILE *members, *keys;
	int status = 0;

	keys = open_private(keys_path);
	if (!keys)
		return 1;
	members = fopen(members_path, "w");
	if (!members) {
		status = cli_fail(PROG, "cannot create %s: %s", members_path, strerror(errno));
		goto close_keys;
	}
	for (uint32_t i = 0; i < n && status == 0; i++)
		if (write_key_pair(members, keys, i) < 0)
			status = cli_fail(PROG, "cannot write %s or %s: %s", members_path,
					  keys_path, strerror(errno));
	status = close_output(members, members_path, status);
close_keys:
	return close_output(keys, keys_path, status);
}

static int cmd_keys(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ports", required_argument, NULL, 'n' },
		{ "members-out", required_argument, NULL, 'm' },
		{ "keys-out", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *members_path = NULL, *keys_path = NULL;
	uint64_t ports = 0;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_u64("--ports", optarg, 1, MAX_PORTS, &ports) != 0)
				return 1;
			break;
		case 'm': members_path = optarg; break;
		case 'k': keys_path = optarg; break;
		default:
			return cli_fail(PROG, "keys: unknown or incomplete option '%s'",
					argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_fail(PROG, "keys: unexpected argument '%s'", argv[optind]);
	if (!ports || !members_path || !keys_path)
		return cli_fail(PROG, "keys: --ports, --members-out and --keys-out are required");
	if (sodium_init() < 0)
		return cli_fail(PROG, "cannot initialise libsodium");
	if (write_keys((uint32_t)ports, members_path, keys_path) != 0)
		return 1;
	fprintf(stderr, "%s: wrote %" PRIu64 " members to %s and their private keys to %s\n",
		PROG, ports, members_path, keys_path);
	return 0;
}

/* ---- run: setup ---- */

static int parse_learn(const char *text, enum learn_mode *out)
{
	if (strcmp(text, "auto") == 0)
		*out = LEARN_AUTO;
	else if (strcmp(text, "broadcast") == 0)
		*out = LEARN_BROADCAST;
	else if (strcmp(text, "once") == 0)
		*out = LEARN_ONCE;
	else
		return cli_fail(PROG, "--learn: '%s' is not 'auto', 'broadcast' or 'once'", text);
	return 0;
}

static int parse_run_number(int c, const char *text, struct run_options *o)
{
	switch (c) {
	case 'n': return parse_u64("--ports", text, 2, MAX_PORTS, &o->ports);
	case 'M': return parse_u64("--macs-per-port", text, 1, MAX_MACS_PER_PORT, &o->macs_per_port);
	case 'S': return parse_u64("--seconds", text, 1, MAX_SECONDS, &o->seconds);
	case 'F': return parse_u64("--frame-size", text, SEQ_LEN, WIRE_MAX_TAP_MTU, &o->frame_size);
	case 'w': return parse_u64("--window", text, 1, 1u << 20, &o->window);
	}
	return 1;
}

static int parse_run(int argc, char **argv, struct run_options *o)
{
	static const struct option longopts[] = {
		{ "switch", required_argument, NULL, 's' },
		{ "switch-pubkey", required_argument, NULL, 'p' },
		{ "keys", required_argument, NULL, 'k' },
		{ "ports", required_argument, NULL, 'n' },
		{ "macs-per-port", required_argument, NULL, 'M' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "frame-size", required_argument, NULL, 'F' },
		{ "window", required_argument, NULL, 'w' },
		{ "learn", required_argument, NULL, 'L' },
		{ "no-offload", no_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct run_options){ .frame_size = DEFAULT_FRAME_SIZE, .window = DEFAULT_WINDOW };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->switch_addr = optarg; break;
		case 'p': o->switch_pubkey = optarg; break;
		case 'k': o->keys_path = optarg; break;
		case 'O': o->no_offload = true; break;
		case 'L':
			if (parse_learn(optarg, &o->learn) != 0)
				return 1;
			break;
		case 'n': case 'M': case 'S': case 'F': case 'w':
			if (parse_run_number(c, optarg, o) != 0)
				return 1;
			break;
		default:
			return cli_fail(PROG, "run: unknown or incomplete option '%s'",
					argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_fail(PROG, "run: unexpected argument '%s'", argv[optind]);
	if (!o->switch_addr || !o->switch_pubkey || !o->keys_path || !o->ports ||
	    !o->macs_per_port || !o->seconds)
		return cli_fail(PROG, "run: --switch, --switch-pubkey, --keys, --ports, "
				      "--macs-per-port and --seconds are required");
	return 0;
}

static int resolve_switch(struct loadgen *lg)
{
	char host[CONFIG_HOST_MAX + 1], err[300];
	uint16_t port;

	if (!config_parse_hostport(lg->opt.switch_addr, false, host, &port, err, sizeof(err)))
		return cli_fail(PROG, "--switch: %s", err);
	if (!key_from_text(lg->switch_pub, lg->opt.switch_pubkey, strlen(lg->opt.switch_pubkey)))
		return cli_fail(PROG, "--switch-pubkey: '%s' is not a base64 public key",
				lg->opt.switch_pubkey);
	if (udp_resolve(host, port, false, &lg->switch_ep, err, sizeof(err)) < 0)
		return cli_fail(PROG, "--switch: %s", err);
	return 0;
}

static bool is_blank(const char *line)
{
	return line[strspn(line, " \t\r\n")] == '\0';
}

/* Reads the first n keys of path (one base64 private key a line) into ports. */
static int read_keys_from(FILE *f, const char *path, struct lport *ports, uint32_t n)
{
	char line[256];
	uint8_t priv[NOISE_KEY_LEN];
	uint32_t got = 0, line_no = 0;
	int status = 0;

	while (status == 0 && got < n && fgets(line, sizeof(line), f)) {
		line_no++;
		if (is_blank(line))
			continue;
		if (!key_from_text(priv, line, strlen(line)))
			status = cli_fail(PROG, "%s, line %u: not a base64 private key", path, line_no);
		else if (!proto_identity_init(&ports[got++].id, priv))
			status = cli_fail(PROG, "%s, line %u: not a usable private key", path,
					  line_no);
	}
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(line, sizeof(line));
	if (status == 0 && ferror(f))
		return cli_fail(PROG, "cannot read %s: %s", path, strerror(errno));
	if (status == 0 && got < n)
		return cli_fail(PROG, "%s holds %u keys but --ports is %u", path, got, n);
	return status;
}

static int read_keys(const char *path, struct lport *ports, uint32_t n)
{
	struct stat st;
	FILE *f;
	int fd = open(path, O_RDONLY | O_CLOEXEC), status;

	if (fd < 0)
		return cli_fail(PROG, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		status = cli_fail(PROG, "cannot stat %s: %s", path, strerror(errno));
		close(fd);
		return status;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO))) {
		close(fd);
		return cli_fail(PROG, "key file %s is not a regular file of mode 0600 (mode %04o); "
				      "run: chmod 600 %s", path, (unsigned)(st.st_mode & 07777),
				path);
	}
	f = fdopen(fd, "r");
	if (!f) {
		status = cli_fail(PROG, "cannot open %s: %s", path, strerror(errno));
		close(fd);
		return status;
	}
	status = read_keys_from(f, path, ports, n);
	fclose(f);
	return status;
}

/* One descriptor per port: raise the soft limit to the hard one if short. */
static int raise_fd_limit(uint32_t ports)
{
	rlim_t need = (rlim_t)ports + FD_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return cli_fail(PROG, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		return cli_fail(PROG, "%u ports need %llu descriptors, but the hard limit "
				      "(ulimit -Hn) is %llu", ports, (unsigned long long)need,
				(unsigned long long)rl.rlim_max);
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return cli_fail(PROG, "cannot raise the descriptor limit to %llu: %s",
				(unsigned long long)rl.rlim_cur, strerror(errno));
	return 0;
}

static int set_buffers(int fd)
{
	int rcv = SOCKET_RCVBUF, snd = SOCKET_SNDBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)) < 0)
		return cli_fail(PROG, "cannot set SO_RCVBUF to %d: %s", rcv, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd)) < 0)
		return cli_fail(PROG, "cannot set SO_SNDBUF to %d: %s", snd, strerror(errno));
	return 0;
}

/* A socket like vport's: connected, so only the switch can reach it, and
 * receiving runs of datagrams at once (UDP GRO) unless told not to. */
static int open_port(struct loadgen *lg, uint32_t i)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
	char err[200], where[64];
	int fd = udp_open_for(&lg->switch_ep, err, sizeof(err));

	if (fd < 0)
		return cli_fail(PROG, "port %u: %s", i, err);
	lg->ports[i].fd = fd;
	if (set_buffers(fd) != 0)
		return 1;
	if (connect(fd, (const struct sockaddr *)&lg->switch_ep.addr, lg->switch_ep.len) < 0)
		return cli_fail(PROG, "cannot connect UDP socket to %s: %s",
				endpoint_format(&lg->switch_ep, where, sizeof(where)),
				strerror(errno));
	if (!lg->opt.no_offload && !udp_enable_gro(fd))
		lg->gro_refused++;
	if (epoll_ctl(lg->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return cli_fail(PROG, "cannot add port %u's socket to epoll: %s", i,
				strerror(errno));
	return 0;
}

static int alloc_buffers(struct loadgen *lg)
{
	size_t rx_size;

	lg->frame_len = FRAME_HEADER_LEN + lg->opt.frame_size;
	lg->msg_cap = WIRE_DATA_OVERHEAD + lg->frame_len;
	/* With GRO a message is a run of datagrams; without, one byte spare
	 * makes an oversized datagram show as a wrong length. */
	rx_size = (lg->msg_cap > WIRE_INIT_LEN ? lg->msg_cap : WIRE_INIT_LEN) + 1;
	if (!lg->opt.no_offload)
		rx_size = UDP_SUPER_MAX;
	/* Back to back, one batch from one socket leaves as one GSO send. */
	lg->tx_bufs = proto_data_buf_alloc(BATCH * lg->msg_cap);
	lg->up = calloc(lg->opt.ports, sizeof(*lg->up));
	if (!lg->tx_bufs || !lg->up || udp_rx_init(&lg->rx, RX_BATCH, rx_size, PROTO_DATA_HEADROOM) < 0)
		return cli_fail(PROG, "out of memory for packet buffers");
	return 0;
}

/* Unwinding is in teardown(), which copes with a partial setup. */
static int setup(struct loadgen *lg)
{
	uint32_t n = (uint32_t)lg->opt.ports;

	if (sodium_init() < 0)
		return cli_fail(PROG, "cannot initialise libsodium");
	if (resolve_switch(lg) != 0)
		return 1;
	lg->ports = calloc(n, sizeof(*lg->ports));
	if (!lg->ports)
		return cli_fail(PROG, "out of memory for %u ports", n);
	for (uint32_t i = 0; i < n; i++)
		lg->ports[i].fd = -1;
	if (read_keys(lg->opt.keys_path, lg->ports, n) != 0 || raise_fd_limit(n) != 0 ||
	    alloc_buffers(lg) != 0)
		return 1;
	lg->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lg->epfd < 0)
		return cli_fail(PROG, "cannot create epoll instance: %s", strerror(errno));
	for (uint32_t i = 0; i < n; i++)
		if (open_port(lg, i) != 0)
			return 1;
	/* Every socket is alike: the first one tells whether GSO works. */
	if (udp_tx_init(&lg->tx, BATCH, lg->ports[0].fd, !lg->opt.no_offload) < 0)
		return cli_fail(PROG, "out of memory for packet buffers");
	if (lg->gro_refused)
		fprintf(stderr, "%s: UDP GRO not available on %u sockets: receiving datagrams "
				"one by one\n", PROG, lg->gro_refused);
	randombytes_buf(&lg->rng, sizeof(lg->rng));
	lg->rng |= 1; /* xorshift must not start at zero */
	return 0;
}

static void teardown(struct loadgen *lg)
{
	for (uint32_t i = 0; lg->ports && i < lg->opt.ports; i++) {
		struct lport *p = &lg->ports[i];

		if (p->fd >= 0)
			close(p->fd);
		session_wipe(&p->session);
		noise_wipe(&p->init.hs);
		proto_identity_wipe(&p->id);
	}
	if (lg->epfd >= 0)
		close(lg->epfd);
	udp_tx_free(&lg->tx);
	udp_rx_free(&lg->rx);
	proto_data_buf_free(lg->tx_bufs);
	free(lg->up);
	free(lg->ports);
}

/* ---- sending ---- */

static void send_one(struct loadgen *lg, struct lport *p, const uint8_t *msg, size_t len)
{
	/* Refused (ICMP from a switch that is down) or full: counted, like a drop. */
	if (send(p->fd, msg, len, 0) != (ssize_t)len)
		lg->send_errors++;
	p->last_tx_ms = lg->now_ms;
}

/* TAI64N from the wall clock, and never one the switch has seen. */
static void next_timestamp(struct loadgen *lg, uint8_t ts[WIRE_TIMESTAMP_LEN])
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	wire_timestamp_encode(ts, (uint64_t)now.tv_sec, (uint32_t)now.tv_nsec);
	if (wire_timestamp_cmp(ts, lg->last_timestamp) <= 0) {
		memcpy(ts, lg->last_timestamp, WIRE_TIMESTAMP_LEN);
		for (int i = WIRE_TIMESTAMP_LEN - 1; i >= 0 && ++ts[i] == 0; i--)
			;
	}
	memcpy(lg->last_timestamp, ts, WIRE_TIMESTAMP_LEN);
}

static void send_init(struct loadgen *lg, struct lport *p)
{
	uint8_t e_priv[NOISE_KEY_LEN], ts[WIRE_TIMESTAMP_LEN], msg[WIRE_INIT_LEN];
	size_t len;

	next_timestamp(lg, ts);
	randombytes_buf(e_priv, sizeof(e_priv));
	len = proto_create_init(&p->init, &p->id, lg->switch_pub, e_priv, ts, randombytes_random(),
				msg, sizeof(msg));
	sodium_memzero(e_priv, sizeof(e_priv));
	p->state = HS_WAITING;
	p->attempts++;
	p->sent_ms = lg->now_ms;
	if (len == 0)
		return; /* retried on timeout, like an initiation lost on the way */
	send_one(lg, p, msg, len);
	lg->hs_sent++;
}

static void send_keepalive(struct loadgen *lg, struct lport *p)
{
	uint8_t room[PROTO_DATA_HEADROOM + WIRE_DATA_OVERHEAD], *msg = room + PROTO_DATA_HEADROOM;
	enum session_result why;
	size_t len = proto_seal_data(&p->session, msg, 0, lg->now_ms, &why);

	if (len == 0)
		lg->no_session++;
	else
		send_one(lg, p, msg, len);
}

/* Queue a frame from port p to port dst (NULL for a broadcast); the frame
 * sits in msg behind the data header. */
static bool queue_frame(struct loadgen *lg, struct lport *p, struct lport *dst, uint8_t *msg)
{
	enum session_result why;
	size_t len;

	put_u64le(msg + WIRE_DATA_HEADER_LEN + FRAME_HEADER_LEN, dst ? dst->next_seq : 0);
	len = proto_seal_data(&p->session, msg, lg->frame_len, lg->now_ms, &why);
	if (len == 0) {
		lg->no_session++;
		return false;
	}
	udp_tx_add(&lg->tx, p->fd, msg, len, NULL);
	lg->queued++;
	if (dst)
		dst->next_seq++;
	return true;
}

/* Flush p's queue; returns how many datagrams the kernel took. */
static uint64_t flush_port(struct loadgen *lg, struct lport *p, unsigned queued)
{
	uint64_t errors = lg->tx.errors;

	udp_tx_flush(&lg->tx, p->fd);
	p->last_tx_ms = lg->now_ms;
	errors = lg->tx.errors - errors;
	lg->send_errors += errors;
	return queued - errors;
}

/* ---- receiving ---- */

static void on_resp(struct loadgen *lg, struct lport *p, const uint8_t *msg, size_t len)
{
	struct wire_resp w;
	enum proto_result r;

	if (wire_decode_resp(msg, len, &w) != WIRE_OK) {
		lg->st.stray++;
		return;
	}
	if (p->state != HS_WAITING) {
		lg->hs_late++;
		return;
	}
	r = proto_consume_resp(&p->init, &p->id, msg, len, &w, &p->session, lg->now_ms);
	if (r != PROTO_OK) {
		lg->hs_rejected[r]++; /* left waiting: the timeout sends a new one */
		return;
	}
	p->state = HS_DONE;
	lg->hs_waiting--;
	lg->hs_settled++;
	lg->hs_ok++;
	/* The switch may not send on the new keypair before we use it. */
	send_keepalive(lg, p);
}

/* A frame we sent, to this port or to everyone, with our payload. */
static bool is_our_frame(const struct loadgen *lg, uint32_t port, const uint8_t *frame,
			 size_t len)
{
	static const uint8_t broadcast[FRAME_MAC_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint32_t src = mac_port(frame_src(frame));

	if (len != lg->frame_len ||
	    frame[2 * FRAME_MAC_LEN] != (uint8_t)(ETHERTYPE_LOADGEN >> 8) ||
	    frame[2 * FRAME_MAC_LEN + 1] != (uint8_t)ETHERTYPE_LOADGEN)
		return false;
	if (src == port || src >= lg->opt.ports)
		return false;
	if (memcmp(frame_dst(frame), broadcast, FRAME_MAC_LEN) != 0 &&
	    mac_port(frame_dst(frame)) != port)
		return false;
	for (size_t i = FRAME_HEADER_LEN + SEQ_LEN; i < len; i++)
		if (frame[i] != PAYLOAD_BYTE)
			return false;
	return true;
}

/* Frame seq to p is here: of the seq + 1 frames sent to p up to it, those
 * not received yet never will be. */
static void note_sequence(struct loadgen *lg, struct lport *p, uint64_t seq)
{
	uint64_t lost = seq + 1 > p->rx_frames ? seq + 1 - p->rx_frames : 0;

	if (lost > p->rx_lost) {
		lg->written_off += lost - p->rx_lost;
		p->rx_lost = lost;
	}
}

static void check_sample(struct loadgen *lg, uint32_t port, uint8_t *msg, size_t len)
{
	struct wire_data d;
	uint8_t *frame;
	size_t frame_len;

	lg->st.sampled++;
	if (wire_decode_data(msg, len, &d) != WIRE_OK ||
	    proto_open_data(&lg->ports[port].session, &d, lg->now_ms, &frame, &frame_len) !=
		    SESSION_OK) {
		lg->st.decrypt_fail++;
		return;
	}
	if (!is_our_frame(lg, port, frame, frame_len)) {
		lg->st.bad_frame++;
		return;
	}
	if (lg->is_measuring) {
		struct cursor seq = cursor_init(frame + FRAME_HEADER_LEN, SEQ_LEN);

		note_sequence(lg, &lg->ports[port], cursor_u64le(&seq));
	}
}

static void on_datagram(struct loadgen *lg, uint32_t port, uint8_t *msg, size_t len)
{
	enum wire_type type;

	if (wire_peek(msg, len, &type) != WIRE_OK) {
		lg->st.stray++;
	} else if (type == WIRE_HANDSHAKE_RESP) {
		on_resp(lg, &lg->ports[port], msg, len);
	} else if (type != WIRE_DATA) {
		lg->st.stray++;
	} else if (len == WIRE_DATA_OVERHEAD) {
		lg->st.keepalives++; /* the switch's, after 5 s without sending to us */
	} else {
		lg->st.frames++;
		lg->ports[port].rx_frames++;
		lg->last_rx_ms = lg->now_ms;
		if (lg->st.frames % SAMPLE_EVERY == 0)
			check_sample(lg, port, msg, len);
	}
}

static void receive_port(struct loadgen *lg, uint32_t port)
{
	int n;

	do {
		n = udp_rx_batch(lg->ports[port].fd, &lg->rx);
		if (n < 0) {
			/* ECONNREFUSED: the switch is not there; the handshake retries. */
			if (lg->st.errors++ == 0)
				lg->st.first_error = -n;
			return;
		}
		lg->now_ms = loop_now_ms();
		for (unsigned i = 0; i < (unsigned)n; i++) {
			size_t count = udp_rx_count(&lg->rx, i);

			for (size_t k = 0; k < count; k++) {
				size_t len;
				uint8_t *msg = udp_rx_datagram(&lg->rx, i, k, &len);

				on_datagram(lg, port, msg, len);
			}
		}
	} while (n == (int)lg->rx.cap);
}

/* Receive whatever is ready, waiting up to timeout_ms for something.
 * Returns the number of ready sockets, or -1 after reporting an error. */
static int poll_ports(struct loadgen *lg, int timeout_ms)
{
	struct epoll_event ev[EPOLL_EVENTS];
	int n = epoll_wait(lg->epfd, ev, EPOLL_EVENTS, timeout_ms);

	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return -cli_fail(PROG, "epoll_wait: %s", strerror(errno));
	}
	for (int i = 0; i < n; i++)
		receive_port(lg, ev[i].data.u32);
	lg->now_ms = loop_now_ms();
	return n;
}

/* Datagrams the kernel dropped at our sockets (receive buffer full) so far,
 * or -1 if it does not say (SO_MEMINFO: Linux 4.6). */
static int64_t count_socket_drops(const struct loadgen *lg)
{
	int64_t total = 0;

	for (uint32_t i = 0; i < lg->opt.ports; i++) {
		uint32_t mem[SK_MEMINFO_VARS];
		socklen_t len = sizeof(mem);

		if (getsockopt(lg->ports[i].fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
		    len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
			return -1;
		total += mem[SK_MEMINFO_DROPS];
	}
	return total;
}

/* Drops at our sockets since the phase started, for the report. */
static const char *phase_socket_drops(const struct loadgen *lg, char *buf, size_t len)
{
	int64_t now = count_socket_drops(lg);

	if (now < 0 || lg->socket_drops < 0)
		snprintf(buf, len, "unknown");
	else
		snprintf(buf, len, "%" PRId64, now - lg->socket_drops);
	return buf;
}

/* ---- pacing ---- */

static uint64_t in_flight(const struct loadgen *lg, uint64_t expected)
{
	uint64_t done = lg->st.frames + lg->written_off;

	return expected > done ? expected - done : 0;
}

/* Wait until fewer than limit of the expected frames are on their way, or
 * until deadline_ms. */
static int wait_for_room(struct loadgen *lg, uint64_t expected, uint64_t limit,
			 uint64_t deadline_ms)
{
	uint64_t since = lg->now_ms;

	while (in_flight(lg, expected) >= limit && lg->now_ms < deadline_ms) {
		if (poll_ports(lg, 1) < 0)
			return -1;
		if (lg->last_rx_ms > since)
			since = lg->last_rx_ms;
		if (lg->now_ms - since >= LOST_AFTER_MS)
			lg->written_off += in_flight(lg, expected);
	}
	return 0;
}

/* Receive until every expected frame arrived or none came for DRAIN_QUIET_MS. */
static int drain(struct loadgen *lg, uint64_t expected)
{
	uint64_t since = lg->now_ms;

	while (in_flight(lg, expected) > 0 && lg->now_ms - since < DRAIN_QUIET_MS) {
		if (poll_ports(lg, 10) < 0)
			return -1;
		if (lg->last_rx_ms > since)
			since = lg->last_rx_ms;
	}
	return 0;
}

/* ---- phase 1: handshakes ---- */

static void retry_handshakes(struct loadgen *lg)
{
	for (uint32_t i = 0; i < lg->opt.ports; i++) {
		struct lport *p = &lg->ports[i];

		if (p->state != HS_WAITING || lg->now_ms - p->sent_ms < HANDSHAKE_TIMEOUT_MS)
			continue;
		if (p->attempts < HANDSHAKE_ATTEMPTS) {
			send_init(lg, p);
			continue;
		}
		p->state = HS_FAILED;
		noise_wipe(&p->init.hs);
		lg->hs_waiting--;
		lg->hs_settled++;
	}
}

static int handshake_phase(struct loadgen *lg)
{
	uint32_t n = (uint32_t)lg->opt.ports, next = 0;
	uint64_t start = loop_now_ms(), last_scan = start;

	lg->now_ms = start;
	while (lg->hs_settled < n) {
		/* A whole first wave failed: the switch is down or has another key. */
		if (lg->hs_ok == 0 && lg->hs_settled >= HANDSHAKES_IN_FLIGHT)
			break;
		for (; next < n && lg->hs_waiting < HANDSHAKES_IN_FLIGHT; next++) {
			send_init(lg, &lg->ports[next]);
			lg->hs_waiting++;
		}
		if (poll_ports(lg, 10) < 0)
			return -1;
		if (lg->now_ms - last_scan >= HANDSHAKE_SCAN_MS) {
			retry_handshakes(lg);
			last_scan = lg->now_ms;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		if (lg->ports[i].state == HS_DONE)
			lg->up[lg->up_count++] = i;
	fprintf(stderr, "%s: handshakes: %u of %u ports in %.2f s (%" PRIu64 " initiations, "
			"%" PRIu64 " late or duplicate responses, %" PRIu64 " bad mac1, %" PRIu64
			" bad, %" PRIu64 " unexpected)\n",
		PROG, lg->hs_ok, n, seconds_between(start, lg->now_ms), lg->hs_sent, lg->hs_late,
		lg->hs_rejected[PROTO_BAD_MAC1], lg->hs_rejected[PROTO_BAD_HANDSHAKE],
		lg->hs_rejected[PROTO_UNEXPECTED]);
	if (lg->st.errors || lg->send_errors)
		fprintf(stderr, "%s: handshakes: %" PRIu64 " send errors, %" PRIu64
				" receive errors%s%s\n", PROG, lg->send_errors, lg->st.errors,
			lg->st.errors ? ", the first: " : "",
			lg->st.errors ? strerror(lg->st.first_error) : "");
	if (lg->hs_ok == 0)
		cli_report(PROG, "no handshake with the switch at %s succeeded: is it running, with "
			       "that key, and are these keys its members?", lg->opt.switch_addr);
	return 0;
}

/* ---- phase 2: learning ---- */

static void reset_phase(struct loadgen *lg)
{
	memset(&lg->st, 0, sizeof(lg->st));
	lg->socket_drops = count_socket_drops(lg);
	lg->sent = lg->written_off = lg->send_errors = lg->no_session = lg->queued = 0;
	for (uint32_t i = 0; i < lg->opt.ports; i++) {
		struct lport *p = &lg->ports[i];

		p->next_seq = p->rx_frames = p->rx_lost = 0;
	}
	lg->now_ms = lg->last_rx_ms = loop_now_ms();
}

/* Where learning frame k of port up[u] goes, and how many copies come back. */
static uint64_t learning_dst(const struct loadgen *lg, uint32_t u, uint32_t k, bool is_last,
			     uint8_t dst[FRAME_MAC_LEN])
{
	uint32_t prev = lg->up[u == 0 ? lg->up_count - 1 : u - 1];
	uint32_t next = lg->up[u + 1 == lg->up_count ? 0 : u + 1];

	if (lg->opt.learn == LEARN_BROADCAST || (k == 0 && u == 0)) {
		memset(dst, 0xff, FRAME_MAC_LEN);
		return lg->up_count - 1;
	}
	if (k == 0) {
		make_mac(dst, prev, 0); /* learned just before */
		return 1;
	}
	make_mac(dst, is_last ? next : lg->up[u], 0);
	return is_last;
}

/* Frames k0 .. k0+count-1 of port up[u]; returns how many copies to expect. */
static uint64_t send_learning(struct loadgen *lg, uint32_t u, uint32_t k0, unsigned count)
{
	uint32_t port = lg->up[u];
	uint8_t src[FRAME_MAC_LEN], dst[FRAME_MAC_LEN];
	uint64_t copies = 0;
	unsigned queued = 0;

	for (unsigned j = 0; j < count; j++) {
		uint8_t *msg = lg->tx_bufs + (size_t)j * lg->msg_cap;
		uint64_t back = learning_dst(lg, u, k0 + j, j + 1 == count, dst);

		make_mac(src, port, k0 + j);
		write_frame(msg + WIRE_DATA_HEADER_LEN, lg->frame_len, dst, src);
		if (!queue_frame(lg, &lg->ports[port], NULL, msg))
			continue;
		queued++;
		copies += back;
	}
	lg->sent += flush_port(lg, &lg->ports[port], queued);
	return copies;
}

static enum learn_mode choose_learn_mode(const struct loadgen *lg)
{
	uint64_t copies = (uint64_t)lg->up_count * lg->opt.macs_per_port * (lg->up_count - 1);

	if (lg->opt.learn != LEARN_AUTO)
		return lg->opt.learn;
	if (copies <= AUTO_MAX_FLOOD_COPIES)
		return LEARN_BROADCAST;
	fprintf(stderr, "%s: learning: broadcasting from every MAC would flood %" PRIu64
			" copies; broadcasting once and sending to known MACs instead\n",
		PROG, copies);
	return LEARN_ONCE;
}

/* Keep idle ports alive, a few at a time; call often. */
static void keep_ports_alive(struct loadgen *lg)
{
	for (unsigned i = 0; i < KEEPALIVE_CHECKS; i++) {
		struct lport *p = &lg->ports[lg->up[lg->keepalive_cursor]];

		if (++lg->keepalive_cursor == lg->up_count)
			lg->keepalive_cursor = 0;
		if (lg->now_ms - p->last_tx_ms >= KEEPALIVE_MS)
			send_keepalive(lg, p);
	}
}

/* Send frames k_from .. k_to-1 of every port, batch at a time, with fewer
 * than limit copies in flight; then wait for the rest. */
static int learn_pass(struct loadgen *lg, uint32_t k_from, uint32_t k_to, unsigned batch,
		      uint64_t limit)
{
	uint64_t expected = lg->st.frames + lg->written_off;
	unsigned count;

	for (uint32_t u = 0; u < lg->up_count; u++) {
		for (uint32_t k = k_from; k < k_to; k += count) {
			count = k_to - k < batch ? k_to - k : batch;
			expected += send_learning(lg, u, k, count);
			if (wait_for_room(lg, expected, limit, UINT64_MAX) < 0)
				return -1;
			keep_ports_alive(lg);
		}
	}
	return drain(lg, expected);
}

static int learning_phase(struct loadgen *lg)
{
	uint64_t flood_limit = (uint64_t)LEARN_BROADCASTS * (lg->up_count - 1), start;
	uint32_t m = (uint32_t)lg->opt.macs_per_port;
	char drops[24];
	int ret;

	lg->opt.learn = choose_learn_mode(lg);
	reset_phase(lg);
	start = lg->now_ms;
	/* First every port's first MAC, so that every port has one the switch knows. */
	if (lg->opt.learn == LEARN_BROADCAST) {
		ret = learn_pass(lg, 0, 1, 1, flood_limit);
		if (ret == 0)
			ret = learn_pass(lg, 1, m, LEARN_BROADCASTS, flood_limit);
	} else {
		ret = learn_pass(lg, 0, 1, 1, LEARN_FILTERED);
		if (ret == 0)
			ret = learn_pass(lg, 1, m, BATCH, LEARN_FILTERED / BATCH);
	}
	if (ret < 0)
		return -1;
	fprintf(stderr, "%s: learning: %" PRIu64 " frames from %" PRIu64 " MACs in %.2f s, "
			"%" PRIu64 " flood copies and probes back, %" PRIu64 " written off, "
			"%s dropped by our sockets\n",
		PROG, lg->sent, (uint64_t)lg->up_count * m, seconds_between(start, lg->now_ms),
		lg->st.frames, lg->written_off, phase_socket_drops(lg, drops, sizeof(drops)));
	return 0;
}

/* ---- phase 3: measured ---- */

/* A batch from port up[u]: each frame from one of its MACs to a MAC of
 * another port, both picked at random. */
static void send_batch(struct loadgen *lg, uint32_t u, unsigned count)
{
	uint32_t port = lg->up[u], m = (uint32_t)lg->opt.macs_per_port;
	uint8_t src[FRAME_MAC_LEN], dst[FRAME_MAC_LEN];
	unsigned queued = 0;

	for (unsigned j = 0; j < count; j++) {
		uint8_t *msg = lg->tx_bufs + (size_t)j * lg->msg_cap;
		uint32_t other = rng_below(lg, lg->up_count - 1);

		other += other >= u; /* anyone but ourselves */
		make_mac(src, port, rng_below(lg, m));
		make_mac(dst, lg->up[other], rng_below(lg, m));
		write_frame(msg + WIRE_DATA_HEADER_LEN, lg->frame_len, dst, src);
		queued += queue_frame(lg, &lg->ports[port], &lg->ports[lg->up[other]], msg);
	}
	lg->sent += flush_port(lg, &lg->ports[port], queued);
}

static int measured_phase(struct loadgen *lg, uint64_t *received, double *elapsed)
{
	uint64_t start, end;
	uint32_t turn = 0;

	reset_phase(lg);
	start = lg->now_ms;
	end = start + lg->opt.seconds * 1000u;
	lg->is_measuring = true;
	while (lg->now_ms < end) {
		uint64_t busy = in_flight(lg, lg->queued), window = lg->opt.window;

		/* Open the window as frames come back (TCP's slow start): a full
		 * window sent at once would overflow the switch's socket. */
		if (window > BATCH + lg->st.frames)
			window = BATCH + lg->st.frames;
		if (busy >= window) {
			if (wait_for_room(lg, lg->queued, window, end) < 0)
				return -1;
			continue;
		}
		send_batch(lg, turn, window - busy < BATCH ? (unsigned)(window - busy) : BATCH);
		turn = turn + 1 == lg->up_count ? 0 : turn + 1;
		if (poll_ports(lg, 0) < 0)
			return -1;
	}
	*received = lg->st.frames;
	*elapsed = seconds_between(start, lg->now_ms);
	lg->is_measuring = false;
	return drain(lg, lg->queued);
}

/* ---- report ---- */

static void report_details(const struct loadgen *lg, uint64_t received, double elapsed)
{
	uint64_t lost = lg->sent > lg->st.frames ? lg->sent - lg->st.frames : 0;
	char drops[24];

	fprintf(stderr, "%s: measured: %.2f s, sent %" PRIu64 ", received %" PRIu64 " (+%" PRIu64
			" after the end), lost %" PRIu64 " (%s at our sockets), %" PRIu64
			" send errors, %" PRIu64 " keepalives from the switch\n",
		PROG, elapsed, lg->sent, received, lg->st.frames - received, lost,
		phase_socket_drops(lg, drops, sizeof(drops)), lg->send_errors, lg->st.keepalives);
	fprintf(stderr, "%s: checked %" PRIu64 " frames: %" PRIu64 " failed to decrypt, %" PRIu64
			" decrypted to a frame we did not send; %" PRIu64 " stray datagrams\n",
		PROG, lg->st.sampled, lg->st.decrypt_fail, lg->st.bad_frame, lg->st.stray);
	if (lg->st.errors)
		fprintf(stderr, "%s: %" PRIu64 " receive errors, the first: %s\n", PROG,
			lg->st.errors, strerror(lg->st.first_error));
}

static int print_summary(const struct loadgen *lg, uint64_t received, double elapsed)
{
	double rate = elapsed > 0 ? (double)received / elapsed : 0;

	printf("ports=%" PRIu64 " macs=%" PRIu64 " seconds=%" PRIu64 " sent=%" PRIu64
	       " received=%" PRIu64 " frames_per_sec=%.0f decrypt_fail=%" PRIu64
	       " handshakes_ok=%u\n",
	       lg->opt.ports, (uint64_t)lg->up_count * lg->opt.macs_per_port, lg->opt.seconds,
	       lg->sent, received, rate, lg->st.decrypt_fail, lg->hs_ok);
	if (fflush(stdout) != 0)
		return cli_fail(PROG, "cannot write to stdout: %s", strerror(errno));
	return 0;
}

/* The exit status: failed handshakes above MAX_FAILED_PERCENT, or no frames, fail. */
static int verdict(const struct loadgen *lg, uint64_t received)
{
	uint64_t n = lg->opt.ports, failed = n - lg->hs_ok;

	if (failed * 100 > n * MAX_FAILED_PERCENT)
		return cli_fail(PROG, "%" PRIu64 " of %" PRIu64 " handshakes failed (more than %u%%)",
				failed, n, MAX_FAILED_PERCENT);
	if (received == 0)
		return cli_fail(PROG, "no frames received");
	return 0;
}

static int run_phases(struct loadgen *lg)
{
	uint64_t received = 0;
	double elapsed = 0;

	if (handshake_phase(lg) < 0)
		return 1;
	if (lg->up_count < 2) {
		print_summary(lg, 0, 0);
		verdict(lg, 0);
		return cli_fail(PROG, "fewer than two ports connected: nothing to measure");
	}
	if (learning_phase(lg) < 0 || measured_phase(lg, &received, &elapsed) < 0)
		return 1;
	report_details(lg, received, elapsed);
	if (print_summary(lg, received, elapsed) != 0)
		return 1;
	return verdict(lg, received);
}

static int cmd_run(int argc, char **argv)
{
	static struct loadgen lg;
	int status;

	lg.epfd = -1;
	if (parse_run(argc, argv, &lg.opt) != 0)
		return 1;
	status = setup(&lg);
	if (status == 0)
		status = run_phases(&lg);
	teardown(&lg);
	return status;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " keys --ports N --members-out FILE --keys-out FILE\n"
		"       " PROG " run --switch HOST:PORT --switch-pubkey BASE64 --keys FILE\n"
		"                   --ports N --macs-per-port M --seconds S [options]\n"
		"\n"
		"  --frame-size BYTES   Ethernet payload per frame (default %u)\n"
		"  --window N           frames in flight while measuring (default %u)\n"
		"  --learn MODE         'broadcast': every MAC's first frame is flooded;\n"
		"                       'once': one frame is, the others go to MACs the\n"
		"                       switch knows; 'auto' (default): broadcast unless\n"
		"                       that floods more than %u copies\n"
		"  --no-offload         send and receive datagrams one by one, as vport\n"
		"                       --no-offload does (default: UDP GSO and GRO)\n",
		DEFAULT_FRAME_SIZE, DEFAULT_WINDOW, AUTO_MAX_FLOOD_COPIES);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "keys") == 0)
		return cmd_keys(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 1;
}
