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

/* Section 2.3 on x, all zero on entry: load the state (and each lane's
 * counter), 20 rounds, add the state back. The loops are unrolled so that x
 * stays in registers. */
#define BLOCK_FUNCTION(x, state, counters)                                                         \
	do {                                                                                       \
		_Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) x[i] += state[i];            \
		x[12] += counters;                                                                 \
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
		_Pragma("GCC unroll 16") for (int i = 0; i < 16; i++) x[i] += state[i];            \
		x[12] += counters;                                                                 \
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

/* 16 blocks from state (state[12] the first block's counter) into out. */
VECTOR_CODE static void blocks_wide(const uint32_t state[16], uint8_t *out)
{
	const words_wide counters = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	words_wide x[16] = { 0 };
	__m512i b[16];

	BLOCK_FUNCTION(x, state, counters);
	/* Word-major to block-major: a 16 x 16 transpose of 32-bit words; the
	 * last step gathers each block's four 128-bit lanes. */
	UNPACK_TWICE(512, __m512i, x, 16, b);
	_Pragma("GCC unroll 4") for (int j = 0; j < 4; j++)
	{
		__m512i even_lo = _mm512_shuffle_i32x4(b[j], b[4 + j], 0x88);
		__m512i odd_lo = _mm512_shuffle_i32x4(b[j], b[4 + j], 0xdd);
		__m512i even_hi = _mm512_shuffle_i32x4(b[8 + j], b[12 + j], 0x88);
		__m512i odd_hi = _mm512_shuffle_i32x4(b[8 + j], b[12 + j], 0xdd);

		_mm512_storeu_si512(out + CHACHA_BLOCK_LEN * j,
				    _mm512_shuffle_i32x4(even_lo, even_hi, 0x88));
		_mm512_storeu_si512(out + CHACHA_BLOCK_LEN * (4 + j),
				    _mm512_shuffle_i32x4(odd_lo, odd_hi, 0x88));
		_mm512_storeu_si512(out + CHACHA_BLOCK_LEN * (8 + j),
				    _mm512_shuffle_i32x4(even_lo, even_hi, 0xdd));
		_mm512_storeu_si512(out + CHACHA_BLOCK_LEN * (12 + j),
				    _mm512_shuffle_i32x4(odd_lo, odd_hi, 0xdd));
	}
}

/* 8 blocks from state into out. */
VECTOR_CODE static void blocks_narrow(const uint32_t state[16], uint8_t *out)
{
	const words_narrow counters = { 0, 1, 2, 3, 4, 5, 6, 7 };
	words_narrow x[16] = { 0 };

	BLOCK_FUNCTION(x, state, counters);
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

/* A partial pass: all its blocks into tmp, the ones wanted into out. */
static void part_pass(void (*pass)(const uint32_t *, uint8_t *), const uint32_t state[16],
		      uint8_t *out, size_t blocks)
{
	uint8_t tmp[BLOCKS_WIDE * CHACHA_BLOCK_LEN];

	pass(state, tmp);
	memcpy(out, tmp, blocks * CHACHA_BLOCK_LEN);
	sodium_memzero(tmp, sizeof(tmp));
}

void chacha_keystream(const uint8_t key[CHACHA_KEY_LEN], const uint8_t nonce[CHACHA_NONCE_LEN],
		      uint32_t counter, uint8_t *out, size_t blocks)
{
#ifdef HAVE_VECTOR_CODE
	if (chacha_is_vectorized()) {
		/* "expand 32-byte k", the key, the counter, the nonce: section 2.3. */
		uint32_t state[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };
		struct cursor k = cursor_init(key, CHACHA_KEY_LEN);
		struct cursor n = cursor_init(nonce, CHACHA_NONCE_LEN);

		for (int i = 0; i < 8; i++)
			state[4 + i] = cursor_u32le(&k);
		state[12] = counter;
		for (int i = 0; i < 3; i++)
			state[13 + i] = cursor_u32le(&n);
		for (; blocks >= BLOCKS_WIDE; blocks -= BLOCKS_WIDE) {
			blocks_wide(state, out);
			state[12] += BLOCKS_WIDE;
			out += BLOCKS_WIDE * CHACHA_BLOCK_LEN;
		}
		if (blocks > BLOCKS_NARROW)
			part_pass(blocks_wide, state, out, blocks);
		else if (blocks == BLOCKS_NARROW)
			blocks_narrow(state, out);
		else if (blocks > 0)
			part_pass(blocks_narrow, state, out, blocks);
		sodium_memzero(state, sizeof(state));
		return;
	}
#endif
	memset(out, 0, blocks * CHACHA_BLOCK_LEN);
	crypto_stream_chacha20_ietf_xor_ic(out, out, blocks * CHACHA_BLOCK_LEN, nonce, counter, key);
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
