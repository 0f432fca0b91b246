/*
 * control — the UNIX control socket: a client connects, writes one request
 * line ("show"), reads the answer until the daemon closes. I/O.
 * The socket is created mode 0600 in a directory the daemon creates 0755:
 * only root (or the daemon's user) may ask.
 */
#ifndef VSWITCH_CONTROL_H
#define VSWITCH_CONTROL_H

#include <stddef.h>
#include <stdio.h>

#define CONTROL_DIR "/run/vswitch"
#define CONTROL_REQUEST_MAX 256

/* Bind and listen on path. Refuses if a daemon already answers there; removes a
 * stale socket otherwise. Returns the descriptor or a negative errno with a
 * reason in err. */
int control_listen(const char *path, char *err, size_t err_len);
/* Remove the socket file (at exit). */
void control_close(int fd, const char *path);

/* Write the answer to request on out; return 0, or -EINVAL for an unknown
 * request (the client is told "error: unknown request"). */
typedef int (*control_handler)(const char *request, FILE *out, void *arg);

/* Accept one client, read its request line, answer it, close. Never fatal:
 * errors are returned as a negative errno for the caller to count. */
int control_serve(int listen_fd, control_handler fn, void *arg);

/* Client side: send request to the daemon at path and copy the answer to out.
 * Returns 0 or a negative errno with a reason in err. */
int control_query(const char *path, const char *request, FILE *out, char *err, size_t err_len);

/* Parse a request line: the bytes up to the first newline, printable ASCII
 * only. Pure. Returns 0 and the NUL-terminated request in req, or -EINVAL. */
int control_parse_request(const char *buf, size_t len, char req[CONTROL_REQUEST_MAX]);

#endif
