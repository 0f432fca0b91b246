/*
 * tcpsend IPV6-ADDR PORT < FILE — connect over IPv6 with a hop-by-hop options
 * header on every packet (IPV6_HOPOPTS: one PadN option), send FILE (a regular
 * file on standard input, with sendfile) and close. Applications set such
 * headers (CALIPSO labels, for one), and the kernel keeps them on each segment
 * of its TCP super-frames; the integration tests send a file with it to
 * tcpsink and compare both ends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "tcpsend: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	/* Next header (the kernel fills it), length 0 (8 bytes), PadN of 4. */
	static const unsigned char hop_opts[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	int fd, port = argc == 3 ? atoi(argv[2]) : 0;

	if (argc != 3 || inet_pton(AF_INET6, argv[1], &a.sin6_addr) != 1 || port <= 0 ||
	    port > 65535) {
		fprintf(stderr, "usage: tcpsend IPV6-ADDR PORT < FILE\n");
		return 2;
	}
	a.sin6_port = htons((uint16_t)port);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket");
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_HOPOPTS, hop_opts, sizeof(hop_opts)) < 0)
		return fail("IPV6_HOPOPTS");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return fail("connect");
	for (;;) {
		ssize_t n = sendfile(fd, STDIN_FILENO, NULL, 1 << 20);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("sendfile");
		if (n == 0)
			break;
	}
	if (close(fd) < 0)
		return fail("close");
	return 0;
}
