/* log — leveled messages to stderr, and rate limiting. See log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *log_prog = "vswitch";
static enum log_level log_max = LOG_INFO;

void log_init(const char *prog, enum log_level level)
{
	log_prog = prog;
	log_max = level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	va_list ap;

	if (level > log_max)
		return;
	fprintf(stderr, "%s: %s: ", log_prog, names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool ratelimit_allow_n(struct ratelimit *r, uint64_t now_ms, uint64_t window_ms, uint32_t burst)
{
	if (now_ms - r->window_start_ms >= window_ms) {
		r->window_start_ms = now_ms;
		r->in_window = 0;
	}
	if (r->in_window >= burst) {
		r->suppressed++;
		return false;
	}
	r->in_window++;
	return true;
}

bool ratelimit_allow(struct ratelimit *r, uint64_t now_ms)
{
	return ratelimit_allow_n(r, now_ms, RATELIMIT_WINDOW_MS, RATELIMIT_BURST);
}
