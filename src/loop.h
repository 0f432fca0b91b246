/*
 * loop — the event loop: epoll over the daemon's descriptors, a periodic tick
 * (timerfd) for the timers, and SIGINT/SIGTERM/SIGHUP delivered as events
 * (signalfd) so no handler runs asynchronously. I/O.
 */
#ifndef VSWITCH_LOOP_H
#define VSWITCH_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>

/* The clock of the tick and of loop_now_ms: CLOCK_BOOTTIME, which keeps
 * counting while the machine is suspended (CLOCK_MONOTONIC stops). A laptop
 * that wakes after its switch gave it up then sees at once that it heard
 * nothing for too long and handshakes again, instead of sending on dead keys
 * for another 11 s; and a key's 180 s count the time asleep, as in WireGuard. */
#define LOOP_CLOCK CLOCK_BOOTTIME

/* The tick: how often timers are checked. Timer deadlines are in seconds, so
 * a quarter second is precise enough and costs nothing when idle. */
#define LOOP_TICK_MS 250u

enum loop_tag { LOOP_SIGNAL = 1, LOOP_TICK, LOOP_UDP, LOOP_TAP, LOOP_CONTROL };

struct loop {
	int epfd, sigfd, timerfd;
};

/* Hold SIGHUP from here on until loop_init's signalfd delivers it, so that a
 * reload sent while the daemon starts up does not kill it (SIGINT and SIGTERM
 * still stop a daemon that is starting). Returns 0 or a negative errno with a
 * reason in err. */
int loop_defer_sighup(char *err, size_t err_len);
/* Returns 0 or a negative errno with a reason in err. */
int loop_init(struct loop *l, char *err, size_t err_len);
void loop_free(struct loop *l);
int loop_add(struct loop *l, int fd, enum loop_tag tag, char *err, size_t err_len);
/* Wait for events; returns how many, or a negative errno (never -EINTR). */
int loop_wait(struct loop *l, struct epoll_event *events, int max);
/* The pending signal number, or 0. */
int loop_take_signal(struct loop *l);
/* Consume the tick. */
void loop_take_tick(struct loop *l);

/* Monotonic milliseconds, for every timer. */
uint64_t loop_now_ms(void);

#endif
