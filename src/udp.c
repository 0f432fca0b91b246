/* udp — sockets and batches. See udp.h. */
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What every lookup asks for (getaddrinfo_a keeps a pointer to it). */
static const struct addrinfo datagram_hints = { .ai_socktype = SOCK_DGRAM,
						.ai_flags = AI_NUMERICSERV };

static int gai_errno(int rc)
{
	return rc == EAI_AGAIN ? -EAGAIN : -EINVAL;
}

/* A finished lookup of host (rc, res from getaddrinfo): the first address into
 * out, res freed; or the error, as udp_resolve returns it. */
static int take_answer(int rc, struct addrinfo *res, const char *host, struct endpoint *out,
		       char *err, size_t err_len)
{
	if (rc != 0) {
		snprintf(err, err_len, "cannot resolve '%s': %s", host, gai_strerror(rc));
		return gai_errno(rc);
	}
	memset(out, 0, sizeof(*out));
	memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int udp_resolve(const char *host, uint16_t port, bool passive, struct endpoint *out, char *err,
		size_t err_len)
{
	struct addrinfo *res = NULL;
	char port_text[8];
	int rc;

	memset(out, 0, sizeof(*out));
	if (passive && host[0] == '\0') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->addr;

		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_any;
		a6->sin6_port = htons(port);
		out->len = sizeof(*a6);
		return 0;
	}
	snprintf(port_text, sizeof(port_text), "%u", port);
	rc = getaddrinfo(host, port_text, &datagram_hints, &res);
	return take_answer(rc, res, host, out, err, err_len);
}

int udp_lookup_start(struct udp_lookup *l, const char *host, uint16_t port, char *err,
		     size_t err_len)
{
	struct gaicb *list[1] = { &l->cb }; /* glibc keeps the gaicb, not the list */
	int rc;

	if (l->busy) {
		snprintf(err, err_len, "a lookup of '%s' is under way", l->cb.ar_name);
		return -EBUSY;
	}
	snprintf(l->port_text, sizeof(l->port_text), "%u", port);
	l->cb = (struct gaicb){ .ar_name = host, .ar_service = l->port_text,
				.ar_request = &datagram_hints };
	rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (rc != 0) {
		snprintf(err, err_len, "cannot look '%s' up: %s", host, gai_strerror(rc));
		return gai_errno(rc);
	}
	l->busy = true;
	return 0;
}

int udp_lookup_poll(struct udp_lookup *l, struct endpoint *out, char *err, size_t err_len)
{
	int rc;

	if (!l->busy)
		return 0;
	rc = gai_error(&l->cb);
	if (rc == EAI_INPROGRESS)
		return 0;
	l->busy = false;
	rc = take_answer(rc, l->cb.ar_result, l->cb.ar_name, out, err, err_len);
	l->cb.ar_result = NULL;
	return rc == 0 ? 1 : rc;
}

void udp_lookup_cancel(struct udp_lookup *l)
{
	if (!l->busy)
		return;
	/* One that finished meanwhile still holds its answer. */
	if (gai_cancel(&l->cb) == EAI_ALLDONE && gai_error(&l->cb) == 0)
		freeaddrinfo(l->cb.ar_result);
	l->busy = false;
}

/* Socket buffers deep enough for bursts of super-frames: the kernel's
 * default (208 KiB) overflows at a few Gbit/s, and every overflow is a lost
 * run of up to 64 frames. */
#define UDP_SOCKET_BUFFER (4 << 20)

static void set_buffer(int fd, int force_opt, int opt)
{
	int size = UDP_SOCKET_BUFFER;

	/* The forcing variant needs CAP_NET_ADMIN; otherwise take what
	 * net.core.[rw]mem_max allows. Either way smaller buffers still work. */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static int open_socket(int family, char *err, size_t err_len)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ret;

	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot open UDP socket: %s", strerror(errno));
		return ret;
	}
	set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
	return fd;
}

int udp_open(const struct endpoint *local, char *err, size_t err_len)
{
	int family = local->addr.ss_family;
	int fd = open_socket(family, err, err_len);
	char text[64];
	int off = 0, ret;

	if (fd < 0)
		return fd;
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot make UDP socket dual-stack: %s", strerror(errno));
		goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&local->addr, local->len) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot bind UDP %s: %s",
			 endpoint_format(local, text, sizeof(text)), strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return ret;
}

int udp_open_for(const struct endpoint *remote, char *err, size_t err_len)
{
	return open_socket(remote->addr.ss_family, err, err_len);
}

/* IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d. */
static bool is_v4_mapped(const struct sockaddr_in6 *a6)
{
	return IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr);
}

bool endpoint_equal(const struct endpoint *a, const struct endpoint *b)
{
	if (a->addr.ss_family != b->addr.ss_family)
		return false;
	if (a->addr.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->addr, *y = (const void *)&b->addr;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->addr, *y = (const void *)&b->addr;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0 &&
		       x->sin6_scope_id == y->sin6_scope_id;
	}
	return false;
}

uint64_t endpoint_hash(const struct endpoint *e, const uint8_t key[16], bool host_only)
{
	uint8_t in[16 + 2] = { 0 }, out[8];
	size_t len = 0;
	uint16_t port = 0;
	uint64_t h;

	if (e->addr.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&e->addr;

		memcpy(in, &a->sin_addr, 4);
		len = 4;
		port = a->sin_port;
	} else if (e->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&e->addr;

		if (is_v4_mapped(a)) {
			memcpy(in, &a->sin6_addr.s6_addr[12], 4);
			len = 4;
		} else {
			memcpy(in, &a->sin6_addr, 16);
			len = host_only ? 8 : 16;
		}
		port = a->sin6_port;
	}
	if (!host_only) {
		memcpy(in + len, &port, 2);
		len += 2;
	}
	crypto_shorthash(out, in, len, key);
	memcpy(&h, out, sizeof(h));
	return h;
}

const char *endpoint_format(const struct endpoint *e, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (e->addr.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&e->addr;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(a->sin_port));
	} else if (e->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&e->addr;

		if (is_v4_mapped(a)) {
			inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(buf, len, "%s:%u", host, ntohs(a->sin6_port));
		} else {
			inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
			snprintf(buf, len, "[%s]:%u", host, ntohs(a->sin6_port));
		}
	} else {
		snprintf(buf, len, "(none)");
	}
	return buf;
}

bool udp_enable_gro(int fd)
{
	int on = 1;

	return setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0;
}

bool udp_enable_pktinfo(int fd)
{
	struct sockaddr_storage self = { 0 };
	socklen_t len = sizeof(self);
	int on = 1;

	if (getsockname(fd, (struct sockaddr *)&self, &len) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0)
		return false;
	return self.ss_family != AF_INET6 ||
	       setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) == 0;
}

bool udp_enable_drop_count(int fd)
{
	int on = 1;

	return setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on)) == 0;
}

/* Room for what a message may carry: received, a GRO segment size, one
 * packet-info (either family) and the drop count; sent, a GSO segment size and
 * one packet-info. */
#define CMSG_SPACE_PKTINFO (CMSG_SPACE(sizeof(struct in_pktinfo)) + \
			    CMSG_SPACE(sizeof(struct in6_pktinfo)))
#define CMSG_SPACE_RX                                                                              \
	(CMSG_SPACE(sizeof(int)) + CMSG_SPACE_PKTINFO + CMSG_SPACE(sizeof(uint32_t)))
#define CMSG_SPACE_TX (CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo)))

int udp_rx_init(struct udp_rx *rx, unsigned cap, size_t buf_size, size_t headroom)
{
	memset(rx, 0, sizeof(*rx));
	if (cap == 0 || buf_size > (SIZE_MAX - headroom) / cap)
		return -ENOMEM;
	rx->cap = cap;
	rx->buf_size = buf_size;
	rx->mem = calloc(1, headroom + (size_t)cap * buf_size);
	rx->bufs = rx->mem ? rx->mem + headroom : NULL;
	rx->msgs = calloc(cap, sizeof(*rx->msgs));
	rx->iov = calloc(cap, sizeof(*rx->iov));
	rx->addrs = calloc(cap, sizeof(*rx->addrs));
	rx->cmsgs = calloc(cap, CMSG_SPACE_RX);
	rx->seg_size = calloc(cap, sizeof(*rx->seg_size));
	rx->local = calloc(cap, sizeof(*rx->local));
	if (!rx->bufs || !rx->msgs || !rx->iov || !rx->addrs || !rx->cmsgs || !rx->seg_size ||
	    !rx->local) {
		udp_rx_free(rx);
		return -ENOMEM;
	}
	return 0;
}

void udp_rx_free(struct udp_rx *rx)
{
	free(rx->mem);
	free(rx->msgs);
	free(rx->iov);
	free(rx->addrs);
	free(rx->cmsgs);
	free(rx->seg_size);
	free(rx->local);
	memset(rx, 0, sizeof(*rx));
}

/* c is a level/type control message with at least len bytes of data. */
static bool cmsg_is(const struct cmsghdr *c, int level, int type, size_t len)
{
	return c->cmsg_level == level && c->cmsg_type == type && c->cmsg_len >= CMSG_LEN(len);
}

/* The GRO segment size (or len) and the local address from a received message's
 * control data. The answer names the local address and no interface (routing
 * picks it), except for an IPv6 link-local address, which needs its link. */
static uint16_t read_cmsgs(struct udp_rx *rx, struct msghdr *mh, unsigned len,
			   struct udp_local *local)
{
	uint16_t seg = (uint16_t)len;

	local->family = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (cmsg_is(c, SOL_UDP, UDP_GRO, sizeof(int))) {
			int size;

			memcpy(&size, CMSG_DATA(c), sizeof(size));
			if (size > 0 && (unsigned)size < len)
				seg = (uint16_t)size;
		} else if (cmsg_is(c, IPPROTO_IP, IP_PKTINFO, sizeof(struct in_pktinfo))) {
			struct in_pktinfo in;

			memcpy(&in, CMSG_DATA(c), sizeof(in));
			local->family = AF_INET;
			local->info.v4 = (struct in_pktinfo){ .ipi_spec_dst = in.ipi_spec_dst };
		} else if (cmsg_is(c, IPPROTO_IPV6, IPV6_PKTINFO, sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo in;

			memcpy(&in, CMSG_DATA(c), sizeof(in));
			local->family = AF_INET6;
			local->info.v6 = (struct in6_pktinfo){ .ipi6_addr = in.ipi6_addr };
			if (IN6_IS_ADDR_LINKLOCAL(&in.ipi6_addr))
				local->info.v6.ipi6_ifindex = in.ipi6_ifindex;
		} else if (cmsg_is(c, SOL_SOCKET, SO_RXQ_OVFL, sizeof(uint32_t))) {
			uint32_t dropped;

			/* The socket's 32-bit total so far (udp_rx_new_socket
			 * restarts it): what is new since the last report. */
			memcpy(&dropped, CMSG_DATA(c), sizeof(dropped));
			rx->socket_drops += (uint32_t)(dropped - rx->socket_drops_seen);
			rx->socket_drops_seen = dropped;
		}
	}
	return seg;
}

void udp_rx_from(const struct udp_rx *rx, unsigned i, struct endpoint *out)
{
	out->len = rx->msgs[i].msg_hdr.msg_namelen;
	memcpy(&out->addr, &rx->addrs[i], sizeof(out->addr));
	out->local = rx->local[i];
}

int udp_rx_batch(int fd, struct udp_rx *rx)
{
	int n;

	for (unsigned i = 0; i < rx->cap; i++) {
		rx->iov[i].iov_base = udp_rx_buf(rx, i);
		rx->iov[i].iov_len = rx->buf_size;
		rx->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &rx->addrs[i],
			.msg_namelen = sizeof(rx->addrs[i]),
			.msg_iov = &rx->iov[i],
			.msg_iovlen = 1,
			.msg_control = rx->cmsgs + (size_t)i * CMSG_SPACE_RX,
			.msg_controllen = CMSG_SPACE_RX,
		};
	}
	do
		n = recvmmsg(fd, rx->msgs, rx->cap, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	for (int i = 0; i < n; i++)
		rx->seg_size[i] = read_cmsgs(rx, &rx->msgs[i].msg_hdr, rx->msgs[i].msg_len,
					     &rx->local[i]);
	return n;
}

int udp_tx_init(struct udp_tx *tx, unsigned cap, int fd, bool gso)
{
	int off = 0;

	memset(tx, 0, sizeof(*tx));
	tx->cap = cap;
	tx->iov = calloc(cap, sizeof(*tx->iov));
	tx->dst = calloc(cap, sizeof(*tx->dst));
	tx->has_dst = calloc(cap, sizeof(*tx->has_dst));
	tx->out = calloc(cap, sizeof(*tx->out));
	tx->out_iov = calloc(cap, sizeof(*tx->out_iov));
	tx->cmsgs = calloc(cap, CMSG_SPACE_TX);
	tx->out_first = calloc(cap, sizeof(*tx->out_first));
	tx->out_count = calloc(cap, sizeof(*tx->out_count));
	if (!tx->iov || !tx->dst || !tx->has_dst || !tx->out || !tx->out_iov || !tx->cmsgs ||
	    !tx->out_first || !tx->out_count) {
		udp_tx_free(tx);
		return -ENOMEM;
	}
	/* Setting a zero default segment size changes nothing but tells us the
	 * kernel knows UDP_SEGMENT. */
	tx->gso_ok = gso && setsockopt(fd, SOL_UDP, UDP_SEGMENT, &off, sizeof(off)) == 0;
	return 0;
}

void udp_tx_free(struct udp_tx *tx)
{
	free(tx->iov);
	free(tx->dst);
	free(tx->has_dst);
	free(tx->out);
	free(tx->out_iov);
	free(tx->cmsgs);
	free(tx->out_first);
	free(tx->out_count);
	memset(tx, 0, sizeof(*tx));
}

void udp_tx_add(struct udp_tx *tx, int fd, const uint8_t *buf, size_t len,
		const struct endpoint *dst)
{
	unsigned i;

	if (tx->count == tx->cap)
		udp_tx_flush(tx, fd);
	i = tx->count++;
	tx->iov[i].iov_base = (void *)buf;
	tx->iov[i].iov_len = len;
	tx->has_dst[i] = dst != NULL;
	if (dst)
		tx->dst[i] = *dst;
}

static bool local_equal(const struct udp_local *a, const struct udp_local *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->info.v4.ipi_spec_dst.s_addr == b->info.v4.ipi_spec_dst.s_addr;
	if (a->family == AF_INET6)
		return memcmp(&a->info.v6.ipi6_addr, &b->info.v6.ipi6_addr, 16) == 0 &&
		       a->info.v6.ipi6_ifindex == b->info.v6.ipi6_ifindex;
	return true;
}

/* True if entry j can join the GSO run that starts at entry i and ends at j-1. */
static bool joins_run(const struct udp_tx *tx, unsigned i, unsigned j)
{
	const struct iovec *first = &tx->iov[i], *prev = &tx->iov[j - 1], *cur = &tx->iov[j];
	size_t run_len = (size_t)((const uint8_t *)prev->iov_base - (const uint8_t *)first->iov_base) +
			 prev->iov_len;

	return j - i < UDP_MAX_SEGMENTS && prev->iov_len == first->iov_len &&
	       cur->iov_len <= first->iov_len &&
	       (const uint8_t *)cur->iov_base == (const uint8_t *)prev->iov_base + prev->iov_len &&
	       run_len + cur->iov_len <= UDP_SUPER_MAX - 8 - 40 && tx->has_dst[i] == tx->has_dst[j] &&
	       (!tx->has_dst[i] || (endpoint_equal(&tx->dst[i], &tx->dst[j]) &&
				    local_equal(&tx->dst[i].local, &tx->dst[j].local)));
}

/* One control message at at; returns the room it takes. */
static size_t put_cmsg(uint8_t *at, int level, int type, const void *data, size_t len)
{
	struct cmsghdr c = { .cmsg_len = CMSG_LEN(len), .cmsg_level = level, .cmsg_type = type };

	memset(at, 0, CMSG_SPACE(len));
	memcpy(at, &c, sizeof(c));
	memcpy(at + CMSG_LEN(0), data, len);
	return CMSG_SPACE(len);
}

/* The packet-info message that makes a datagram to dst leave from the local
 * address dst reached us at, if known; returns its room (0 if none). IP_PKTINFO
 * also on a dual-stack socket to an IPv4 peer. */
static size_t put_local(uint8_t *at, const struct endpoint *dst)
{
	const struct udp_local *local = &dst->local;

	if (local->family == AF_INET)
		return put_cmsg(at, IPPROTO_IP, IP_PKTINFO, &local->info.v4, sizeof(local->info.v4));
	if (local->family == AF_INET6)
		return put_cmsg(at, IPPROTO_IPV6, IPV6_PKTINFO, &local->info.v6,
				sizeof(local->info.v6));
	return 0;
}

static void build_out(struct udp_tx *tx, unsigned m, unsigned first, unsigned count)
{
	struct msghdr *mh = &tx->out[m].msg_hdr;
	uint8_t *ctl = tx->cmsgs + (size_t)m * CMSG_SPACE_TX;
	size_t total = 0, ctl_len = 0;

	for (unsigned k = first; k < first + count; k++)
		total += tx->iov[k].iov_len;
	tx->out_iov[m] = (struct iovec){ .iov_base = tx->iov[first].iov_base, .iov_len = total };
	*mh = (struct msghdr){ .msg_iov = &tx->out_iov[m], .msg_iovlen = 1 };
	if (count > 1) {
		uint16_t seg = (uint16_t)tx->iov[first].iov_len;

		ctl_len += put_cmsg(ctl, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg));
		tx->gso_sends++;
	}
	if (tx->has_dst[first]) {
		mh->msg_name = &tx->dst[first].addr;
		mh->msg_namelen = tx->dst[first].len;
		ctl_len += put_local(ctl + ctl_len, &tx->dst[first]);
	}
	if (ctl_len > 0) {
		mh->msg_control = ctl;
		mh->msg_controllen = ctl_len;
	}
	tx->out_first[m] = first;
	tx->out_count[m] = count;
}

/* Out message m's datagrams one at a time (a GSO send the kernel refused), each
 * from the local address the message would have left from. */
static void send_singly(struct udp_tx *tx, int fd, unsigned m)
{
	unsigned first = tx->out_first[m];
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct msghdr mh = { .msg_name = tx->out[m].msg_hdr.msg_name,
			     .msg_namelen = tx->out[m].msg_hdr.msg_namelen,
			     .msg_iovlen = 1 };
	size_t ctl_len = tx->has_dst[first] ? put_local(ctl.buf, &tx->dst[first]) : 0;

	if (ctl_len > 0) {
		mh.msg_control = ctl.buf;
		mh.msg_controllen = ctl_len;
	}
	for (unsigned k = first; k < first + tx->out_count[m]; k++) {
		mh.msg_iov = &tx->iov[k];
		if (sendmsg(fd, &mh, 0) < 0)
			tx->errors++;
	}
}

/* Send out messages [0, n); a message the kernel refuses is dropped and counted.
 * A GSO one is retried datagram by datagram: the path may not allow it (its
 * MTU below a segment, which Linux 6.13 and later report as EMSGSIZE, earlier
 * ones as EINVAL; sent alone, such a datagram is fragmented). A full send
 * buffer drops what is left: every further call would fail the same way. */
static void send_out(struct udp_tx *tx, int fd, unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		int sent = sendmmsg(fd, tx->out + done, n - done, 0);

		if (sent < 0 && errno == EINTR)
			continue;
		if (sent > 0) {
			done += (unsigned)sent;
			continue;
		}
		if (errno == EAGAIN || errno == ENOBUFS) {
			for (; done < n; done++)
				tx->errors += tx->out_count[done];
			break;
		}
		if (tx->out_count[done] > 1 &&
		    (errno == EMSGSIZE || errno == EINVAL || errno == EIO)) {
			/* GSO stays on: the refusal may concern this path only (its
			 * MTU, a tunnel), not the next destination. */
			tx->gso_fallbacks++;
			send_singly(tx, fd, done);
		} else {
			tx->errors += tx->out_count[done];
		}
		done++;
	}
}

void udp_tx_flush(struct udp_tx *tx, int fd)
{
	unsigned m = 0, i = 0;

	if (tx->before_send)
		tx->before_send();
	while (i < tx->count) {
		unsigned j = i + 1;

		while (tx->gso_ok && j < tx->count && joins_run(tx, i, j))
			j++;
		build_out(tx, m++, i, j - i);
		i = j;
	}
	send_out(tx, fd, m);
	tx->count = 0;
}
