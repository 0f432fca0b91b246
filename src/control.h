/*
 * control — the UNIX control socket: a client connects, writes one request
 * line ("show"), reads the answer until the daemon closes. I/O.
 * The socket is created mode 0600 in a directory the daemon creates 0755:
 * only root (or the daemon's user) may ask.
 *
 * Clients are served without ever blocking the daemon, whose data path runs
 * in the same loop: descriptors are non-blocking, a request is read and an
 * answer sent as the client allows, up to CONTROL_MAX_CLIENTS at once; a
 * client is dropped if it has not sent its request CONTROL_CLIENT_TIMEOUT_MS
 * after connecting, or then takes nothing of its answer for as long.
 * (A client that never sent its request, or `vswitch show | less` holding
 * a big answer, used to stop forwarding for up to a second.)
 */
#ifndef VSWITCH_CONTROL_H
#define VSWITCH_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONTROL_DIR "/run/vswitch"
#define CONTROL_REQUEST_MAX 256

#define CONTROL_MAX_CLIENTS 4
#define CONTROL_CLIENT_TIMEOUT_MS 5000

/* A long answer in pieces, so that no piece keeps the loop long: next writes
 * the next piece to out and returns true while more is to come. It is called
 * each time the client has taken the piece before; pos is its own. */
struct control_more {
	bool (*next)(FILE *out, void *arg, uint32_t *pos);
	uint32_t pos;
};

/* Write the answer to request on out (setting more->next if the rest comes in
 * pieces); return 0, or -EINVAL for an unknown request (the client is told
 * "error: unknown request"). */
typedef int (*control_handler)(const char *request, FILE *out, void *arg,
			       struct control_more *more);

struct control_client {
	int fd; /* -1: a free slot */
	uint64_t deadline_ms;
	size_t req_len;
	char req[CONTROL_REQUEST_MAX];
	char *answer; /* NULL until the request is complete */
	size_t answer_len, sent;
	struct control_more more;
};

struct control {
	bool is_open; /* false in a zeroed struct: control_close does nothing */
	int listen_fd, epfd; /* the daemon's loop watches epfd */
	control_handler fn;
	void *arg;
	struct control_client clients[CONTROL_MAX_CLIENTS];
};

/* Bind and listen on path. Refuses if a daemon already answers there; removes a
 * stale socket otherwise. Returns 0 or a negative errno with a reason in err;
 * on failure nothing is left open. */
int control_open(struct control *c, const char *path, control_handler fn, void *arg, char *err,
		 size_t err_len);
/* Close every client and the socket, and remove the socket file (at exit). */
void control_close(struct control *c, const char *path);

/* Do whatever the clients allow without blocking: accept, read requests,
 * answer, send; drop clients past their deadline. Call when c->epfd is
 * readable and on every tick. Never fatal: returns how many clients were
 * dropped for errors or time (for the caller to count). */
unsigned control_serve(struct control *c, uint64_t now_ms);

/* Client side: send request to the daemon at path and copy the answer to out.
 * Returns 0 or a negative errno with a reason in err: -EPROTO when the daemon
 * refused ("error: ..."; nothing is written to out), -ETIMEDOUT when it sent
 * nothing for CONTROL_QUERY_TIMEOUT_S (a stopped or stuck daemon). */
#define CONTROL_QUERY_TIMEOUT_S 5
int control_query(const char *path, const char *request, FILE *out, char *err, size_t err_len);

/* Parse a request line: the bytes up to the first newline, printable ASCII
 * only. Pure. Returns 0 and the NUL-terminated request in req, or -EINVAL. */
int control_parse_request(const char *buf, size_t len, char req[CONTROL_REQUEST_MAX]);

#endif
