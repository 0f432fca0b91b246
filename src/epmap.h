/*
 * epmap — which connected port uses which UDP endpoint. Pure.
 *
 * The switch charges a handshake initiation to the rekey allowance of the port
 * whose current endpoint (address and UDP port) it comes from, and to the
 * budget for new connections otherwise (src/admit.h). That needs an exact map:
 * a lossy cache let one port's entry be overwritten by another's, and the
 * first port's rekeys then drew on the budget a flood can use up (with 1,000
 * ports about 6% of them, and any member could displace others on purpose by
 * sending from many source ports).
 *
 * Open addressing with linear probing over EPMAP_SIZE cells, twice as many as
 * ports can be connected, so it never fills: one entry per connected port, put
 * in when it connects or moves and taken out when it moves or goes. The caller
 * hashes endpoints (keyed, so that senders cannot aim at one cell) and says
 * which stored port matches; the map keeps only port numbers and home cells.
 */
#ifndef VSWITCH_EPMAP_H
#define VSWITCH_EPMAP_H

#include <stdbool.h>
#include <stdint.h>

#define EPMAP_PORTS 4096u /* port numbers 0 .. EPMAP_PORTS - 1 */
#define EPMAP_SIZE (2 * EPMAP_PORTS)

struct epmap {
	uint16_t port_plus1[EPMAP_SIZE]; /* 0: empty */
	uint16_t home[EPMAP_SIZE];	 /* the cell the entry's hash names */
	uint32_t count;
};

/* Does stored port p use the endpoint being looked for? */
typedef bool (*epmap_match_fn)(uint32_t port, const void *ctx);

void epmap_init(struct epmap *m);

/* An entry for port at the endpoint of this hash. Two ports may claim one
 * endpoint for a while (a NAT mapping handed on, or a forged source): each
 * keeps its own entry, so neither loses its entry when the other moves on.
 * Returns false only if port is out of range or the map is full. */
bool epmap_put(struct epmap *m, uint64_t hash, uint32_t port);

/* Takes out port's entry at the endpoint of this hash, if it has one there. */
void epmap_remove(struct epmap *m, uint64_t hash, uint32_t port);

/* A port stored for a matching endpoint (the first found), or -1. */
int32_t epmap_find(const struct epmap *m, uint64_t hash, epmap_match_fn match, const void *ctx);

#endif
