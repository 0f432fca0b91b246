/* epmap — which connected port uses which UDP endpoint. See epmap.h. */
#include "epmap.h"

#include <string.h>

static uint32_t home_of(uint64_t hash)
{
	return (uint32_t)(hash % EPMAP_SIZE);
}

static uint32_t next(uint32_t i)
{
	return (i + 1) % EPMAP_SIZE;
}

/* Is h in the cyclic range (after, upto]? */
static bool between(uint32_t h, uint32_t after, uint32_t upto)
{
	return after <= upto ? after < h && h <= upto : after < h || h <= upto;
}

void epmap_init(struct epmap *m)
{
	memset(m, 0, sizeof(*m));
}

bool epmap_put(struct epmap *m, uint64_t hash, uint32_t port)
{
	uint32_t home = home_of(hash), i = home;

	if (port >= EPMAP_PORTS || m->count + 1 >= EPMAP_SIZE) /* one cell stays empty */
		return false;
	/* The first empty cell of the run from home on. */
	while (m->port_plus1[i])
		i = next(i);
	m->port_plus1[i] = (uint16_t)(port + 1);
	m->home[i] = (uint16_t)home;
	m->count++;
	return true;
}

void epmap_remove(struct epmap *m, uint64_t hash, uint32_t port)
{
	uint32_t home = home_of(hash), hole = home;

	while (m->port_plus1[hole] && !(m->home[hole] == home && m->port_plus1[hole] == port + 1))
		hole = next(hole);
	if (!m->port_plus1[hole])
		return;
	m->port_plus1[hole] = 0;
	m->count--;
	/* Close the gap: an entry further along the run moves back into the
	 * hole unless its home lies after the hole (it would then be found
	 * before its home), as Knuth's algorithm R for linear probing does. */
	for (uint32_t j = next(hole); m->port_plus1[j]; j = next(j)) {
		if (between(m->home[j], hole, j))
			continue;
		m->port_plus1[hole] = m->port_plus1[j];
		m->home[hole] = m->home[j];
		m->port_plus1[j] = 0;
		hole = j;
	}
}

int32_t epmap_find(const struct epmap *m, uint64_t hash, epmap_match_fn match, const void *ctx)
{
	uint32_t home = home_of(hash);

	for (uint32_t i = home; m->port_plus1[i]; i = next(i))
		if (m->home[i] == home && match(m->port_plus1[i] - 1u, ctx))
			return (int32_t)(m->port_plus1[i] - 1u);
	return -1;
}
