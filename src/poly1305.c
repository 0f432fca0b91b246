/* poly1305 — many ChaCha20-Poly1305 tags at once. See poly1305.h. */
#include "poly1305.h"

#include <sodium.h>
#include <string.h>

#include "buf.h"

#define BLOCK_LEN 16
#define TAIL_LEN (2 * BLOCK_LEN) /* ct's zero-padded end, then the lengths */

static bool vector_allowed = true;

/* Section 2.8 with no associated data, through libsodium's Poly1305. */
static void tag_sodium(struct poly1305_job *job)
{
	static const uint8_t zeros[BLOCK_LEN];
	uint8_t lengths[BLOCK_LEN] = { 0 };
	crypto_onetimeauth_poly1305_state st;

	put_u64le(lengths + 8, job->len);
	crypto_onetimeauth_poly1305_init(&st, job->key);
	crypto_onetimeauth_poly1305_update(&st, job->ct, job->len);
	crypto_onetimeauth_poly1305_update(&st, zeros,
					   (BLOCK_LEN - job->len % BLOCK_LEN) % BLOCK_LEN);
	crypto_onetimeauth_poly1305_update(&st, lengths, sizeof(lengths));
	crypto_onetimeauth_poly1305_final(&st, job->tag);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(job->key, sizeof(job->key));
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_VECTOR_CODE 1
#include <immintrin.h>

#define VECTOR_CODE __attribute__((target("avx512f,avx512ifma")))
/* Small vector helpers inline, or their structs go through the stack. */
#define VECTOR_INLINE VECTOR_CODE __attribute__((always_inline)) static inline

#define MASK44 0xfffffffffffULL
#define MASK42 0x3ffffffffffULL

/* Eight numbers modulo p = 2^130 - 5, one in each 64-bit lane, as three
 * limbs: l[0] + l[1] * 2^44 + l[2] * 2^88. The multiply-add instructions read
 * 52 bits of each factor; every limb here stays below 2^49. */
struct lanes {
	__m512i l[3];
};

/* lo and hi += the low and the high 52 bits of the 104-bit product a * b. */
VECTOR_INLINE void madd(__m512i *lo, __m512i *hi, __m512i a, __m512i b)
{
	*lo = _mm512_madd52lo_epu64(*lo, a, b);
	*hi = _mm512_madd52hi_epu64(*hi, a, b);
}

VECTOR_INLINE __m512i times20(__m512i v)
{
	return _mm512_add_epi64(_mm512_slli_epi64(v, 4), _mm512_slli_epi64(v, 2));
}

/* One carry out of each limb into the next, all at once, the top one
 * (2^130 = 5 mod p) into the bottom: limbs below 2^59 come out below
 * 2^44 + 2^20, 2^44 + 2^15 and 2^42 + 2^15. */
VECTOR_INLINE struct lanes carry(struct lanes x)
{
	const __m512i m44 = _mm512_set1_epi64(MASK44), m42 = _mm512_set1_epi64(MASK42);
	__m512i c0 = _mm512_srli_epi64(x.l[0], 44), c1 = _mm512_srli_epi64(x.l[1], 44);
	__m512i c2 = _mm512_srli_epi64(x.l[2], 42);

	x.l[0] = _mm512_add_epi64(_mm512_and_si512(x.l[0], m44),
				  _mm512_add_epi64(c2, _mm512_slli_epi64(c2, 2)));
	x.l[1] = _mm512_add_epi64(_mm512_and_si512(x.l[1], m44), c0);
	x.l[2] = _mm512_add_epi64(_mm512_and_si512(x.l[2], m42), c1);
	return x;
}

/* h * r modulo p, lane by lane; s1, s2 are r's limbs 1 and 2 times 20. A
 * product of limbs i and j weighs 2^(44 (i + j)); from 2^132 on it comes back
 * 130 bits lower times 5, so the factors of r that land there are taken
 * times 20 (2^132 = 20 mod p). The multiply-adds of a column go one after
 * another into one sum: on the reference machine the vector units, not the
 * wait for each product, are what limits eight lanes. */
VECTOR_INLINE struct lanes mul(struct lanes h, const struct lanes *r, __m512i s1, __m512i s2)
{
	__m512i lo[3], hi[3];

	for (int i = 0; i < 3; i++)
		lo[i] = hi[i] = _mm512_setzero_si512();
	madd(&lo[0], &hi[0], h.l[0], r->l[0]);
	madd(&lo[0], &hi[0], h.l[1], s2);
	madd(&lo[0], &hi[0], h.l[2], s1);
	madd(&lo[1], &hi[1], h.l[0], r->l[1]);
	madd(&lo[1], &hi[1], h.l[1], r->l[0]);
	madd(&lo[1], &hi[1], h.l[2], s2);
	madd(&lo[2], &hi[2], h.l[0], r->l[2]);
	madd(&lo[2], &hi[2], h.l[1], r->l[1]);
	madd(&lo[2], &hi[2], h.l[2], r->l[0]);
	/* A high half weighs 2^52 times its column's weight: 2^8 times the next
	 * column's. The top column's, at 2^140, comes back at 2^0 times
	 * 5 * 2^10. Each column is then below 2^58. */
	lo[1] = _mm512_add_epi64(lo[1], _mm512_slli_epi64(hi[0], 8));
	lo[2] = _mm512_add_epi64(lo[2], _mm512_slli_epi64(hi[1], 8));
	lo[0] = _mm512_add_epi64(lo[0], _mm512_add_epi64(_mm512_slli_epi64(hi[2], 12),
							 _mm512_slli_epi64(hi[2], 10)));
	return carry((struct lanes){ { lo[0], lo[1], lo[2] } });
}

/* Eight messages, one a lane. Lane j reads message j's whole blocks in place,
 * then its tail; lanes past the last message read message 0 and are never
 * finished. */
struct group {
	const uint8_t *ct[POLY1305_LANES];
	size_t n_whole[POLY1305_LANES], n_blocks[POLY1305_LANES];
	uint8_t tail[POLY1305_LANES][TAIL_LEN];
	uint64_t r[3][POLY1305_LANES]; /* r, clamped (section 2.5), in limbs */
};

/* Fills g from n <= POLY1305_LANES jobs. Returns the most blocks any lane
 * has; *all_whole is how many blocks every lane reads in place. */
static size_t group_init(struct group *g, const struct poly1305_job *jobs, size_t n,
			 size_t *all_whole)
{
	size_t most = 0;

	memset(g->r, 0, sizeof(g->r));
	*all_whole = SIZE_MAX;
	for (size_t j = 0; j < POLY1305_LANES; j++) {
		const struct poly1305_job *job = &jobs[j < n ? j : 0];
		size_t rest = job->len % BLOCK_LEN, n_tail = (rest ? 1 : 0) + 1;
		struct cursor k = cursor_init(job->key, BLOCK_LEN);
		uint64_t t0 = cursor_u64le(&k) & 0x0ffffffc0fffffffULL;
		uint64_t t1 = cursor_u64le(&k) & 0x0ffffffc0ffffffcULL;

		g->ct[j] = job->ct;
		g->n_whole[j] = job->len / BLOCK_LEN;
		g->n_blocks[j] = j < n ? g->n_whole[j] + n_tail : 0;
		memset(g->tail[j], 0, TAIL_LEN);
		if (rest)
			memcpy(g->tail[j], job->ct + job->len - rest, rest);
		put_u64le(g->tail[j] + (n_tail - 1) * BLOCK_LEN + 8, job->len);
		if (j < n) {
			g->r[0][j] = t0 & MASK44;
			g->r[1][j] = (t0 >> 44 | t1 << 20) & MASK44;
			g->r[2][j] = t1 >> 24;
		}
		if (g->n_whole[j] < *all_whole)
			*all_whole = g->n_whole[j];
		if (g->n_blocks[j] > most)
			most = g->n_blocks[j];
	}
	return most;
}

/* Lane j's block b: in place, from the tail, or (past its end) none. */
static const uint8_t *block_at(const struct group *g, size_t j, size_t b)
{
	static const uint8_t none[BLOCK_LEN];

	if (b < g->n_whole[j])
		return g->ct[j] + b * BLOCK_LEN;
	if (b < g->n_blocks[j])
		return g->tail[j] + (b - g->n_whole[j]) * BLOCK_LEN;
	return none;
}

/* The blocks at p[0..7] + off (16 bytes each), lane j's from p[j], as limbs
 * of 44, 44 and 40 bits with 2^128 added: every block of section 2.8's input
 * is whole. */
VECTOR_INLINE struct lanes load_blocks(const uint8_t *const p[POLY1305_LANES], size_t off)
{
	const __m512i even = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
	const __m512i odd = _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1);
	const __m512i m44 = _mm512_set1_epi64(MASK44);
	__m512i a = _mm512_castsi128_si512(_mm_loadu_si128((const void *)(p[0] + off)));
	__m512i b = _mm512_castsi128_si512(_mm_loadu_si128((const void *)(p[4] + off)));
	__m512i lo, hi;
	struct lanes m;

	a = _mm512_inserti32x4(a, _mm_loadu_si128((const void *)(p[1] + off)), 1);
	a = _mm512_inserti32x4(a, _mm_loadu_si128((const void *)(p[2] + off)), 2);
	a = _mm512_inserti32x4(a, _mm_loadu_si128((const void *)(p[3] + off)), 3);
	b = _mm512_inserti32x4(b, _mm_loadu_si128((const void *)(p[5] + off)), 1);
	b = _mm512_inserti32x4(b, _mm_loadu_si128((const void *)(p[6] + off)), 2);
	b = _mm512_inserti32x4(b, _mm_loadu_si128((const void *)(p[7] + off)), 3);
	lo = _mm512_permutex2var_epi64(a, even, b);
	hi = _mm512_permutex2var_epi64(a, odd, b);
	m.l[0] = _mm512_and_si512(lo, m44);
	m.l[1] = _mm512_and_si512(
		_mm512_or_si512(_mm512_srli_epi64(lo, 44), _mm512_slli_epi64(hi, 20)), m44);
	m.l[2] = _mm512_or_si512(_mm512_srli_epi64(hi, 24), _mm512_set1_epi64(1ULL << 40));
	return m;
}

VECTOR_INLINE struct lanes add(struct lanes a, struct lanes b)
{
	for (int i = 0; i < 3; i++)
		a.l[i] = _mm512_add_epi64(a.l[i], b.l[i]);
	return a;
}

/* Section 2.5's last step for one lane (limbs below 2^48): reduce fully
 * modulo p, add s, keep 128 bits. Like group_init's clamped r, s stays in
 * registers and locals: wiping each cost ~90 ns a group of eight; the keys
 * they came from are wiped once the tags are made. */
static void finish(uint64_t h0, uint64_t h1, uint64_t h2, const uint8_t s_bytes[16],
		   uint8_t tag[POLY1305_TAG_LEN])
{
	struct cursor s = cursor_init(s_bytes, 16);
	uint64_t c, g0, g1, g2, use_g, lo, hi, s0, s1;

	/* Carried twice: h0, h1 < 2^44, h2 <= 2^42, so h < 2p. */
	c = h0 >> 44, h0 &= MASK44, h1 += c;
	c = h1 >> 44, h1 &= MASK44, h2 += c;
	c = h2 >> 42, h2 &= MASK42, h0 += c * 5;
	c = h0 >> 44, h0 &= MASK44, h1 += c;
	c = h1 >> 44, h1 &= MASK44, h2 += c;
	/* g = h + 5 reaches 2^130 exactly when h >= p; then h - p = g - 2^130. */
	g0 = h0 + 5, c = g0 >> 44, g0 &= MASK44;
	g1 = h1 + c, c = g1 >> 44, g1 &= MASK44;
	g2 = h2 + c;
	use_g = 0 - (g2 >> 42);
	h0 = (h0 & ~use_g) | (g0 & use_g);
	h1 = (h1 & ~use_g) | (g1 & use_g);
	h2 = (h2 & ~use_g) | (g2 & MASK42 & use_g);
	s0 = cursor_u64le(&s);
	s1 = cursor_u64le(&s);
	lo = h0 | h1 << 44;
	hi = (h1 >> 20 | h2 << 24) + s1;
	lo += s0;
	hi += lo < s0;
	put_u64le(tag, lo);
	put_u64le(tag + 8, hi);
}

/* h = (h + block) * r for every lane, block after block. While every lane
 * still has whole blocks, each reads on in place; after that each lane picks
 * its block (block_at) and lanes past their end keep h. */
VECTOR_CODE static void tags_vector(struct poly1305_job *jobs, size_t n)
{
	struct group g;
	size_t all_whole, most = group_init(&g, jobs, n, &all_whole), b = 0;
	struct lanes r = { { _mm512_loadu_si512(g.r[0]), _mm512_loadu_si512(g.r[1]),
			     _mm512_loadu_si512(g.r[2]) } };
	__m512i s1 = times20(r.l[1]), s2 = times20(r.l[2]), zero = _mm512_setzero_si512();
	const __m512i lane_blocks = _mm512_loadu_si512(g.n_blocks);
	struct lanes h = { { zero, zero, zero } };
	const uint8_t *p[POLY1305_LANES];
	uint64_t out[3][POLY1305_LANES];

	_Static_assert(sizeof(size_t) == sizeof(uint64_t), "n_blocks loads as 64-bit lanes");
	for (; b < all_whole; b++)
		h = mul(add(h, load_blocks(g.ct, b * BLOCK_LEN)), &r, s1, s2);
	for (; b < most; b++) {
		__m512i at = _mm512_set1_epi64((long long)b);
		__mmask8 active = _mm512_cmpgt_epu64_mask(lane_blocks, at);
		struct lanes next;

		for (size_t j = 0; j < POLY1305_LANES; j++)
			p[j] = block_at(&g, j, b);
		next = mul(add(h, load_blocks(p, 0)), &r, s1, s2);
		h.l[0] = _mm512_mask_blend_epi64(active, h.l[0], next.l[0]);
		h.l[1] = _mm512_mask_blend_epi64(active, h.l[1], next.l[1]);
		h.l[2] = _mm512_mask_blend_epi64(active, h.l[2], next.l[2]);
	}
	_mm512_storeu_si512(out[0], h.l[0]);
	_mm512_storeu_si512(out[1], h.l[1]);
	_mm512_storeu_si512(out[2], h.l[2]);
	for (size_t j = 0; j < n; j++) {
		finish(out[0][j], out[1][j], out[2][j], jobs[j].key + 16, jobs[j].tag);
		sodium_memzero(jobs[j].key, sizeof(jobs[j].key));
	}
	sodium_memzero(g.r, sizeof(g.r));
	sodium_memzero(out, sizeof(out));
}

bool poly1305_is_vectorized(void)
{
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
}
#else
bool poly1305_is_vectorized(void)
{
	return false;
}
#endif

bool poly1305_allow_vector(bool allowed)
{
	vector_allowed = allowed;
	return vector_allowed && poly1305_is_vectorized();
}

void poly1305_aead_tags(struct poly1305_job *jobs, size_t n)
{
#ifdef HAVE_VECTOR_CODE
	if (vector_allowed && poly1305_is_vectorized()) {
		for (size_t i = 0; i < n; i += POLY1305_LANES)
			tags_vector(jobs + i, n - i < POLY1305_LANES ? n - i : POLY1305_LANES);
		return;
	}
#endif
	for (size_t i = 0; i < n; i++)
		tag_sodium(&jobs[i]);
}
