/*
 * tcpsink ADDR PORT — accept one TCP connection on ADDR:PORT (IPv4 or IPv6),
 * read until the peer closes, print "bytes=N b2sum=HEX" (BLAKE2b-512, as
 * coreutils' b2sum prints it) and exit. The integration tests send a file
 * through the virtual LAN with bash's /dev/tcp and compare both ends, which
 * proves that segmentation, encryption and coalescing deliver every byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "tcpsink: %s: %s\n", what, strerror(errno));
	return 1;
}

static int listen_on(const char *addr, int port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int on = 1, fd;

	if (inet_pton(AF_INET, addr, &a4.sin_addr) == 1) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
		    bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0)
			return -1;
	} else if (inet_pton(AF_INET6, addr, &a6.sin6_addr) == 1) {
		fd = socket(AF_INET6, SOCK_STREAM, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
		    bind(fd, (struct sockaddr *)&a6, sizeof(a6)) < 0)
			return -1;
	} else {
		errno = EINVAL;
		return -1;
	}
	return listen(fd, 1) < 0 ? -1 : fd;
}

int main(int argc, char **argv)
{
	static unsigned char buf[1 << 16];
	unsigned char hash[crypto_generichash_BYTES_MAX];
	crypto_generichash_state st;
	unsigned long long total = 0;
	int lfd, fd;

	if (argc != 3) {
		fprintf(stderr, "usage: tcpsink ADDR PORT\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	lfd = listen_on(argv[1], atoi(argv[2]));
	if (lfd < 0)
		return fail("listen");
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return fail("accept");
	crypto_generichash_init(&st, NULL, 0, sizeof(hash));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("read");
		if (n == 0)
			break;
		crypto_generichash_update(&st, buf, (size_t)n);
		total += (unsigned long long)n;
	}
	crypto_generichash_final(&st, hash, sizeof(hash));
	printf("bytes=%llu b2sum=", total);
	for (size_t i = 0; i < sizeof(hash); i++)
		printf("%02x", hash[i]);
	printf("\n");
	close(fd);
	close(lfd);
	return 0;
}
