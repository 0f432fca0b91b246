/* loop — epoll, tick and signals. See loop.h. */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

int loop_defer_sighup(char *err, size_t err_len)
{
	sigset_t mask;
	int e;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == 0)
		return 0;
	e = errno;
	snprintf(err, err_len, "cannot block SIGHUP: %s", strerror(e));
	return -e;
}

int loop_init(struct loop *l, char *err, size_t err_len)
{
	struct itimerspec tick = {
		.it_interval = { .tv_nsec = LOOP_TICK_MS * 1000000L },
		.it_value = { .tv_nsec = LOOP_TICK_MS * 1000000L },
	};
	sigset_t mask;
	int ret;

	l->epfd = l->sigfd = l->timerfd = -1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		goto fail_errno;
	/* A vanished control client must not kill us. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		goto fail_errno;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		goto fail_errno;
	l->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sigfd < 0)
		goto fail_errno;
	l->timerfd = timerfd_create(LOOP_CLOCK, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->timerfd < 0 || timerfd_settime(l->timerfd, 0, &tick, NULL) < 0)
		goto fail_errno;
	ret = loop_add(l, l->sigfd, LOOP_SIGNAL, err, err_len);
	if (ret == 0)
		ret = loop_add(l, l->timerfd, LOOP_TICK, err, err_len);
	if (ret < 0)
		loop_free(l);
	return ret;
fail_errno:
	ret = -errno;
	snprintf(err, err_len, "cannot set up the event loop: %s", strerror(errno));
	loop_free(l);
	return ret;
}

void loop_free(struct loop *l)
{
	if (l->timerfd >= 0)
		close(l->timerfd);
	if (l->sigfd >= 0)
		close(l->sigfd);
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = l->sigfd = l->timerfd = -1;
}

int loop_add(struct loop *l, int fd, enum loop_tag tag, char *err, size_t err_len)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int ret = -errno;

		snprintf(err, err_len, "cannot watch descriptor %d: %s", fd, strerror(errno));
		return ret;
	}
	return 0;
}

int loop_wait(struct loop *l, struct epoll_event *events, int max)
{
	int n;

	do
		n = epoll_wait(l->epfd, events, max, -1);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int loop_take_signal(struct loop *l)
{
	struct signalfd_siginfo si;

	if (read(l->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

void loop_take_tick(struct loop *l)
{
	uint64_t expirations;

	/* EAGAIN only means another wakeup consumed it: nothing to do. */
	if (read(l->timerfd, &expirations, sizeof(expirations)) < 0)
		return;
}

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	/* Cannot fail with a valid clock id and pointer. */
	clock_gettime(LOOP_CLOCK, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
