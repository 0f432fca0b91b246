/*
 * admit — which handshake initiations the switch works through. Pure.
 *
 * Each initiation costs the switch two X25519 operations before it knows
 * whether the sender holds a member's key, and anyone who knows the switch's
 * public key can make initiations that pass mac1; without a limit, a flood of
 * them could take all the CPU from members' traffic. So:
 *
 * - A new connection (from any address but a connected port's current one)
 *   draws on its sending host's share (an IPv4 address or an IPv6 /64,
 *   hashed into ADMIT_SOURCES buckets: half the global budget, so one host
 *   cannot use it all up, while a NAT with hundreds of ports behind it
 *   still gets them all back after a restart within seconds), then on the
 *   global budget: 200 per 100 ms, 2,000 a second, enough for every one of
 *   4,096 ports to rekey every 120 s (~34/s) and to come back within about
 *   two seconds of a switch restart.
 * - A rekey (from the exact address and port a connected port uses now)
 *   draws on that port's own allowance and on a separate budget for rekeys
 *   of the same size as the global one. A flood that forges the port's host
 *   but not its UDP port, or that comes from anywhere else, cannot use up
 *   what the port's rekey needs. A flood that forges the exact address and
 *   port still can: WireGuard's cookie replies are the remedy for that, not
 *   built (docs/protocol.md).
 *
 * Refused initiations are counted (handshake_rate); their ports retry within
 * seconds.
 */
#ifndef VSWITCH_ADMIT_H
#define VSWITCH_ADMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

#define ADMIT_WINDOW_MS 100u
#define ADMIT_BURST 200u
#define ADMIT_SOURCES 1024u
#define ADMIT_SOURCE_BURST (ADMIT_BURST / 2)
/* A port sends one initiation per rekey and retries after seconds. */
#define ADMIT_PORT_BURST 2u

struct admit {
	struct ratelimit all;                    /* new connections */
	struct ratelimit sources[ADMIT_SOURCES]; /* new connections, per host */
	struct ratelimit rekeys;                 /* rekeys of all ports */
};

/* A new connection's initiation from the host whose hash is source_hash. */
bool admit_new(struct admit *a, uint64_t source_hash, uint64_t now_ms);

/* A rekey from a connected port's current endpoint; port is its allowance. */
bool admit_rekey(struct admit *a, struct ratelimit *port, uint64_t now_ms);

#endif
