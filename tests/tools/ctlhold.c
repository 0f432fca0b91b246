/*
 * ctlhold — a control-socket client that misbehaves on purpose: it connects
 * to PATH, optionally sends REQUEST (a line), prints "connected", then holds
 * the connection for SECONDS without reading, and exits 0. Tests use it to
 * check that a daemon keeps forwarding while a client stalls, and wait for
 * the line to know the connection is made.
 *
 * usage: ctlhold PATH SECONDS [REQUEST]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timespec hold = { 0 };
	char line[300];
	int fd;

	if (argc < 3 || argc > 4 || strlen(argv[1]) >= sizeof(sun.sun_path) ||
	    (hold.tv_sec = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: ctlhold PATH SECONDS [REQUEST]\n");
		return 2;
	}
	memcpy(sun.sun_path, argv[1], strlen(argv[1]) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "ctlhold: cannot connect to %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (argc == 4) {
		int n = snprintf(line, sizeof(line), "%s\n", argv[3]);

		if (n < 0 || (size_t)n >= sizeof(line) || send(fd, line, (size_t)n, 0) != n) {
			fprintf(stderr, "ctlhold: cannot send the request: %s\n", strerror(errno));
			return 1;
		}
	}
	if (printf("connected\n") < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "ctlhold: cannot write to standard output\n");
		return 1;
	}
	while (nanosleep(&hold, &hold) < 0 && errno == EINTR)
		;
	close(fd);
	return 0;
}
