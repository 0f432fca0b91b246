/* control — the UNIX control socket. See control.h. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* How a daemon's answer starts when it refuses a request. */
#define ERROR_PREFIX "error: "

/* epoll data for the listening socket; clients are their slot numbers. */
#define LISTENER UINT32_MAX

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
static int spare = -1; /* opened by listen_on, for turn_away */

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

static int listen_on(const char *path, char *err, size_t err_len)
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

static void drop(struct control_client *cl)
{
	close(cl->fd); /* also takes it out of the control's epoll set */
	free(cl->answer);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

int control_open(struct control *c, const char *path, control_handler fn, void *arg, char *err,
		 size_t err_len)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = LISTENER };
	int ret;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	c->fn = fn;
	c->arg = arg;
	c->listen_fd = listen_on(path, err, err_len);
	if (c->listen_fd < 0)
		return c->listen_fd;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->listen_fd, &ev) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot watch the control socket: %s", strerror(errno));
		if (c->epfd >= 0)
			close(c->epfd);
		close(c->listen_fd);
		unlink(path);
		return ret;
	}
	c->is_open = true;
	return 0;
}

void control_close(struct control *c, const char *path)
{
	if (!c->is_open)
		return;
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			drop(&c->clients[i]);
	close(c->epfd);
	close(c->listen_fd);
	unlink(path);
	c->is_open = false;
}

/* Best effort, never waiting: tell the client, and read what it sent so the
 * close does not reset the connection before it reads the answer. */
static void turn_busy(int fd)
{
	static const char busy[] = ERROR_PREFIX "busy, try again\n";
	char req[CONTROL_REQUEST_MAX];

	(void)recv(fd, req, sizeof(req), MSG_DONTWAIT);
	(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void accept_clients(struct control *c, uint64_t now_ms)
{
	for (;;) {
		struct control_client *cl = NULL;
		struct epoll_event ev = { .events = EPOLLIN };
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				turn_away(c->listen_fd);
			return; /* EAGAIN: no more; anything else: try at the next event */
		}
		for (size_t i = 0; i < CONTROL_MAX_CLIENTS && !cl; i++)
			if (c->clients[i].fd < 0)
				cl = &c->clients[i];
		ev.data.u32 = cl ? (uint32_t)(cl - c->clients) : 0;
		if (!cl || epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			turn_busy(fd);
			continue;
		}
		cl->fd = fd;
		cl->deadline_ms = now_ms + CONTROL_CLIENT_TIMEOUT_MS;
	}
}

/* Build the whole answer; it is sent as the client reads. */
static int answer(struct control *c, struct control_client *cl)
{
	char req[CONTROL_REQUEST_MAX];
	FILE *out = open_memstream(&cl->answer, &cl->answer_len);
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)(cl - c->clients) };
	int ret;

	if (!out)
		return -errno;
	ret = control_parse_request(cl->req, cl->req_len, req);
	if (ret == 0)
		ret = c->fn(req, out, c->arg, &cl->more);
	if (ret < 0)
		fprintf(out, ERROR_PREFIX "%s\n", ret == -EINVAL ? "unknown request" : strerror(-ret));
	if (fclose(out) != 0)
		return -ENOMEM;
	return epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev) < 0 ? -errno : 0;
}

/* Read what the client sent; answer once the line (or the stream) ends.
 * Returns 0 to go on, 1 when the client is done, or a negative errno. */
static int take_request(struct control *c, struct control_client *cl)
{
	ssize_t n = recv(cl->fd, cl->req + cl->req_len, sizeof(cl->req) - cl->req_len, 0);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0 && cl->req_len == 0)
		return 1; /* gone without asking: nothing to answer */
	cl->req_len += (size_t)n;
	if (n > 0 && !memchr(cl->req, '\n', cl->req_len) && cl->req_len < sizeof(cl->req))
		return 0;
	return answer(c, cl);
}

/* Send what the socket takes; a client that takes some gets more time.
 * Returns 1 when all is sent. */
static int send_answer(struct control_client *cl, uint64_t now_ms)
{
	ssize_t n = send(cl->fd, cl->answer + cl->sent, cl->answer_len - cl->sent,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	cl->sent += (size_t)n;
	cl->deadline_ms = now_ms + CONTROL_CLIENT_TIMEOUT_MS;
	return cl->sent == cl->answer_len;
}

/* The piece before is sent: make the next. */
static int refill(struct control *c, struct control_client *cl)
{
	FILE *out;
	bool is_more;

	free(cl->answer);
	cl->answer = NULL;
	cl->answer_len = cl->sent = 0;
	out = open_memstream(&cl->answer, &cl->answer_len);
	if (!out)
		return -errno;
	is_more = cl->more.next(out, c->arg, &cl->more.pos);
	if (fclose(out) != 0)
		return -ENOMEM;
	if (!is_more)
		cl->more.next = NULL;
	return 0;
}

unsigned control_serve(struct control *c, uint64_t now_ms)
{
	struct epoll_event events[CONTROL_MAX_CLIENTS + 1];
	unsigned dropped = 0;
	int n;

	if (!c->is_open)
		return 0;
	n = epoll_wait(c->epfd, events, CONTROL_MAX_CLIENTS + 1, 0);
	for (int i = 0; i < n; i++) {
		struct control_client *cl;
		int ret;

		if (events[i].data.u32 == LISTENER) {
			accept_clients(c, now_ms);
			continue;
		}
		cl = &c->clients[events[i].data.u32 % CONTROL_MAX_CLIENTS];
		if (cl->fd < 0)
			continue;
		ret = cl->answer ? 0 : take_request(c, cl);
		if (ret == 0 && cl->answer)
			ret = send_answer(cl, now_ms);
		if (ret == 1 && cl->more.next)
			ret = refill(c, cl); /* sent at the next call: the loop runs between */
		if (ret != 0) {
			dropped += ret < 0;
			drop(cl);
		}
	}
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0 && now_ms >= c->clients[i].deadline_ms) {
			drop(&c->clients[i]);
			dropped++;
		}
	return dropped;
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

int control_query(const char *path, const char *request, FILE *out, char *err, size_t err_len)
{
	const struct timeval timeout = { .tv_sec = CONTROL_QUERY_TIMEOUT_S };
	struct sockaddr_un sun;
	char buf[4096];
	int fd, ret, write_ret;

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
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot set a timeout on the socket: %s", strerror(errno));
		goto out;
	}
	snprintf(buf, sizeof(buf), "%s\n", request);
	/* A busy daemon may answer and close before the request is sent: read
	 * its answer before reporting that the request could not be written. */
	write_ret = write_all(fd, buf, strlen(buf));
	for (bool first = true; ret == 0;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			snprintf(err, err_len, "no answer from %s for %d s (is the daemon stuck?)",
				 path, CONTROL_QUERY_TIMEOUT_S);
			close(fd);
			return -ETIMEDOUT;
		}
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0 && first && write_ret == 0) {
			snprintf(err, err_len, "%s closed the connection without answering", path);
			close(fd);
			return -ECONNRESET;
		}
		if (n == 0) {
			ret = first ? write_ret : 0;
			break;
		}
		/* The daemon refused ("error: busy, try again"): say so, fail. */
		if (first && (size_t)n > strlen(ERROR_PREFIX) &&
		    memcmp(buf, ERROR_PREFIX, strlen(ERROR_PREFIX)) == 0) {
			const char *nl = memchr(buf, '\n', (size_t)n);

			snprintf(err, err_len, "%s: %.*s", path,
				 (int)((nl ? nl - buf : n) - (ssize_t)strlen(ERROR_PREFIX)),
				 buf + strlen(ERROR_PREFIX));
			close(fd);
			return -EPROTO;
		}
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n)
			ret = -EIO;
		first = false;
	}
	if (ret < 0)
		snprintf(err, err_len, "cannot talk to %s: %s", path, strerror(-ret));
out:
	close(fd);
	return ret;
}
