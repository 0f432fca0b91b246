/* admit — which handshake initiations the switch works through. See admit.h. */
#include "admit.h"

bool admit_new(struct admit *a, uint64_t source_hash, uint64_t now_ms)
{
	struct ratelimit *source = &a->sources[source_hash % ADMIT_SOURCES];

	return ratelimit_allow_n(source, now_ms, ADMIT_WINDOW_MS, ADMIT_SOURCE_BURST) &&
	       ratelimit_allow_n(&a->all, now_ms, ADMIT_WINDOW_MS, ADMIT_BURST);
}

bool admit_rekey(struct admit *a, struct ratelimit *port, uint64_t now_ms)
{
	return ratelimit_allow_n(port, now_ms, ADMIT_WINDOW_MS, ADMIT_PORT_BURST) &&
	       ratelimit_allow_n(&a->rekeys, now_ms, ADMIT_WINDOW_MS, ADMIT_BURST);
}
