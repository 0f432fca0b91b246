/*
 * tablespeed — what the switch's per-frame table work costs as the MAC table
 * grows: one mactable_learn (the source) and one mactable_forward (the
 * destination) per frame, over a table filled with N random unicast MACs, the
 * frames' addresses drawn at random from them. The same work the switch does
 * per frame, with nothing else around it; `make bench` prints it next to the
 * loadgen rows. O(1) lookups show as a flat line until the table outgrows
 * the CPU's caches.
 *
 * usage: tablespeed [LOOKUPS]
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mactable.h"

static const uint32_t sizes[] = { 1000, 10000, 100000, 1000000 };
#define PORTS 1000u

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Random locally administered unicast MACs: mac i at macs + 6 * i. */
static void make_macs(uint8_t *macs, uint32_t n)
{
	randombytes_buf(macs, (size_t)n * FRAME_MAC_LEN);
	for (uint32_t i = 0; i < n; i++)
		macs[(size_t)i * FRAME_MAC_LEN] = (uint8_t)((macs[(size_t)i * FRAME_MAC_LEN] & 0xfc) | 0x02);
}

/* ns per frame (learn + forward), or a negative number if the table refused. */
static double per_frame_ns(uint32_t n, unsigned long lookups)
{
	uint8_t key[16], *macs = malloc((size_t)n * FRAME_MAC_LEN);
	uint32_t *pick = malloc(sizeof(*pick) * 65536), out;
	struct mactable *t;
	double ns = -1, start;
	unsigned long sink = 0;

	randombytes_buf(key, sizeof(key));
	t = mactable_new(n, n, PORTS, MACTABLE_DEFAULT_AGE_MS, key);
	if (!macs || !pick || !t)
		goto out;
	make_macs(macs, n);
	for (uint32_t i = 0; i < n; i++)
		if (mactable_learn(t, macs + (size_t)i * FRAME_MAC_LEN, i % PORTS, 1) !=
		    MACTABLE_LEARNED)
			goto out; /* a duplicate random MAC: vanishingly rare; try again */
	for (uint32_t i = 0; i < 65536; i++)
		pick[i] = randombytes_uniform(n);
	start = now_ns();
	for (unsigned long i = 0; i < lookups; i++) {
		uint32_t s = pick[i & 65535], d = pick[(i * 7 + 3) & 65535];

		mactable_learn(t, macs + (size_t)s * FRAME_MAC_LEN, s % PORTS, 2);
		sink += mactable_forward(t, macs + (size_t)d * FRAME_MAC_LEN, s % PORTS, 2, &out);
	}
	ns = (now_ns() - start) / (double)lookups;
	if (sink == (unsigned long)-1)
		printf("%lu\n", sink); /* keeps the loop */
out:
	mactable_free(t);
	free(pick);
	free(macs);
	return ns;
}

int main(int argc, char **argv)
{
	unsigned long lookups = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000;

	if (lookups == 0 || sodium_init() < 0)
		return fprintf(stderr, "usage: tablespeed [LOOKUPS > 0]\n"), 1;
	printf("MAC table, ns per frame (learn the source + forward to the destination, %lu frames)\n",
	       lookups);
	printf("%9s %10s %12s\n", "MACs", "ns/frame", "table MiB");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double ns = per_frame_ns(sizes[i], lookups);

		if (ns < 0 && (ns = per_frame_ns(sizes[i], lookups)) < 0)
			return fprintf(stderr, "tablespeed: could not fill %u MACs\n", sizes[i]), 1;
		printf("%9u %10.1f %12.2f\n", sizes[i], ns, sizes[i] * 32.0 / (1 << 20));
	}
	return 0;
}
