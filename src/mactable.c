/*
 * mactable — the switch's MAC address table. See mactable.h for the contract.
 *
 * Storage, all allocated in mactable_new():
 *   pool        max_total entries; a free entry has port MACTABLE_NO_PORT and
 *               sits on the free list, a used one sits in exactly one chain.
 *   buckets     a power of two, at least 2 * max_total, so chains stay short
 *               even when the table is full; each holds the index of the
 *               chain's first entry.
 *   port_count  entries per port, for the per-port limit.
 * Chains and the free list link through entry.next, by index (32 bits where a
 * pointer would take 64, so an entry is 24 bytes).
 *
 * Aging is lazy: an entry whose last_seen_ms is age_ms or more in the past is
 * absent to lookup and forward, but keeps its slot and its place in the port's
 * count until mactable_expire() or mactable_flush_port() removes it.
 * Re-learning such an entry is treated as what a lookup would suggest: the old
 * binding aged out and a new one is learned. It returns MACTABLE_LEARNED and
 * counts one aged and one learned, even if the port changed, so that entries
 * == learned - aged - evicted - whatever mactable_flush_port() removed. It reuses the
 * slot, so it is never refused as MACTABLE_TABLE_FULL, only as
 * MACTABLE_PORT_FULL when the port changes to a full one.
 *
 * Time must not run backwards; if it does, affected entries just look fresh.
 */
#include "mactable.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NO_INDEX UINT32_MAX
/* Keeps the bucket count within uint32 and every pool index below NO_INDEX. */
#define MACTABLE_MAX_TOTAL_LIMIT (UINT32_C(1) << 30)
#define BUCKETS_PER_ENTRY 2u

_Static_assert(crypto_shorthash_KEYBYTES == 16, "mactable_new() takes a 16-byte hash key");
_Static_assert(crypto_shorthash_BYTES == sizeof(uint64_t), "the hash is read as a uint64_t");

struct entry {
	uint64_t last_seen_ms;
	uint32_t port; /* MACTABLE_NO_PORT while free */
	uint32_t next; /* next in the bucket chain, or in the free list */
	uint8_t mac[FRAME_MAC_LEN];
	bool pinned; /* never ages, never moves to another port */
};

struct mactable {
	struct entry *pool;
	uint32_t *buckets;
	uint32_t *port_count;
	uint32_t bucket_mask;
	uint32_t free_head;
	uint32_t max_total;
	uint32_t max_per_port;
	uint32_t max_ports;
	uint64_t age_ms;
	struct mactable_stats stats;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

static void *alloc_array(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return calloc(n, size);
}

static uint32_t bucket_count_for(uint32_t max_total)
{
	uint32_t n = 1;

	while (n < max_total * BUCKETS_PER_ENTRY)
		n <<= 1;
	return n;
}

static void init_storage(struct mactable *t, uint32_t bucket_count)
{
	for (uint32_t i = 0; i < bucket_count; i++)
		t->buckets[i] = NO_INDEX;
	for (uint32_t i = 0; i < t->max_total; i++) {
		t->pool[i].port = MACTABLE_NO_PORT;
		t->pool[i].next = i + 1 < t->max_total ? i + 1 : NO_INDEX;
	}
	t->free_head = 0;
	t->bucket_mask = bucket_count - 1;
}

struct mactable *mactable_new(uint32_t max_total, uint32_t max_per_port, uint32_t max_ports,
			      uint64_t age_ms, const uint8_t hash_key[16])
{
	struct mactable *t;
	uint32_t bucket_count;

	if (max_total == 0 || max_per_port == 0 || max_ports == 0 || age_ms == 0 ||
	    max_total > MACTABLE_MAX_TOTAL_LIMIT)
		return NULL;
	bucket_count = bucket_count_for(max_total);

	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->pool = alloc_array(max_total, sizeof(*t->pool));
	if (!t->pool)
		goto err_table;
	t->buckets = alloc_array(bucket_count, sizeof(*t->buckets));
	if (!t->buckets)
		goto err_pool;
	t->port_count = alloc_array(max_ports, sizeof(*t->port_count));
	if (!t->port_count)
		goto err_buckets;

	t->max_total = max_total;
	t->max_per_port = max_per_port;
	t->max_ports = max_ports;
	t->age_ms = age_ms;
	memcpy(t->hash_key, hash_key, sizeof(t->hash_key));
	init_storage(t, bucket_count);
	return t;

err_buckets:
	free(t->buckets);
err_pool:
	free(t->pool);
err_table:
	free(t);
	return NULL;
}

void mactable_free(struct mactable *t)
{
	if (!t)
		return;
	sodium_memzero(t->hash_key, sizeof(t->hash_key));
	free(t->port_count);
	free(t->buckets);
	free(t->pool);
	free(t);
}

static uint32_t bucket_of(const struct mactable *t, const uint8_t mac[FRAME_MAC_LEN])
{
	uint8_t digest[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(digest, mac, FRAME_MAC_LEN, t->hash_key);
	memcpy(&h, digest, sizeof(h));
	return (uint32_t)(h & t->bucket_mask);
}

static bool is_aged(const struct mactable *t, const struct entry *e, uint64_t now_ms)
{
	return !e->pinned && now_ms >= e->last_seen_ms && now_ms - e->last_seen_ms >= t->age_ms;
}

static uint32_t find(const struct mactable *t, const uint8_t mac[FRAME_MAC_LEN])
{
	uint32_t i = t->buckets[bucket_of(t, mac)];

	while (i != NO_INDEX && memcmp(t->pool[i].mac, mac, FRAME_MAC_LEN) != 0)
		i = t->pool[i].next;
	return i;
}

static bool port_is_full(const struct mactable *t, uint32_t port)
{
	return t->port_count[port] >= t->max_per_port;
}

static enum mactable_learn_result refuse_port_full(struct mactable *t)
{
	t->stats.refused_port_full++;
	return MACTABLE_PORT_FULL;
}

/* Rebind e to port, keeping the per-port counts right. False if port is full. */
static bool rebind(struct mactable *t, struct entry *e, uint32_t port)
{
	if (e->port == port)
		return true;
	if (port_is_full(t, port))
		return false;
	t->port_count[e->port]--;
	t->port_count[port]++;
	e->port = port;
	return true;
}

static enum mactable_learn_result insert(struct mactable *t, const uint8_t mac[FRAME_MAC_LEN],
					 uint32_t port, uint64_t now_ms)
{
	uint32_t bucket, i;
	struct entry *e;

	if (port_is_full(t, port))
		return refuse_port_full(t);
	if (t->free_head == NO_INDEX) {
		t->stats.refused_table_full++;
		return MACTABLE_TABLE_FULL;
	}
	i = t->free_head;
	e = &t->pool[i];
	t->free_head = e->next;

	bucket = bucket_of(t, mac);
	memcpy(e->mac, mac, FRAME_MAC_LEN);
	e->pinned = false;
	e->port = port;
	e->last_seen_ms = now_ms;
	e->next = t->buckets[bucket];
	t->buckets[bucket] = i;
	t->port_count[port]++;
	t->stats.entries++;
	t->stats.learned++;
	return MACTABLE_LEARNED;
}

enum mactable_learn_result mactable_learn(struct mactable *t, const uint8_t mac[FRAME_MAC_LEN],
					  uint32_t port, uint64_t now_ms)
{
	enum mactable_learn_result result;
	struct entry *e;
	uint32_t i;

	if (port >= t->max_ports)
		return refuse_port_full(t);
	i = find(t, mac);
	if (i == NO_INDEX)
		return insert(t, mac, port, now_ms);

	e = &t->pool[i];
	if (e->pinned && e->port != port)
		return MACTABLE_PINNED;
	if (is_aged(t, e, now_ms))
		result = MACTABLE_LEARNED;
	else if (e->port == port)
		result = MACTABLE_REFRESHED;
	else
		result = MACTABLE_MOVED;
	if (!rebind(t, e, port))
		return refuse_port_full(t);

	e->last_seen_ms = now_ms;
	if (result == MACTABLE_LEARNED) {
		t->stats.aged++;
		t->stats.learned++;
	} else if (result == MACTABLE_MOVED) {
		t->stats.moved++;
	}
	return result;
}

uint32_t mactable_lookup(const struct mactable *t, const uint8_t mac[FRAME_MAC_LEN],
			 uint64_t now_ms)
{
	uint32_t i = find(t, mac);

	if (i == NO_INDEX || is_aged(t, &t->pool[i], now_ms))
		return MACTABLE_NO_PORT;
	return t->pool[i].port;
}

static void release(struct mactable *t, uint32_t i)
{
	struct entry *e = &t->pool[i];

	t->port_count[e->port]--;
	t->stats.entries--;
	e->port = MACTABLE_NO_PORT;
	e->next = t->free_head;
	t->free_head = i;
}

static void unlink_entry(struct mactable *t, uint32_t i)
{
	uint32_t *link = &t->buckets[bucket_of(t, t->pool[i].mac)];

	while (*link != i)
		link = &t->pool[*link].next;
	*link = t->pool[i].next;
}

/* Room for a pin in a full table: the unpinned entry seen longest ago goes
 * (its MAC is flooded until it is learned again). A walk of the pool, on a
 * member's connect only. False if every entry is pinned. */
static bool evict_oldest(struct mactable *t)
{
	uint32_t oldest = NO_INDEX;

	for (uint32_t i = 0; i < t->max_total; i++) {
		const struct entry *e = &t->pool[i];

		if (e->port == MACTABLE_NO_PORT || e->pinned)
			continue;
		if (oldest == NO_INDEX || e->last_seen_ms < t->pool[oldest].last_seen_ms)
			oldest = i;
	}
	if (oldest == NO_INDEX)
		return false;
	unlink_entry(t, oldest);
	release(t, oldest);
	t->stats.evicted++;
	return true;
}

enum mactable_learn_result mactable_pin(struct mactable *t, const uint8_t mac[FRAME_MAC_LEN],
					uint32_t port, uint64_t now_ms)
{
	enum mactable_learn_result r;

	if (port < t->max_ports && !port_is_full(t, port) && t->free_head == NO_INDEX &&
	    find(t, mac) == NO_INDEX)
		(void)evict_oldest(t); /* if all are pinned, learning says TABLE_FULL */
	r = mactable_learn(t, mac, port, now_ms);
	if (r == MACTABLE_LEARNED || r == MACTABLE_REFRESHED || r == MACTABLE_MOVED)
		t->pool[find(t, mac)].pinned = true;
	return r;
}

/*
 * Walks the pool in order rather than the chains: on a big table the chains
 * send every step to a random cache line, and this runs every second over
 * possibly 100k entries, of which usually few are removed. Removes either
 * aged entries (port == MACTABLE_NO_PORT) or every entry of a port.
 */
static uint32_t remove_where(struct mactable *t, uint32_t port, uint64_t now_ms)
{
	uint32_t removed = 0, unseen = t->stats.entries;

	for (uint32_t i = 0; i < t->max_total && unseen > 0; i++) {
		const struct entry *e = &t->pool[i];

		if (e->port == MACTABLE_NO_PORT)
			continue;
		unseen--;
		if (port == MACTABLE_NO_PORT ? !is_aged(t, e, now_ms) : e->port != port)
			continue;
		unlink_entry(t, i);
		release(t, i);
		removed++;
	}
	return removed;
}

uint32_t mactable_expire(struct mactable *t, uint64_t now_ms)
{
	uint32_t removed = remove_where(t, MACTABLE_NO_PORT, now_ms);

	t->stats.aged += removed;
	return removed;
}

uint32_t mactable_flush_port(struct mactable *t, uint32_t port)
{
	if (port >= t->max_ports || t->port_count[port] == 0)
		return 0;
	return remove_where(t, port, 0);
}

uint32_t mactable_port_count(const struct mactable *t, uint32_t port)
{
	if (port >= t->max_ports)
		return 0;
	return t->port_count[port];
}

void mactable_get_stats(const struct mactable *t, struct mactable_stats *out)
{
	*out = t->stats;
}

/*
 * Visits every entry still in the table, including ones that have aged but
 * not yet been expired: the contract gives no clock here. Callers wanting only
 * fresh entries call mactable_expire() first. fn must not change the table.
 */
uint32_t mactable_foreach_from(const struct mactable *t, uint32_t from, mactable_visit_fn fn,
			       void *arg)
{
	for (uint32_t i = from; i < t->max_total; i++) {
		const struct entry *e = &t->pool[i];

		if (e->port == MACTABLE_NO_PORT)
			continue;
		if (!fn(e->mac, e->port, e->last_seen_ms, e->pinned, arg))
			return i + 1 < t->max_total ? i + 1 : MACTABLE_WALK_END;
	}
	return MACTABLE_WALK_END;
}

enum mactable_fwd mactable_forward(const struct mactable *t, const uint8_t dst[FRAME_MAC_LEN],
				   uint32_t in_port, uint64_t now_ms, uint32_t *out_port)
{
	uint32_t port = MACTABLE_NO_PORT;
	enum mactable_fwd fwd;

	if (!frame_mac_is_multicast(dst))
		port = mactable_lookup(t, dst, now_ms);
	if (port == MACTABLE_NO_PORT)
		fwd = FWD_FLOOD;
	else if (port == in_port)
		fwd = FWD_FILTER;
	else
		fwd = FWD_UNICAST;
	if (out_port)
		*out_port = fwd == FWD_UNICAST ? port : MACTABLE_NO_PORT;
	return fwd;
}
