/* chacha — ChaCha20's keystream, many blocks at a time. See chacha.h. */
#include "chacha.h"

#include <sodium.h>
#include <string.h>

#include "buf.h"

#define BLOCKS_WIDE 16	/* blocks in one pass of 512-bit vectors */
#define BLOCKS_NARROW 8 /* ... of 256-bit vectors */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_VECTOR_CODE 1
#include <immintrin.h>

/* The kernels index their registers and the output at fixed offsets only.
 * clang's pointer-overflow checks on the unrolled rounds took ~150 s to
 * compile per file (under a second without them), so they are left out. */
#define VECTOR_CODE                                                                                \
	__attribute__((target("avx512f,avx512vl,avx512bw"), no_sanitize("pointer-overflow")))

/* Each vector holds one of the 16 state words for 16 (or 8) blocks side by
 * side; the rounds are then the RFC's quarter rounds, word for word. */
typedef uint32_t words_wide __attribute__((vector_size(BLOCKS_WIDE * 4)));
typedef uint32_t words_narrow __attribute__((vector_size(BLOCKS_NARROW * 4)));

#define ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QUARTER(a, b, c, d)                                                                        \
	do {                                                                                       \
		a += b, d ^= a, d = ROTL(d, 16);                                                   \
		c += d, b ^= c, b = ROTL(b, 12);                                                   \
		a += b, d ^= a, d = ROTL(d, 8);                                                    \
		c += d, b ^= c, b = ROTL(b, 7);                                                    \
	} while (0)

/* Section 2.3: x starts as the lanes' states s, goes through the 20 rounds
 * and gets s added back. The loops are unrolled so that x stays in registers. */
#define BLOCK_FUNCTION(x, s)                                                                       \
	do {                                                                                       \
		_Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) x[i] = s[i];                \
		_Pragma("GCC unroll 10") for (int r = 0; r < 10; r++)                              \
		{                                                                                  \
			QUARTER(x[0], x[4], x[8], x[12]);                                          \
			QUARTER(x[1], x[5], x[9], x[13]);                                          \
			QUARTER(x[2], x[6], x[10], x[14]);                                         \
			QUARTER(x[3], x[7], x[11], x[15]);                                         \
			QUARTER(x[0], x[5], x[10], x[15]);                                         \
			QUARTER(x[1], x[6], x[11], x[12]);                                         \
			QUARTER(x[2], x[7], x[8], x[13]);                                          \
			QUARTER(x[3], x[4], x[9], x[14]);                                          \
		}                                                                                  \
		_Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) x[i] += s[i];               \
	} while (0)

/* The first two steps of turning n word vectors (v[w] holds word w of each
 * block) into blocks, at vector width W (256 or 512 bits, type T): 32-bit
 * then 64-bit interleaving of neighbours. Afterwards b[4 * g + j] holds, in
 * each of its 128-bit lanes L, words 4g..4g+3 of block 4L + j. */
#define UNPACK_TWICE(W, T, v, n, b)                                                                \
	do {                                                                                       \
		T a_[n];                                                                           \
		_Pragma("GCC unroll 8") for (int i = 0; i < (n); i += 2)                           \
		{                                                                                  \
			a_[i] = _mm##W##_unpacklo_epi32((T)v[i], (T)v[i + 1]);                     \
			a_[i + 1] = _mm##W##_unpackhi_epi32((T)v[i], (T)v[i + 1]);                 \
		}                                                                                  \
		_Pragma("GCC unroll 4") for (int i = 0; i < (n); i += 4)                           \
		{                                                                                  \
			b[i] = _mm##W##_unpacklo_epi64(a_[i], a_[i + 2]);                          \
			b[i + 1] = _mm##W##_unpackhi_epi64(a_[i], a_[i + 2]);                      \
			b[i + 2] = _mm##W##_unpacklo_epi64(a_[i + 1], a_[i + 3]);                  \
			b[i + 3] = _mm##W##_unpackhi_epi64(a_[i + 1], a_[i + 3]);                  \
		}                                                                                  \
	} while (0)

/* 16 blocks: lanes 0-7 run state a (a[12] the first one's counter) and go
 * to lo, lanes 8-15 run state b and go to hi, 8 blocks each. The 16
 * consecutive blocks of one keystream are a and a 8 blocks on; the last 8
 * blocks or fewer of two keystreams share a pass the same way, which costs
 * ~0.7 of a narrow pass (below) per block. */
VECTOR_CODE static void blocks_wide(const uint32_t a[16], const uint32_t b[16], uint8_t *lo,
				    uint8_t *hi)
{
	const words_wide lane = { 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7 };
	words_wide s[16], x[16];
	__m512i t[16];

	_Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) s[i] =
		(words_wide)_mm512_mask_blend_epi32(0xff00, _mm512_set1_epi32((int)a[i]),
						    _mm512_set1_epi32((int)b[i]));
	s[12] += lane;
	BLOCK_FUNCTION(x, s);
	/* Word-major to block-major: a 16 x 16 transpose of 32-bit words; the
	 * last step gathers each block's four 128-bit lanes. */
	UNPACK_TWICE(512, __m512i, x, 16, t);
	_Pragma("GCC unroll 4") for (int j = 0; j < 4; j++)
	{
		__m512i even_lo = _mm512_shuffle_i32x4(t[j], t[4 + j], 0x88);
		__m512i odd_lo = _mm512_shuffle_i32x4(t[j], t[4 + j], 0xdd);
		__m512i even_hi = _mm512_shuffle_i32x4(t[8 + j], t[12 + j], 0x88);
		__m512i odd_hi = _mm512_shuffle_i32x4(t[8 + j], t[12 + j], 0xdd);

		_mm512_storeu_si512(lo + CHACHA_BLOCK_LEN * j,
				    _mm512_shuffle_i32x4(even_lo, even_hi, 0x88));
		_mm512_storeu_si512(lo + CHACHA_BLOCK_LEN * (4 + j),
				    _mm512_shuffle_i32x4(odd_lo, odd_hi, 0x88));
		_mm512_storeu_si512(hi + CHACHA_BLOCK_LEN * j,
				    _mm512_shuffle_i32x4(even_lo, even_hi, 0xdd));
		_mm512_storeu_si512(hi + CHACHA_BLOCK_LEN * (4 + j),
				    _mm512_shuffle_i32x4(odd_lo, odd_hi, 0xdd));
	}
}

/* 8 blocks from state into out. */
VECTOR_CODE static void blocks_narrow(const uint32_t state[16], uint8_t *out)
{
	const words_narrow lane = { 0, 1, 2, 3, 4, 5, 6, 7 };
	words_narrow s[16], x[16];

	_Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) s[i] =
		(words_narrow)_mm256_set1_epi32((int)state[i]);
	s[12] += lane;
	BLOCK_FUNCTION(x, s);
	/* Two 8 x 8 transposes: words 0-7, then 8-15, of the 8 blocks. */
	_Pragma("GCC unroll 2") for (int half = 0; half < 2; half++)
	{
		const words_narrow *v = x + 8 * half;
		__m256i b[8];

		UNPACK_TWICE(256, __m256i, v, 8, b);
		_Pragma("GCC unroll 4") for (int i = 0; i < 4; i++)
		{
			uint8_t *o = out + CHACHA_BLOCK_LEN * i + 32 * half;

			_mm256_storeu_si256((__m256i_u *)o,
					    _mm256_permute2x128_si256(b[i], b[i + 4], 0x20));
			_mm256_storeu_si256((__m256i_u *)(o + CHACHA_BLOCK_LEN * 4),
					    _mm256_permute2x128_si256(b[i], b[i + 4], 0x31));
		}
	}
}

VECTOR_CODE static void xor_vector(uint8_t *buf, const uint8_t *ks, size_t len)
{
	size_t i = 0;

	for (; i + 64 <= len; i += 64)
		_mm512_storeu_si512(buf + i, _mm512_xor_si512(_mm512_loadu_si512(buf + i),
							      _mm512_loadu_si512(ks + i)));
	if (i < len) {
		__mmask64 m = (1ULL << (len - i)) - 1; /* len - i < 64 */

		_mm512_mask_storeu_epi8(buf + i, m,
					_mm512_xor_si512(_mm512_maskz_loadu_epi8(m, buf + i),
							 _mm512_maskz_loadu_epi8(m, ks + i)));
	}
}

bool chacha_is_vectorized(void)
{
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
	       __builtin_cpu_supports("avx512bw");
}
#else
bool chacha_is_vectorized(void)
{
	return false;
}
#endif

#ifdef HAVE_VECTOR_CODE
/* "expand 32-byte k", the key, the counter, the nonce: section 2.3. */
static void load_state(uint32_t state[16], const struct chacha_job *job)
{
	struct cursor k = cursor_init(job->key, CHACHA_KEY_LEN);
	struct cursor n = cursor_init(job->nonce, CHACHA_NONCE_LEN);

	state[0] = 0x61707865;
	state[1] = 0x3320646e;
	state[2] = 0x79622d32;
	state[3] = 0x6b206574;
	for (int i = 0; i < 8; i++)
		state[4 + i] = cursor_u32le(&k);
	state[12] = job->counter;
	for (int i = 0; i < 3; i++)
		state[13 + i] = cursor_u32le(&n);
}

/* One wide pass: na blocks of a into out_a and nb of b into out_b (each at
 * most 8; a count below 8 goes through tmp). */
static void wide_into(const uint32_t a[16], uint8_t *out_a, size_t na, const uint32_t b[16],
		      uint8_t *out_b, size_t nb)
{
	uint8_t tmp[BLOCKS_WIDE * CHACHA_BLOCK_LEN];
	uint8_t *tmp_b = tmp + BLOCKS_NARROW * CHACHA_BLOCK_LEN;
	bool direct_a = na == BLOCKS_NARROW, direct_b = nb == BLOCKS_NARROW;

	blocks_wide(a, b, direct_a ? out_a : tmp, direct_b ? out_b : tmp_b);
	if (direct_a && direct_b)
		return;
	if (!direct_a)
		memcpy(out_a, tmp, na * CHACHA_BLOCK_LEN);
	if (!direct_b)
		memcpy(out_b, tmp_b, nb * CHACHA_BLOCK_LEN);
	sodium_memzero(tmp, sizeof(tmp));
}

/* Fewer than 8 blocks (or exactly 8) of state into out, in a narrow pass. */
static void narrow_into(const uint32_t state[16], uint8_t *out, size_t blocks)
{
	uint8_t tmp[BLOCKS_NARROW * CHACHA_BLOCK_LEN];

	if (blocks == BLOCKS_NARROW) {
		blocks_narrow(state, out);
		return;
	}
	blocks_narrow(state, tmp);
	memcpy(out, tmp, blocks * CHACHA_BLOCK_LEN);
	sodium_memzero(tmp, sizeof(tmp));
}

/* A keystream's blocks past its whole 16-block passes: state, where they go
 * and how many (0-15). */
struct tail {
	uint32_t state[16];
	uint8_t *out;
	size_t blocks;
};

/* job's whole 16-block passes; the rest of it into t. */
static void whole_passes(const struct chacha_job *job, struct tail *t)
{
	uint32_t next[16];
	size_t blocks = job->blocks;

	load_state(t->state, job);
	t->out = job->out;
	memcpy(next, t->state, sizeof(next));
	for (; blocks >= BLOCKS_WIDE; blocks -= BLOCKS_WIDE) {
		next[12] = t->state[12] + BLOCKS_NARROW;
		blocks_wide(t->state, next, t->out, t->out + BLOCKS_NARROW * CHACHA_BLOCK_LEN);
		t->state[12] += BLOCKS_WIDE;
		t->out += BLOCKS_WIDE * CHACHA_BLOCK_LEN;
	}
	t->blocks = blocks;
	if (blocks > BLOCKS_NARROW) { /* alone: 8 and then the rest, in one pass */
		next[12] = t->state[12] + BLOCKS_NARROW;
		wide_into(t->state, t->out, BLOCKS_NARROW, next,
			  t->out + BLOCKS_NARROW * CHACHA_BLOCK_LEN, blocks - BLOCKS_NARROW);
		t->blocks = 0;
	}
	sodium_memzero(next, sizeof(next));
}

static void keystreams_vector(const struct chacha_job *jobs, size_t n)
{
	struct tail t[2];
	size_t held = 0; /* tails of 1-8 blocks in t waiting for a partner */

	for (size_t i = 0; i < n; i++) {
		whole_passes(&jobs[i], &t[held]);
		if (t[held].blocks == 0)
			continue;
		if (++held < 2)
			continue;
		wide_into(t[0].state, t[0].out, t[0].blocks, t[1].state, t[1].out, t[1].blocks);
		held = 0;
	}
	if (held)
		narrow_into(t[0].state, t[0].out, t[0].blocks);
	sodium_memzero(t, sizeof(t));
}
#endif

void chacha_keystreams(const struct chacha_job *jobs, size_t n)
{
#ifdef HAVE_VECTOR_CODE
	if (chacha_is_vectorized()) {
		keystreams_vector(jobs, n);
		return;
	}
#endif
	for (size_t i = 0; i < n; i++) {
		const struct chacha_job *job = &jobs[i];
		size_t len = job->blocks * CHACHA_BLOCK_LEN;

		memset(job->out, 0, len);
		crypto_stream_chacha20_ietf_xor_ic(job->out, job->out, len, job->nonce,
						   job->counter, job->key);
	}
}

void chacha_keystream(const uint8_t key[CHACHA_KEY_LEN], const uint8_t nonce[CHACHA_NONCE_LEN],
		      uint32_t counter, uint8_t *out, size_t blocks)
{
	const struct chacha_job job = {
		.key = key, .nonce = nonce, .counter = counter, .out = out, .blocks = blocks
	};

	chacha_keystreams(&job, 1);
}

void chacha_xor(uint8_t *buf, const uint8_t *ks, size_t len)
{
#ifdef HAVE_VECTOR_CODE
	if (chacha_is_vectorized()) {
		xor_vector(buf, ks, len);
		return;
	}
#endif
	for (size_t i = 0; i < len; i++)
		buf[i] ^= ks[i];
}
