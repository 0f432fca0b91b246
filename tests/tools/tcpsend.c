/*
 * tcpsend IPV6-ADDR PORT [BYTES] < FILE — connect over IPv6 with a hop-by-hop
 * options header of BYTES (a multiple of 8 from 8 to 2048; 8 if not given) on
 * every packet (IPV6_HOPOPTS), send FILE (a regular file on standard input,
 * with sendfile) and close. Applications set such headers (CALIPSO labels, for
 * one, of up to 264 bytes), and the kernel keeps them on each segment of its
 * TCP super-frames; the integration tests send a file with it to tcpsink and
 * compare both ends.
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
	static unsigned char hop_opts[2048];
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	int fd, port = argc >= 3 ? atoi(argv[2]) : 0;
	long len = argc == 4 ? atol(argv[3]) : 8, at = 2;

	if (argc < 3 || argc > 4 || inet_pton(AF_INET6, argv[1], &a.sin6_addr) != 1 || port <= 0 ||
	    port > 65535 || len < 8 || len > (long)sizeof(hop_opts) || len % 8 != 0) {
		fprintf(stderr, "usage: tcpsend IPV6-ADDR PORT [BYTES] < FILE\n");
		return 2;
	}
	/* Next header (the kernel fills it), length in 8-byte units after the
	 * first, then options: experimental ones (type 0x1e, RFC 4727, which
	 * receivers skip) of up to 255 bytes, and padding of no more than 7
	 * (Linux drops packets with more, RFC 4942 section 2.1.9.5). */
	hop_opts[1] = (unsigned char)(len / 8 - 1);
	while (len - at > 7) {
		long data = len - at - 2 > 255 ? 255 : len - at - 2;

		hop_opts[at] = 0x1e;
		hop_opts[at + 1] = (unsigned char)data;
		at += 2 + data;
	}
	if (len - at >= 2) {
		hop_opts[at] = 1; /* PadN */
		hop_opts[at + 1] = (unsigned char)(len - at - 2);
	} /* one byte left: its zero is Pad1 */
	a.sin6_port = htons((uint16_t)port);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket");
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_HOPOPTS, hop_opts, (socklen_t)len) < 0)
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
