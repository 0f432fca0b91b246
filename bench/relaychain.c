/*
 * relaychain — what user-space hops alone cost in round-trip time on this
 * machine: a client sends a 100-byte UDP datagram over loopback through a
 * chain of 0, 1 and 2 relay processes to an echo process and waits for it to
 * come back, ROUNDS times, INTERVAL_US apart (the bench's ping interval).
 * Each relay only receives and sends, as a plain epoll loop: no cipher, no
 * TAP, no table. With 2 relays a round trip wakes six processes, as a ping
 * through vswitch does (port, switch, port, switch, port, ping), so that row
 * is the floor under vswitch's RTT for any design that relays in user space.
 * `make bench` prints it next to the table.
 *
 * usage: relaychain [ROUNDS [INTERVAL_US]]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RELAYS 2
#define PAYLOAD 100

static void die(const char *what)
{
	fprintf(stderr, "relaychain: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A UDP socket bound to 127.0.0.1 on a port the kernel picks; its address in *a. */
static int bound_socket(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	*a = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof(*a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)a, &len) < 0)
		die("socket on 127.0.0.1");
	return fd;
}

static int epoll_on(int fd_a, int fd_b)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd_a };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd_a, &e) < 0)
		die("epoll");
	e.data.fd = fd_b;
	if (fd_b >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd_b, &e) < 0)
		die("epoll");
	return ep;
}

/* Send back whatever arrives on fd. Runs until killed. */
static void echo(int fd)
{
	int ep = epoll_on(fd, -1);
	uint8_t buf[2048];

	for (;;) {
		struct epoll_event e;
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n;

		if (epoll_wait(ep, &e, 1, -1) < 0 && errno != EINTR)
			die("epoll_wait");
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &len);
		if (n > 0 && sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len) < 0)
			die("sendto");
	}
}

/* Forward what comes in on down to next (through up), and what comes back on
 * up to whoever last sent on down. Runs until killed. */
static void relay(int down, const struct sockaddr_in *next)
{
	struct sockaddr_in back = { 0 }, self;
	socklen_t back_len = sizeof(back);
	int up = bound_socket(&self), ep;
	uint8_t buf[2048];

	if (connect(up, (const struct sockaddr *)next, sizeof(*next)) < 0)
		die("connect");
	ep = epoll_on(down, up);
	for (;;) {
		struct epoll_event e;
		ssize_t n;

		if (epoll_wait(ep, &e, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		if (e.data.fd == down) {
			back_len = sizeof(back);
			n = recvfrom(down, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&back,
				     &back_len);
			if (n > 0 && send(up, buf, (size_t)n, 0) < 0)
				die("send");
		} else {
			n = recv(up, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0 && sendto(down, buf, (size_t)n, 0, (struct sockaddr *)&back,
					    back_len) < 0)
				die("sendto");
		}
	}
}

static pid_t spawn(void (*fn)(int, const struct sockaddr_in *), int fd,
		   const struct sockaddr_in *next)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		fn(fd, next);
		_exit(0);
	}
	close(fd);
	return pid;
}

static void echo_entry(int fd, const struct sockaddr_in *unused)
{
	(void)unused;
	echo(fd);
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Round trips through `relays` relays to an echo: average and 99th percentile, µs. */
static void chain(int relays, int rounds, long interval_us)
{
	struct sockaddr_in addr, self;
	pid_t pids[MAX_RELAYS + 1];
	double *rtt = calloc((size_t)rounds, sizeof(*rtt)), sum = 0;
	uint8_t buf[2048] = { 0 };
	const struct timespec gap = { .tv_sec = interval_us / 1000000,
				      .tv_nsec = interval_us % 1000000 * 1000 };
	int fd, np = 0;

	if (!rtt)
		die("calloc");
	fd = bound_socket(&addr);
	pids[np++] = spawn(echo_entry, fd, NULL);
	for (int r = 0; r < relays; r++) {
		struct sockaddr_in next = addr;

		fd = bound_socket(&addr);
		pids[np++] = spawn(relay, fd, &next);
	}
	fd = bound_socket(&self);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("connect");
	for (int i = -10; i < rounds; i++) { /* 10 to warm up, not counted */
		double t0 = now_us();

		if (send(fd, buf, PAYLOAD, 0) != PAYLOAD || recv(fd, buf, sizeof(buf), 0) < 0)
			die("round trip");
		if (i >= 0)
			sum += rtt[i] = now_us() - t0;
		nanosleep(&gap, NULL);
	}
	qsort(rtt, (size_t)rounds, sizeof(*rtt), by_value);
	printf("%6d %8d %10.1f %10.1f\n", relays, 2 + 2 * relays, sum / rounds,
	       rtt[(rounds * 99 + 99) / 100 - 1]);
	for (int i = 0; i < np; i++)
		if (kill(pids[i], SIGTERM) < 0 || waitpid(pids[i], NULL, 0) < 0)
			die("stopping a relay");
	close(fd);
	free(rtt);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 300;
	long interval_us = argc > 2 ? atol(argv[2]) : 10000;

	if (rounds < 1 || rounds > 1000000 || interval_us < 0 || interval_us > 10000000) {
		fprintf(stderr, "usage: relaychain [ROUNDS (1-1000000) [INTERVAL_US (0-10000000)]]\n");
		return 1;
	}
	printf("relays  wakeups   avg (us)   p99 (us)\n");
	for (int relays = 0; relays <= MAX_RELAYS; relays++)
		chain(relays, rounds, interval_us);
	return 0;
}
