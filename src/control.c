/* control — the UNIX control socket. See control.h. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* A client gets this long to send its request and take the answer. */
#define CONTROL_TIMEOUT_MS 1000

static int make_addr(const char *path, struct sockaddr_un *sun, char *err, size_t err_len)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		snprintf(err, err_len, "control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

static int ensure_parent_dir(const char *path, char *err, size_t err_len)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		int ret = -errno;

		snprintf(err, err_len, "cannot create directory %s: %s", dir, strerror(errno));
		return ret;
	}
	return 0;
}

/* True if something accepts connections at path: another daemon runs there. */
static bool socket_is_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

/* Out of descriptors, the pending connection would keep the listening socket
 * readable and the event loop spinning: give back a descriptor kept for this,
 * accept and close the client, and keep the descriptor again. */
static int spare = -1; /* opened by control_listen, for turn_away */

static int turn_away(int listen_fd)
{
	int fd;

	if (spare >= 0) {
		close(spare);
		spare = -1;
	}
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return -EMFILE;
}

/* Remove a socket left by a daemon that died; refuse to remove anything else
 * (a mistyped --control must not delete a file). */
static int remove_stale(const char *path, char *err, size_t err_len)
{
	struct stat st;
	int ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, err_len, "%s exists and is not a socket; not replacing it", path);
		return -EEXIST;
	}
	if (unlink(path) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot remove stale %s: %s", path, strerror(errno));
		return ret;
	}
	return 0;
}

int control_listen(const char *path, char *err, size_t err_len)
{
	struct sockaddr_un sun;
	mode_t old_mask;
	int fd, ret;

	ret = make_addr(path, &sun, err, err_len);
	if (ret < 0)
		return ret;
	ret = ensure_parent_dir(path, err, err_len);
	if (ret < 0)
		return ret;
	if (socket_is_live(&sun)) {
		snprintf(err, err_len, "a daemon already answers on %s", path);
		return -EADDRINUSE;
	}
	ret = remove_stale(path, err, err_len);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot open control socket: %s", strerror(errno));
		return ret;
	}
	if (spare < 0)
		spare = open("/dev/null", O_RDONLY | O_CLOEXEC); /* best effort */
	old_mask = umask(0077);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (ret < 0 || listen(fd, 8) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

void control_close(int fd, const char *path)
{
	if (fd < 0)
		return;
	close(fd);
	unlink(path);
}

int control_parse_request(const char *buf, size_t len, char req[CONTROL_REQUEST_MAX])
{
	const char *nl = memchr(buf, '\n', len);
	size_t n = nl ? (size_t)(nl - buf) : len;

	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0 || n >= CONTROL_REQUEST_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return -EINVAL;
	memcpy(req, buf, n);
	req[n] = '\0';
	return 0;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = CONTROL_TIMEOUT_MS * 1000 };

	/* Best effort: without them a stuck client only delays us longer. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_request(int fd, char req[CONTROL_REQUEST_MAX])
{
	char buf[CONTROL_REQUEST_MAX] = { 0 };
	size_t len = 0;

	while (len < sizeof(buf) && !memchr(buf, '\n', len)) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return control_parse_request(buf, len, req);
}

int control_serve(int listen_fd, control_handler fn, void *arg)
{
	char req[CONTROL_REQUEST_MAX];
	char *answer = NULL;
	size_t answer_len = 0;
	FILE *out;
	int fd, ret;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE))
		return turn_away(listen_fd);
	if (fd < 0)
		return errno == EAGAIN ? 0 : -errno;
	set_timeouts(fd);
	out = open_memstream(&answer, &answer_len);
	if (!out) {
		ret = -errno;
		goto out_close;
	}
	ret = read_request(fd, req);
	if (ret == 0)
		ret = fn(req, out, arg);
	if (ret < 0)
		fprintf(out, "error: %s\n", ret == -EINVAL ? "unknown request" : strerror(-ret));
	if (fclose(out) != 0) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = write_all(fd, answer, answer_len);
out_free:
	free(answer);
out_close:
	close(fd);
	return ret;
}

int control_query(const char *path, const char *request, FILE *out, char *err, size_t err_len)
{
	struct sockaddr_un sun;
	char buf[4096];
	int fd, ret;

	ret = make_addr(path, &sun, err, err_len);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot open socket: %s", strerror(errno));
		return ret;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot connect to %s: %s (is the daemon running?)", path,
			 strerror(errno));
		goto out;
	}
	snprintf(buf, sizeof(buf), "%s\n", request);
	ret = write_all(fd, buf, strlen(buf));
	while (ret == 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n)
			ret = -EIO;
	}
	if (ret < 0)
		snprintf(err, err_len, "cannot talk to %s: %s", path, strerror(-ret));
out:
	close(fd);
	return ret;
}
