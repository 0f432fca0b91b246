/*
 * udptrain — send numbered UDP datagrams in bursts, and receive and check them.
 *
 *     udptrain send [-g] ADDR PORT COUNT SIZE
 *     udptrain recv ADDR PORT COUNT SIZE
 *
 * ADDR is a numeric IPv4 or IPv6 address. Datagram i is SIZE bytes (at least
 * 4): i as a 32-bit big-endian number, then bytes that depend on i and their
 * position. send sends them in bursts of BURST, 1 ms apart: one sendmmsg per
 * burst, or with -g one send of the whole burst cut by the kernel (UDP_SEGMENT),
 * as QUIC stacks send. recv binds ADDR:PORT and takes datagrams until COUNT
 * arrived or none came for 2 s (5 s for the first, which waits for the
 * sender to start), then prints "received=N bad=M" (bad: wrong length,
 * wrong bytes or a number seen twice) and exits 0.
 *
 * A test tool: it shows that datagram boundaries and contents survive the
 * path, whatever the path merged and cut on the way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define BURST 32
#define SIZE_MAX_ 1472
#define IDLE_MS 2000
#define FIRST_MS 5000

static int fail(const char *what)
{
	fprintf(stderr, "udptrain: %s: %s\n", what, strerror(errno));
	return 1;
}

static void fill(uint8_t *p, uint32_t i, size_t size)
{
	p[0] = (uint8_t)(i >> 24);
	p[1] = (uint8_t)(i >> 16);
	p[2] = (uint8_t)(i >> 8);
	p[3] = (uint8_t)i;
	for (size_t j = 4; j < size; j++)
		p[j] = (uint8_t)(i * 31 + j * 7);
}

static bool parse_addr(const char *addr, const char *port, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	int p = atoi(port);

	memset(ss, 0, sizeof(*ss));
	if (p <= 0 || p > 65535)
		return false;
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		*len = sizeof(*a4);
		return true;
	}
	if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*a6);
		return true;
	}
	return false;
}

static int do_send(int fd, bool gso, unsigned count, size_t size)
{
	static uint8_t buf[BURST * SIZE_MAX_];
	struct iovec iov[BURST];
	struct mmsghdr msgs[BURST];
	const struct timespec gap = { 0, 1000000 };
	int seg = (int)size;

	if (gso && setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)) < 0)
		return fail("UDP_SEGMENT");
	for (unsigned i = 0; i < count;) {
		unsigned n = count - i < BURST ? count - i : BURST;

		for (unsigned k = 0; k < n; k++)
			fill(buf + k * size, i + k, size);
		if (gso) {
			if (send(fd, buf, n * size, 0) != (ssize_t)(n * size))
				return fail("send");
		} else {
			for (unsigned k = 0; k < n; k++) {
				iov[k] = (struct iovec){ buf + k * size, size };
				msgs[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k],
									 .msg_iovlen = 1 } };
			}
			if (sendmmsg(fd, msgs, n, 0) != (int)n)
				return fail("sendmmsg");
		}
		i += n;
		nanosleep(&gap, NULL);
	}
	return 0;
}

static int do_recv(int fd, unsigned count, size_t size)
{
	static uint8_t buf[65536], want[SIZE_MAX_];
	uint8_t *seen = calloc(count, 1);
	unsigned received = 0, bad = 0;
	int rcvbuf = 8 << 20;

	if (!seen)
		return fail("calloc");
	/* Best effort: a bigger buffer rides out bursts. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	while (received < count) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, received > 0 ? IDLE_MS : FIRST_MS);
		ssize_t n;
		uint32_t i;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(seen);
			return fail("poll");
		}
		if (r == 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			free(seen);
			return fail("recv");
		}
		received++;
		if ((size_t)n != size) {
			bad++;
			continue;
		}
		i = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 |
		    buf[3];
		fill(want, i, size);
		if (i >= count || seen[i] || memcmp(buf, want, size) != 0) {
			bad++;
			continue;
		}
		seen[i] = 1;
	}
	printf("received=%u bad=%u\n", received, bad);
	free(seen);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool gso = false, send_mode;
	unsigned long count;
	size_t size;
	int fd, ret;

	if (argc >= 2 && strcmp(argv[1], "send") == 0 && argc >= 3 && strcmp(argv[2], "-g") == 0) {
		gso = true;
		argv[2] = argv[1]; /* drop the -g */
		argv++;
		argc--;
	}
	if (argc != 6 || (strcmp(argv[1], "send") != 0 && strcmp(argv[1], "recv") != 0)) {
		fprintf(stderr, "usage: udptrain send [-g] ADDR PORT COUNT SIZE\n"
				"       udptrain recv ADDR PORT COUNT SIZE\n");
		return 2;
	}
	send_mode = strcmp(argv[1], "send") == 0;
	count = strtoul(argv[4], NULL, 10);
	size = strtoul(argv[5], NULL, 10);
	if (!parse_addr(argv[2], argv[3], &ss, &len) || count == 0 || count > 1000000 ||
	    size < 4 || size > SIZE_MAX_) {
		fprintf(stderr, "udptrain: bad address, port, count or size\n");
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return fail("socket");
	if (send_mode) {
		if (connect(fd, (struct sockaddr *)&ss, len) < 0)
			return fail("connect");
		ret = do_send(fd, gso, (unsigned)count, size);
	} else {
		if (bind(fd, (struct sockaddr *)&ss, len) < 0)
			return fail("bind");
		ret = do_recv(fd, (unsigned)count, size);
	}
	close(fd);
	return ret;
}
