/*
 * The switch's receive path as a whole, with its own code: vswitch.c is
 * compiled in (its main renamed), and the test drives on_udp() itself in
 * place of the event loop. Ports are plain sockets on loopback holding real
 * sessions, made by handshakes through the switch. What is checked is what
 * the batching code must keep whatever the mix of datagrams in one receive:
 * every frame arrives, once, intact, in order, with its flags, through runs
 * cut by length (64 messages, also inside one GRO datagram), by sender, by a
 * sender's new address, by a handshake in their middle, by a forged message,
 * and through floods that need more buffers than the switch's pool holds
 * (TX_POOL), to many ports and to one.
 *
 * Checked to fail when a run is not cut at 64 messages, when a run is not cut
 * at a sender's new address, when the flags or a message of a run are lost,
 * and when frames to different ports share a sealing run.
 */
#define main vswitch_main
#include "../../src/vswitch.c"
#undef main

#include <arpa/inet.h>
#include <netinet/udp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define PORTS 9 /* tp[0..7] join at setup; tp[8] joins mid-run */
#define JOINED (PORTS - 1)
#define LATE (PORTS - 1)
#define MAX_MSGS 200
#define SMALL 100 /* small frames: 130 of them fit a socket's buffer */
#define FRAME_ROOM 65536

struct tport {
	struct proto_identity id;
	struct session session;
	int fd;
	struct endpoint ep; /* where the switch sees it */
	uint8_t mac[FRAME_MAC_LEN];
};

struct msg {
	uint8_t *buf; /* proto_data_buf_alloc: headroom before it */
	size_t len;
};

static struct vswitch sw; /* large: not on the stack */
static struct tport tp[PORTS];
static struct endpoint sw_ep;
static const uint8_t broadcast[FRAME_MAC_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ---- loopback sockets ---- */

static int bound_socket(struct endpoint *ep)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&ep->addr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rcvbuf = 4 << 20;

	assert_true(fd >= 0);
	memset(ep, 0, sizeof(*ep));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	ep->len = sizeof(*sin);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ep->addr, &ep->len), 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}

static void send_to_switch(const struct tport *from, const uint8_t *msg, size_t len)
{
	assert_int_equal(
		sendto(from->fd, msg, len, 0, (const struct sockaddr *)&sw_ep.addr, sw_ep.len),
		(ssize_t)len);
}

/* msgs[first..first + n) from one socket in UDP GSO sends of up to
 * UDP_MAX_SEGMENTS, as vport sends them: the switch's socket, with GRO on,
 * takes each send as one datagram. All but the last message of a send must
 * have the same length. */
static void send_gso(int fd, const struct msg *m, size_t n)
{
	static uint8_t batch[UDP_MAX_SEGMENTS * 1600];

	for (size_t done = 0; done < n;) {
		size_t k = n - done < UDP_MAX_SEGMENTS ? n - done : UDP_MAX_SEGMENTS, off = 0;
		uint16_t seg = (uint16_t)m[done].len;
		union {
			char buf[CMSG_SPACE(sizeof(uint16_t))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov;
		struct msghdr mh = { .msg_name = &sw_ep.addr,
				     .msg_namelen = sw_ep.len,
				     .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		for (size_t i = 0; i < k; i++) {
			assert_true(i + 1 == k || m[done + i].len == seg);
			assert_true(off + m[done + i].len <= sizeof(batch));
			memcpy(batch + off, m[done + i].buf, m[done + i].len);
			off += m[done + i].len;
		}
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(seg));
		memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		iov = (struct iovec){ .iov_base = batch, .iov_len = off };
		assert_int_equal(sendmsg(fd, &mh, 0), (ssize_t)off);
		done += k;
	}
}

/* The next datagram to p, or 0 once none is waiting. */
static size_t take(struct tport *p, uint8_t *buf, size_t cap)
{
	ssize_t n = recv(p->fd, buf, cap, 0);

	if (n < 0) {
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		return 0;
	}
	return (size_t)n;
}

/* ---- messages ---- */

static struct msg msgs[MAX_MSGS];

/* A frame from src to dst whose bytes all follow from seq and len. */
static void make_frame(uint8_t *out, const uint8_t dst[FRAME_MAC_LEN],
		       const uint8_t src[FRAME_MAC_LEN], uint32_t seq, size_t len)
{
	memcpy(out, dst, FRAME_MAC_LEN);
	memcpy(out + FRAME_MAC_LEN, src, FRAME_MAC_LEN);
	out[12] = 0x88; /* local experimental EtherType */
	out[13] = 0xb5;
	for (size_t i = 14; i < len; i++)
		out[i] = (uint8_t)(seq * 7 + i);
	memcpy(out + 14, &seq, sizeof(seq));
}

/* Seal frames seq0.. (n of them, lengths from len_of) from p to dst into
 * msgs[first..], flags from flags_of; the port's own cipher, as vport's. */
static void seal(struct tport *p, const uint8_t dst[FRAME_MAC_LEN], size_t first, size_t n,
		 uint32_t seq0, size_t (*len_of)(uint32_t), uint8_t (*flags_of)(uint32_t))
{
	struct proto_seal run[PROTO_SEAL_RUN_MAX];
	size_t done = 0;

	while (done < n) {
		size_t k = n - done < PROTO_SEAL_RUN_MAX ? n - done : PROTO_SEAL_RUN_MAX;

		for (size_t i = 0; i < k; i++) {
			uint32_t seq = seq0 + (uint32_t)(done + i);
			struct msg *m = &msgs[first + done + i];

			proto_data_buf_free(m->buf); /* left by a failed case */
			m->buf = proto_data_buf_alloc(sw.buf_size);
			assert_non_null(m->buf);
			make_frame(m->buf + WIRE_DATA_HEADER_LEN, dst, p->mac, seq, len_of(seq));
			run[i] = (struct proto_seal){ .msg = m->buf,
						      .frame_len = len_of(seq),
						      .flags = flags_of ? flags_of(seq) : 0 };
		}
		proto_seal_data_run(&p->session, run, k, loop_now_ms());
		aead_finish_tags(); /* the tags are deferred, as in the daemons */
		for (size_t i = 0; i < k; i++) {
			assert_int_equal(run[i].why, SESSION_OK);
			msgs[first + done + i].len = run[i].len;
		}
		done += k;
	}
}

static void free_msgs(void)
{
	for (size_t i = 0; i < MAX_MSGS; i++) {
		proto_data_buf_free(msgs[i].buf);
		msgs[i] = (struct msg){ 0 };
	}
}

static size_t small_len(uint32_t seq)
{
	return SMALL + seq % 3;
}

static size_t fixed_len(uint32_t seq)
{
	(void)seq;
	return SMALL;
}

static size_t mixed_len(uint32_t seq)
{
	return seq % 5 == 0 ? WIRE_DEFAULT_TAP_MTU + FRAME_HEADER_LEN : 60 + seq % 200;
}

static uint8_t odd_partial(uint32_t seq)
{
	return seq % 2 ? WIRE_DATA_CSUM_PARTIAL : 0;
}

/* The next frame waiting at p, opened with its session (keepalives
 * skipped): false once none is waiting. */
static bool next_frame(struct tport *p, uint8_t **frame, size_t *frame_len, uint8_t *flags)
{
	static uint8_t room[PROTO_DATA_HEADROOM + UDP_SUPER_MAX];
	uint8_t *buf = room + PROTO_DATA_HEADROOM;
	size_t len;

	while ((len = take(p, buf, sizeof(room) - PROTO_DATA_HEADROOM)) > 0) {
		struct wire_data d;

		assert_int_equal(wire_decode_data(buf, len, &d), WIRE_OK);
		assert_int_equal(proto_open_data(&p->session, &d, loop_now_ms(), frame, frame_len),
				 SESSION_OK);
		*flags = d.flags;
		if (*frame_len > 0)
			return true;
	}
	return false;
}

/* A frame as make_frame made it, with its flags. */
static void check_frame(const uint8_t *frame, size_t frame_len, uint8_t flags,
			const uint8_t src[FRAME_MAC_LEN], const uint8_t dst[FRAME_MAC_LEN],
			uint32_t seq, size_t (*len_of)(uint32_t), uint8_t (*flags_of)(uint32_t))
{
	static uint8_t want[FRAME_ROOM];

	make_frame(want, dst, src, seq, len_of(seq));
	assert_int_equal(frame_len, len_of(seq));
	assert_memory_equal(frame, want, frame_len);
	assert_int_equal(flags, flags_of ? flags_of(seq) : 0);
}

/* Everything waiting at p must be the frames seq0, seq0 + 1, ... (n of
 * them) from src to dst, lengths and flags as given. */
static void expect_frames(struct tport *p, const uint8_t src[FRAME_MAC_LEN],
			  const uint8_t dst[FRAME_MAC_LEN], uint32_t seq0, size_t n,
			  size_t (*len_of)(uint32_t), uint8_t (*flags_of)(uint32_t))
{
	uint8_t *frame, flags;
	size_t frame_len, got = 0;

	while (next_frame(p, &frame, &frame_len, &flags)) {
		assert_true(got < n);
		check_frame(frame, frame_len, flags, src, dst, seq0 + (uint32_t)got, len_of,
			    flags_of);
		got++;
	}
	assert_int_equal(got, n);
}

/* What the event loop does when the switch's socket is readable. */
static void switch_reads(void)
{
	on_udp(&sw);
}

/* ---- joining ---- */

static void join(struct tport *p, uint32_t i)
{
	uint8_t init[WIRE_INIT_LEN], resp[WIRE_RESP_LEN + 1], e_priv[NOISE_KEY_LEN];
	uint8_t ts[WIRE_TIMESTAMP_LEN], keepalive[PROTO_DATA_HEADROOM + WIRE_DATA_OVERHEAD];
	struct proto_initiation pi;
	struct wire_resp wr;
	enum session_result why;
	size_t len;

	randombytes_buf(e_priv, sizeof(e_priv));
	wire_timestamp_encode(ts, 1000 + i, 0);
	assert_int_equal(
		proto_create_init(&pi, &p->id, sw.id.pub, e_priv, ts, 100 + i, init, sizeof(init)),
		WIRE_INIT_LEN);
	send_to_switch(p, init, sizeof(init));
	switch_reads();
	assert_int_equal(take(p, resp, sizeof(resp)), WIRE_RESP_LEN);
	assert_int_equal(wire_decode_resp(resp, WIRE_RESP_LEN, &wr), WIRE_OK);
	assert_int_equal(proto_consume_resp(&pi, &p->id, resp, WIRE_RESP_LEN, &wr, &p->session,
					    loop_now_ms()),
			 PROTO_OK);
	/* The first data message confirms the switch's new keypair. */
	len = proto_seal_data(&p->session, keepalive + PROTO_DATA_HEADROOM, 0, loop_now_ms(), &why);
	aead_finish_tags();
	assert_int_equal(len, WIRE_DATA_OVERHEAD);
	send_to_switch(p, keepalive + PROTO_DATA_HEADROOM, len);
	switch_reads();
}

static struct port *switch_port(const struct tport *p)
{
	for (uint32_t i = 0; i < SWITCH_MAX_PORTS; i++)
		if (sw.ports[i].in_use && memcmp(sw.ports[i].pub, p->id.pub, NOISE_KEY_LEN) == 0)
			return &sw.ports[i];
	return NULL;
}

static int group_setup(void **state)
{
	char members[PORTS * 80], why[200], b64[KEY_BASE64_LEN + 1];
	uint8_t priv[NOISE_KEY_LEN], hash_key[16];
	size_t off = 0;

	(void)state;
	assert_true(sodium_init() >= 0);
	log_init("test_switch_runs", LOG_ERROR);
	sw.opt.mtu = WIRE_DEFAULT_TAP_MTU;
	randombytes_buf(priv, sizeof(priv));
	assert_true(proto_identity_init(&sw.id, priv));
	for (uint32_t i = 0; i < PORTS; i++) {
		randombytes_buf(priv, sizeof(priv));
		assert_true(proto_identity_init(&tp[i].id, priv));
		key_derive_mac(tp[i].mac, tp[i].id.pub);
		key_to_base64(b64, tp[i].id.pub);
		off += (size_t)snprintf(members + off, sizeof(members) - off, "%s p%u\n", b64, i);
		tp[i].fd = bound_socket(&tp[i].ep);
	}
	sodium_memzero(priv, sizeof(priv));
	assert_int_equal(members_parse(&sw.members, members, off, why, sizeof(why)), 0);
	randombytes_buf(hash_key, sizeof(hash_key));
	randombytes_buf(sw.hash_key, sizeof(sw.hash_key));
	epmap_init(&sw.endpoints);
	sw.macs = mactable_new(1024, 64, SWITCH_MAX_PORTS, 300000, hash_key);
	assert_non_null(sw.macs);
	sw.buf_size = WIRE_DATA_OVERHEAD + frame_max_len(WIRE_DEFAULT_TAP_MTU) + 1;
	sw.pool = proto_data_buf_alloc(TX_POOL * sw.buf_size);
	assert_non_null(sw.pool);
	assert_int_equal(udp_rx_init(&sw.rx, RX_BATCH, UDP_SUPER_MAX, PROTO_DATA_HEADROOM), 0);
	sw.udp_fd = bound_socket(&sw_ep);
	assert_true(udp_enable_gro(sw.udp_fd));
	assert_int_equal(
		udp_tx_init(&sw.tx, RX_BATCH * UDP_MAX_SEGMENTS + TX_POOL, sw.udp_fd, true), 0);
	sw.tx.before_send = aead_finish_tags;
	aead_defer_tags(true);
	for (uint32_t i = 0; i < JOINED; i++) {
		join(&tp[i], i);
		assert_non_null(switch_port(&tp[i]));
		assert_true(switch_port(&tp[i])->is_connected);
		assert_true(endpoint_equal(&switch_port(&tp[i])->endpoint, &tp[i].ep));
	}
	assert_int_equal(sw.connected_count, JOINED);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	free_msgs();
	for (uint32_t i = 0; i < PORTS; i++) {
		session_wipe(&tp[i].session);
		proto_identity_wipe(&tp[i].id);
		close(tp[i].fd);
	}
	for (uint32_t i = 0; i < SWITCH_MAX_PORTS; i++)
		session_wipe(&sw.ports[i].session);
	proto_identity_wipe(&sw.id);
	close(sw.udp_fd);
	udp_tx_free(&sw.tx);
	udp_rx_free(&sw.rx);
	proto_data_buf_free(sw.pool);
	mactable_free(sw.macs);
	members_free(&sw.members);
	aead_cleanup();
	return 0;
}

/* ---- the cases ---- */

static void send_msgs(struct tport *from, size_t first, size_t n)
{
	for (size_t i = first; i < first + n; i++)
		send_to_switch(from, msgs[i].buf, msgs[i].len);
}

/* Known unicast from tp[0] to tp[1], in one receive: runs cut at exactly
 * PROTO_OPEN_RUN_MAX, one past it, and more than a receive batch; sent
 * datagram by datagram, and in GSO sends that arrive as GRO datagrams of up
 * to 64 messages each (so a run fills up inside one datagram). */
static void test_unicast_run_lengths(void **state)
{
	static const size_t counts[] = { 1, PROTO_OPEN_RUN_MAX - 1, PROTO_OPEN_RUN_MAX,
					 PROTO_OPEN_RUN_MAX + 1, 2 * RX_BATCH + 2 };
	uint32_t seq = 0;

	(void)state;
	for (int gso = 0; gso < 2; gso++) {
		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			size_t (*len_of)(uint32_t) = gso ? fixed_len : small_len;
			uint64_t before = switch_port(&tp[1])->st.tx_frames;

			seal(&tp[0], tp[1].mac, 0, counts[c], seq, len_of, odd_partial);
			if (gso)
				send_gso(tp[0].fd, msgs, counts[c]);
			else
				send_msgs(&tp[0], 0, counts[c]);
			switch_reads();
			expect_frames(&tp[1], tp[0].mac, tp[1].mac, seq, counts[c], len_of,
				      odd_partial);
			for (uint32_t i = 2; i < JOINED; i++)
				expect_frames(&tp[i], tp[0].mac, tp[1].mac, 0, 0, len_of, NULL);
			assert_int_equal(switch_port(&tp[1])->st.tx_frames - before, counts[c]);
			free_msgs();
			seq += (uint32_t)counts[c];
		}
	}
}

/* tp[0] moves to a new address in the middle of what the switch reads at
 * once: the messages from the new address are a run of their own, the
 * switch answers there from then on, and nothing is lost. */
static void test_roam_mid_batch(void **state)
{
	struct endpoint moved;
	int fd = bound_socket(&moved);
	struct port *p0 = switch_port(&tp[0]);

	(void)state;
	seal(&tp[0], tp[1].mac, 0, 20, 0, fixed_len, NULL);
	send_gso(tp[0].fd, msgs, 10);
	send_gso(fd, msgs + 10, 10);
	switch_reads();
	expect_frames(&tp[1], tp[0].mac, tp[1].mac, 0, 20, fixed_len, NULL);
	assert_true(endpoint_equal(&p0->endpoint, &moved));
	free_msgs();
	seal(&tp[1], tp[0].mac, 0, 2, 0, fixed_len, NULL);
	send_msgs(&tp[1], 0, 2);
	switch_reads();
	expect_frames(&tp[0], tp[1].mac, tp[0].mac, 0, 0, fixed_len, NULL); /* the old address */
	close(tp[0].fd);
	tp[0].fd = fd; /* from now on tp[0] lives at its new address */
	tp[0].ep = moved;
	expect_frames(&tp[0], tp[1].mac, tp[0].mac, 0, 2, fixed_len, NULL);
	free_msgs();
}

/* Full-size and small frames from two senders to one port, interleaved one
 * by one: every datagram starts a new run, and each sender's frames still
 * arrive in their order. */
static void test_interleaved_senders(void **state)
{
	size_t n = 40;

	(void)state;
	seal(&tp[0], tp[2].mac, 0, n, 0, mixed_len, odd_partial);
	seal(&tp[3], tp[2].mac, n, n, 0, mixed_len, odd_partial);
	for (size_t i = 0; i < n; i++) {
		send_msgs(&tp[0], i, 1);
		send_msgs(&tp[3], n + i, 1);
	}
	switch_reads();
	/* Each sender's frames in their order, the two mixed in any way. */
	{
		uint32_t next[2] = { 0, 0 };
		uint8_t *frame, flags;
		size_t frame_len;

		while (next_frame(&tp[2], &frame, &frame_len, &flags)) {
			int from = memcmp(frame + FRAME_MAC_LEN, tp[0].mac, FRAME_MAC_LEN) ? 1 : 0;

			assert_true(next[from] < n);
			check_frame(frame, frame_len, flags, tp[from ? 3 : 0].mac, tp[2].mac,
				    next[from]++, mixed_len, odd_partial);
		}
		assert_int_equal(next[0], n);
		assert_int_equal(next[1], n);
	}
	free_msgs();
}

/* A handshake between two halves of a run is handled between them. tp[0]
 * sends to the late port's MAC throughout: before the port joins, the switch
 * knows no such MAC and floods the frames to everyone else; once it has
 * joined, its MAC is pinned to it, and it may not be sent to before its
 * first message confirms its keypair: the frames are dropped, counted. */
static void test_handshake_mid_run(void **state)
{
	uint8_t init[WIRE_INIT_LEN], resp[WIRE_RESP_LEN + 1], e_priv[NOISE_KEY_LEN];
	uint8_t ts[WIRE_TIMESTAMP_LEN];
	struct proto_initiation pi;
	struct wire_resp wr;
	struct port *late;

	(void)state;
	seal(&tp[0], tp[LATE].mac, 0, 20, 0, small_len, NULL);
	randombytes_buf(e_priv, sizeof(e_priv));
	wire_timestamp_encode(ts, 2000, 0);
	assert_int_equal(proto_create_init(&pi, &tp[LATE].id, sw.id.pub, e_priv, ts, 900, init,
					   sizeof(init)),
			 WIRE_INIT_LEN);
	send_msgs(&tp[0], 0, 10);
	send_to_switch(&tp[LATE], init, sizeof(init));
	send_msgs(&tp[0], 10, 10);
	switch_reads();
	for (uint32_t i = 1; i < JOINED; i++)
		expect_frames(&tp[i], tp[0].mac, tp[LATE].mac, 0, 10, small_len, NULL);
	late = switch_port(&tp[LATE]);
	assert_non_null(late);
	assert_true(late->is_connected);
	assert_int_equal(late->st.drop[DROP_NO_SESSION], 10);
	assert_int_equal(take(&tp[LATE], resp, sizeof(resp)), WIRE_RESP_LEN);
	assert_int_equal(wire_decode_resp(resp, WIRE_RESP_LEN, &wr), WIRE_OK);
	assert_int_equal(proto_consume_resp(&pi, &tp[LATE].id, resp, WIRE_RESP_LEN, &wr,
					    &tp[LATE].session, loop_now_ms()),
			 PROTO_OK);
	assert_int_equal(sw.connected_count, PORTS);
	/* Its first frames confirm its keypair; frames to it then pass. */
	seal(&tp[LATE], tp[0].mac, 0, 3, 0, small_len, NULL);
	seal(&tp[0], tp[LATE].mac, 3, 3, 20, small_len, NULL);
	send_msgs(&tp[LATE], 0, 3);
	send_msgs(&tp[0], 3, 3);
	switch_reads();
	expect_frames(&tp[0], tp[LATE].mac, tp[0].mac, 0, 3, small_len, NULL);
	expect_frames(&tp[LATE], tp[0].mac, tp[LATE].mac, 20, 3, small_len, NULL);
	free_msgs();
}

/* A forged message carrying tp[0]'s slot in the middle of its run is
 * counted against tp[0] and costs none of the others. */
static void test_forged_mid_run(void **state)
{
	struct port *p0 = switch_port(&tp[0]);
	uint64_t bad_before = p0->st.session[SESSION_BAD_AUTH];

	(void)state;
	seal(&tp[0], tp[5].mac, 0, 21, 0, small_len, NULL);
	/* A copy of message 10 with a flipped ciphertext byte. */
	proto_data_buf_free(msgs[21].buf);
	msgs[21].buf = proto_data_buf_alloc(sw.buf_size);
	assert_non_null(msgs[21].buf);
	memcpy(msgs[21].buf, msgs[10].buf, msgs[10].len);
	msgs[21].len = msgs[10].len;
	msgs[21].buf[WIRE_DATA_HEADER_LEN + 20] ^= 1;
	send_msgs(&tp[0], 0, 5);
	send_msgs(&tp[0], 21, 1);
	send_msgs(&tp[0], 5, 16);
	switch_reads();
	expect_frames(&tp[5], tp[0].mac, tp[5].mac, 0, 21, small_len, NULL);
	assert_int_equal(p0->st.session[SESSION_BAD_AUTH] - bad_before, 1);
	free_msgs();
}

/* Broadcasts to every other port: more copies in one receive than the
 * switch has pool buffers, so the pool is sent and reused mid-run. */
static void test_flood_past_the_pool(void **state)
{
	size_t copies = sw.connected_count - 1, n = TX_POOL / copies + 3;

	(void)state;
	assert_true(n * copies > TX_POOL);
	seal(&tp[0], broadcast, 0, n, 0, mixed_len, odd_partial);
	send_msgs(&tp[0], 0, n);
	switch_reads();
	for (uint32_t i = 1; i < PORTS; i++)
		expect_frames(&tp[i], tp[0].mac, broadcast, 0, n, mixed_len, odd_partial);
	expect_frames(&tp[0], tp[0].mac, broadcast, 0, 0, mixed_len, NULL);
	free_msgs();
}

/* Broadcasts in GRO datagrams while only one other port is connected: every
 * copy goes to it, more in one receive than the pool holds, so its runs of
 * sealing meet the pool's reuse. (Last: it cuts the others off.) */
static void test_flood_to_one_port(void **state)
{
	size_t n = TX_POOL + TX_POOL / 2;

	(void)state;
	for (uint32_t i = 2; i < PORTS; i++)
		port_disconnect(&sw, switch_port(&tp[i]), "cut off by the test");
	assert_int_equal(sw.connected_count, 2);
	seal(&tp[0], broadcast, 0, n, 0, fixed_len, odd_partial);
	send_gso(tp[0].fd, msgs, n);
	switch_reads();
	expect_frames(&tp[1], tp[0].mac, broadcast, 0, n, fixed_len, odd_partial);
	for (uint32_t i = 2; i < PORTS; i++)
		expect_frames(&tp[i], tp[0].mac, broadcast, 0, 0, fixed_len, NULL);
	free_msgs();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unicast_run_lengths),
		cmocka_unit_test(test_roam_mid_batch),
		cmocka_unit_test(test_interleaved_senders),
		cmocka_unit_test(test_handshake_mid_run),
		cmocka_unit_test(test_forged_mid_run),
		cmocka_unit_test(test_flood_past_the_pool),
		cmocka_unit_test(test_flood_to_one_port),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
