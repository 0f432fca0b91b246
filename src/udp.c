/* udp — sockets and batches. See udp.h. */
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int udp_resolve(const char *host, uint16_t port, bool passive, struct endpoint *out, char *err,
		size_t err_len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
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
	rc = getaddrinfo(host, port_text, &hints, &res);
	if (rc != 0) {
		snprintf(err, err_len, "cannot resolve '%s': %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
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

int udp_rx_init(struct udp_rx *rx, unsigned cap, size_t buf_size)
{
	memset(rx, 0, sizeof(*rx));
	rx->cap = cap;
	rx->buf_size = buf_size;
	rx->bufs = calloc(cap, buf_size);
	rx->msgs = calloc(cap, sizeof(*rx->msgs));
	rx->iov = calloc(cap, sizeof(*rx->iov));
	rx->addrs = calloc(cap, sizeof(*rx->addrs));
	if (!rx->bufs || !rx->msgs || !rx->iov || !rx->addrs) {
		udp_rx_free(rx);
		return -ENOMEM;
	}
	return 0;
}

void udp_rx_free(struct udp_rx *rx)
{
	free(rx->bufs);
	free(rx->msgs);
	free(rx->iov);
	free(rx->addrs);
	memset(rx, 0, sizeof(*rx));
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
		};
	}
	do
		n = recvmmsg(fd, rx->msgs, rx->cap, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	return n;
}

int udp_tx_init(struct udp_tx *tx, unsigned cap)
{
	memset(tx, 0, sizeof(*tx));
	tx->cap = cap;
	tx->msgs = calloc(cap, sizeof(*tx->msgs));
	tx->iov = calloc(cap, sizeof(*tx->iov));
	tx->dst = calloc(cap, sizeof(*tx->dst));
	if (!tx->msgs || !tx->iov || !tx->dst) {
		udp_tx_free(tx);
		return -ENOMEM;
	}
	return 0;
}

void udp_tx_free(struct udp_tx *tx)
{
	free(tx->msgs);
	free(tx->iov);
	free(tx->dst);
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
	tx->msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &tx->iov[i], .msg_iovlen = 1 };
	if (dst) {
		tx->dst[i] = *dst;
		tx->msgs[i].msg_hdr.msg_name = &tx->dst[i].addr;
		tx->msgs[i].msg_hdr.msg_namelen = tx->dst[i].len;
	}
}

void udp_tx_flush(struct udp_tx *tx, int fd)
{
	unsigned done = 0;

	while (done < tx->count) {
		int n = sendmmsg(fd, tx->msgs + done, tx->count - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* The first datagram failed (unreachable, buffer full, refused by a
			 * dead peer): skip it and count it, as a router drops a packet. */
			tx->errors++;
			done++;
			continue;
		}
		done += (unsigned)n;
	}
	tx->count = 0;
}
