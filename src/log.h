/*
 * log — messages to stderr with a level, and a rate limiter for anything a
 * remote party can trigger. The daemons run in the foreground; systemd or the
 * shell keeps the output.
 */
#ifndef VSWITCH_LOG_H
#define VSWITCH_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_init(const char *prog, enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Log lines a remote party can cause: at most RATELIMIT_BURST per
 * RATELIMIT_WINDOW_MS; the rest are counted in suppressed. */
#define RATELIMIT_WINDOW_MS 10000u
#define RATELIMIT_BURST 5u

struct ratelimit {
	uint64_t window_start_ms;
	uint32_t in_window;
	uint32_t suppressed;
};
/* True if one more event may happen now: at most burst per window_ms, counted
 * in fixed windows. Pure. */
bool ratelimit_allow_n(struct ratelimit *r, uint64_t now_ms, uint64_t window_ms, uint32_t burst);
/* The same with the log defaults. */
bool ratelimit_allow(struct ratelimit *r, uint64_t now_ms);

#endif
