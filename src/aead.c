/* aead — ChaCha20-Poly1305, RFC 8439. See aead.h. */
#include "aead.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "chacha.h"
#include "poly1305.h"

#define CHACHA_IV_LEN 16 /* OpenSSL's: 32-bit block counter (LE), then the nonce */

_Static_assert(AEAD_FRAME_HEADROOM == CHACHA_BLOCK_LEN, "the headroom holds block 0");
_Static_assert(AEAD_FRAME_OPENSSL_MAX_LEN <= 0x7fffffff - CHACHA_BLOCK_LEN, "fits an int");

enum { SEAL, OPEN };

/* One ChaCha20 context for sealing and one for opening, each remembering its
 * last key: a batch from one port forwarded to another reuses both, and an
 * IV-only restart skips the key setup (66 -> 43 ns a message). */
struct openssl_state {
	EVP_CIPHER_CTX *chacha[2];
	uint8_t key[2][AEAD_KEY_LEN];
	bool has_key[2];
	EVP_MAC_CTX *poly;
	bool failed; /* contexts could not be made: stay on libsodium */
};

static _Thread_local struct openssl_state ossl;
/* OpenSSL's ChaCha20: aead_open_frame decrypts here first, so a forgery
 * never touches buf. Ours: the keystream, block 0 first. Only the Poly1305
 * key is wiped after each message: the rest gives no more than the frame
 * itself, which stays in the caller's buffers until they are reused. */
static _Thread_local uint8_t scratch[CHACHA_BLOCK_LEN + AEAD_FRAME_OPENSSL_MAX_LEN];
static bool vector_chacha_allowed = true;

/* What a tag costs, in tenths of a ns, on the reference machine (48 frames,
 * each length 0-1,434 bytes in turn): a lane group of the vector Poly1305
 * ~175 ns plus ~10.8 ns a block of its longest message, however many lanes it
 * fills; OpenSSL's, one message, ~80 ns plus ~1.6 ns a block. Eight full
 * frames: 1,160 against 1,800 ns; three: 1,160 against 680. */
#define VECTOR_GROUP_COST 1750
#define VECTOR_BLOCK_COST 108
#define ONE_TAG_COST 800
#define ONE_BLOCK_COST 16

/* Sealed frames whose tags aead_finish_tags still has to make (see
 * aead_defer_tags). */
#define DEFERRED_MAX 64
static _Thread_local struct poly1305_job deferred[DEFERRED_MAX];
static _Thread_local size_t deferred_count;
static _Thread_local bool defer_tags;

/* aead_seal_frames and aead_open_frames: each frame of a run its own
 * keystream, block 0 first. */
static _Thread_local uint8_t run_keystream[POLY1305_LANES]
					  [CHACHA_BLOCK_LEN + AEAD_FRAME_OPENSSL_MAX_LEN];

int aead_seal(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len)
{
	crypto_aead_chacha20poly1305_ietf_encrypt(buf, NULL, buf, len, ad, ad_len, NULL, nonce,
						  key);
	return 0;
}

int aead_open(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len)
{
	if (len < AEAD_TAG_LEN ||
	    crypto_aead_chacha20poly1305_ietf_decrypt(buf, NULL, NULL, buf, len, ad, ad_len, nonce,
						      key) != 0)
		return -EBADMSG;
	return 0;
}

/* Free this thread's OpenSSL contexts (remade when next needed); tags still
 * to make are left alone. */
static void free_contexts(void)
{
	/* The free functions cleanse the contexts, key schedules included. */
	for (int d = SEAL; d <= OPEN; d++) {
		EVP_CIPHER_CTX_free(ossl.chacha[d]);
		ossl.chacha[d] = NULL;
		ossl.has_key[d] = false;
	}
	EVP_MAC_CTX_free(ossl.poly);
	ossl.poly = NULL;
	sodium_memzero(ossl.key, sizeof(ossl.key));
}

static bool openssl_ready(void)
{
	EVP_MAC *poly;

	if (ossl.poly || ossl.failed)
		return !ossl.failed;
	poly = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	ossl.poly = poly ? EVP_MAC_CTX_new(poly) : NULL;
	EVP_MAC_free(poly);
	for (int d = SEAL; d <= OPEN; d++) {
		ossl.chacha[d] = EVP_CIPHER_CTX_new();
		if (!ossl.chacha[d] ||
		    EVP_EncryptInit_ex(ossl.chacha[d], EVP_chacha20(), NULL, NULL, NULL) != 1)
			ossl.failed = true;
	}
	if (!ossl.poly || ossl.failed) {
		free_contexts();
		ossl.failed = true;
	}
	return !ossl.failed;
}

static bool use_openssl(size_t len)
{
	return len >= AEAD_FRAME_OPENSSL_MIN_LEN && len <= AEAD_FRAME_OPENSSL_MAX_LEN &&
	       openssl_ready();
}

/* Without a branch on key bytes, and in four loads: CRYPTO_memcmp's byte loop
 * was 1% of the switch's time with 64-byte frames. */
static bool same_key(const uint8_t a[AEAD_KEY_LEN], const uint8_t b[AEAD_KEY_LEN])
{
	uint64_t x[AEAD_KEY_LEN / 8], y[AEAD_KEY_LEN / 8], diff = 0;

	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	for (size_t i = 0; i < AEAD_KEY_LEN / 8; i++)
		diff |= x[i] ^ y[i];
	sodium_memzero(x, sizeof(x));
	sodium_memzero(y, sizeof(y));
	return diff == 0;
}

static bool chacha_start(int d, const uint8_t key[AEAD_KEY_LEN],
			 const uint8_t nonce[AEAD_NONCE_LEN])
{
	uint8_t iv[CHACHA_IV_LEN] = { 0 };
	bool same = ossl.has_key[d] && same_key(ossl.key[d], key);

	memcpy(iv + CHACHA_IV_LEN - AEAD_NONCE_LEN, nonce, AEAD_NONCE_LEN);
	ossl.has_key[d] = false;
	if (EVP_EncryptInit_ex(ossl.chacha[d], NULL, NULL, same ? NULL : key, iv) != 1)
		return false;
	memcpy(ossl.key[d], key, AEAD_KEY_LEN);
	ossl.has_key[d] = true;
	return true;
}

/* ChaCha20 from block 0 over in[0..len) into out: in starts with a zero block,
 * so out starts with block 0's keystream, the first 32 bytes the Poly1305 key. */
static bool chacha_run(int d, const uint8_t *in, uint8_t *out, size_t len)
{
	int out_len;

	return EVP_EncryptUpdate(ossl.chacha[d], out, &out_len, in, (int)len) == 1 &&
	       (size_t)out_len == len;
}

/* Section 2.8 with no associated data: the MAC of ct, zero-padded to 16
 * bytes, then the two lengths as 64-bit little-endian numbers (0 and len).
 * ct's whole 16-byte blocks go to OpenSSL straight from the message, the rest
 * with the padding and the lengths from one block-sized piece: a partial
 * block at the end of the first update cost ~35 ns a message. */
static bool poly_tag(const uint8_t key[POLY1305_KEY_LEN], const uint8_t *ct, size_t len,
		     uint8_t tag[AEAD_TAG_LEN])
{
	uint8_t last[16 + 16] = { 0 };
	size_t whole = len - len % 16, last_len = (len % 16 ? 16 : 0) + 16, tag_len;
	uint64_t n = len;

	memcpy(last, ct + whole, len % 16);
	for (size_t i = 0; i < 8; i++, n >>= 8)
		last[last_len - 8 + i] = (uint8_t)n;
	return EVP_MAC_init(ossl.poly, key, POLY1305_KEY_LEN, NULL) == 1 &&
	       EVP_MAC_update(ossl.poly, ct, whole) == 1 &&
	       EVP_MAC_update(ossl.poly, last, last_len) == 1 &&
	       EVP_MAC_final(ossl.poly, tag, &tag_len, AEAD_TAG_LEN) == 1 &&
	       tag_len == AEAD_TAG_LEN;
}

static bool use_vector_chacha(void)
{
	return vector_chacha_allowed && chacha_is_vectorized();
}

bool aead_allow_vector_chacha(bool allowed)
{
	vector_chacha_allowed = allowed;
	return use_vector_chacha();
}

/* Either ChaCha20 leaves the Poly1305 key at the start of scratch. Sealing
 * encrypts buf in place; opening leaves buf alone and puts after block 0 in
 * scratch what turns its ciphertext into plaintext: ours the keystream,
 * OpenSSL's the plaintext itself.
 *
 * Ours: block 0 of the keystream, then the blocks that cover len bytes. */
static size_t keystream_blocks(size_t len)
{
	return 1 + (len + CHACHA_BLOCK_LEN - 1) / CHACHA_BLOCK_LEN;
}

static void keystream_into(uint8_t *out, const uint8_t key[AEAD_KEY_LEN],
			   const uint8_t nonce[AEAD_NONCE_LEN], size_t len)
{
	chacha_keystream(key, nonce, 0, out, keystream_blocks(len));
}

/* The keystream of a run's frame number slot, for chacha_keystreams. */
static struct chacha_job run_stream(size_t slot, const uint8_t key[AEAD_KEY_LEN],
				    const uint8_t nonce[AEAD_NONCE_LEN], size_t len)
{
	return (struct chacha_job){ .key = key,
				    .nonce = nonce,
				    .out = run_keystream[slot],
				    .blocks = keystream_blocks(len) };
}

/* OpenSSL's ChaCha20 from block 0 over a zeroed block in the 64 bytes before
 * buf (restored after) and buf's len bytes, in place or into scratch. */
static bool chacha_openssl(int d, uint8_t *buf, size_t len, bool in_place)
{
	uint8_t *block0 = buf - AEAD_FRAME_HEADROOM, saved[CHACHA_BLOCK_LEN];
	bool ok;

	memcpy(saved, block0, sizeof(saved));
	memset(block0, 0, CHACHA_BLOCK_LEN);
	ok = chacha_run(d, block0, in_place ? block0 : scratch, CHACHA_BLOCK_LEN + len);
	if (in_place)
		memcpy(scratch, block0, POLY1305_KEY_LEN);
	memcpy(block0, saved, sizeof(saved));
	return ok;
}

/* The Poly1305 key (wiped here) and the ciphertext in buf: a job for
 * aead_finish_tags. */
static void defer_tag(uint8_t poly_key[POLY1305_KEY_LEN], uint8_t *buf, size_t len)
{
	struct poly1305_job *job;

	if (deferred_count == DEFERRED_MAX)
		aead_finish_tags();
	job = &deferred[deferred_count++];
	memcpy(job->key, poly_key, POLY1305_KEY_LEN);
	sodium_memzero(poly_key, POLY1305_KEY_LEN);
	job->ct = buf;
	job->len = len;
	job->tag = buf + len;
}

bool aead_defer_tags(bool defer)
{
	if (!defer)
		aead_finish_tags();
	defer_tags = defer && poly1305_is_vectorized();
	return defer_tags;
}

/* One job through OpenSSL's Poly1305, or if that fails, ours. */
static void tag_one(struct poly1305_job *job)
{
	if (openssl_ready() && poly_tag(job->key, job->ct, job->len, job->tag))
		sodium_memzero(job->key, POLY1305_KEY_LEN);
	else
		poly1305_aead_tags(job, 1);
}

static size_t blocks_of(const struct poly1305_job *job)
{
	return (job->len + 15) / 16 + 1; /* padded message, then the lengths */
}

/* How many jobs from jobs[0] on form a group: up to POLY1305_LANES, each
 * within a factor of two in blocks of the first. A run of frames sealed or
 * received together mostly has one length (a GSO or GRO run). */
static size_t group_size(const struct poly1305_job *jobs, size_t n, size_t *most,
			 size_t *one_by_one)
{
	size_t first = blocks_of(&jobs[0]), k = 0;

	*most = 0;
	*one_by_one = 0;
	for (; k < n && k < POLY1305_LANES; k++) {
		size_t b = blocks_of(&jobs[k]);

		if (b > 2 * first || 2 * b < first)
			break;
		if (b > *most)
			*most = b;
		*one_by_one += ONE_TAG_COST + ONE_BLOCK_COST * b;
	}
	return k;
}

/* The tags of n jobs, group by group: through the vector Poly1305 where that
 * costs less than one by one through OpenSSL's. */
static void make_tags(struct poly1305_job *jobs, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t most, one_by_one, k = group_size(jobs + i, n - i, &most, &one_by_one);

		if (VECTOR_GROUP_COST + VECTOR_BLOCK_COST * most < one_by_one)
			poly1305_aead_tags(jobs + i, k);
		else
			for (size_t j = i; j < i + k; j++)
				tag_one(&jobs[j]);
		i += k;
	}
}

void aead_finish_tags(void)
{
	make_tags(deferred, deferred_count);
	deferred_count = 0;
}

/* The tag of the ciphertext in buf, from its Poly1305 key (wiped here):
 * deferred, or made now. Returns 0, or -EIO with buf wiped. */
static int tag_frame(uint8_t poly_key[POLY1305_KEY_LEN], uint8_t *buf, size_t len)
{
	bool ok;

	if (defer_tags) {
		defer_tag(poly_key, buf, len);
		return 0;
	}
	ok = poly_tag(poly_key, buf, len, buf + len);
	sodium_memzero(poly_key, POLY1305_KEY_LEN);
	if (!ok) {
		sodium_memzero(buf, len + AEAD_TAG_LEN);
		return -EIO;
	}
	return 0;
}

int aead_seal_frame(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
		    uint8_t *buf, size_t len)
{
	if (!use_openssl(len))
		return aead_seal(key, nonce, NULL, 0, buf, len);
	if (use_vector_chacha()) {
		keystream_into(scratch, key, nonce, len);
		chacha_xor(buf, scratch + CHACHA_BLOCK_LEN, len);
	} else if (!chacha_start(SEAL, key, nonce)) { /* nothing changed yet */
		return aead_seal(key, nonce, NULL, 0, buf, len);
	} else if (!chacha_openssl(SEAL, buf, len, true)) {
		sodium_memzero(scratch, POLY1305_KEY_LEN);
		sodium_memzero(buf, len + AEAD_TAG_LEN);
		return -EIO;
	}
	return tag_frame(scratch, buf, len);
}

/* Up to POLY1305_LANES frames of jobs: their keystreams, made together
 * (chacha_keystreams pairs their last blocks) each into its own slot, then
 * each frame encrypted and its tag made or deferred. Frames the run cannot
 * take go through aead_seal_frame. */
static void seal_run(struct aead_seal_job *jobs, size_t n, bool vector)
{
	struct chacha_job streams[POLY1305_LANES] = { 0 };
	size_t which[POLY1305_LANES], m = 0;

	for (size_t i = 0; i < n; i++) {
		struct aead_seal_job *job = &jobs[i];

		if (!vector || !use_openssl(job->len)) {
			job->result = aead_seal_frame(job->key, job->nonce, job->buf, job->len);
			continue;
		}
		streams[m] = run_stream(m, job->key, job->nonce, job->len);
		which[m++] = i;
	}
	chacha_keystreams(streams, m);
	for (size_t k = 0; k < m; k++) {
		struct aead_seal_job *job = &jobs[which[k]];

		chacha_xor(job->buf, run_keystream[k] + CHACHA_BLOCK_LEN, job->len);
		job->result = tag_frame(run_keystream[k], job->buf, job->len);
	}
}

void aead_seal_frames(struct aead_seal_job *jobs, size_t n)
{
	bool vector = use_vector_chacha();

	for (size_t i = 0; i < n; i += POLY1305_LANES)
		seal_run(jobs + i, n - i < POLY1305_LANES ? n - i : POLY1305_LANES, vector);
}

/* The tag is checked over the ciphertext before a byte of buf changes. */
int aead_open_frame(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
		    uint8_t *buf, size_t len)
{
	uint8_t tag[AEAD_TAG_LEN];
	size_t ct_len;
	bool vector, ok;

	if (len < AEAD_TAG_LEN)
		return -EBADMSG;
	ct_len = len - AEAD_TAG_LEN;
	if (!use_openssl(ct_len))
		return aead_open(key, nonce, NULL, 0, buf, len);
	vector = use_vector_chacha();
	if (vector) {
		keystream_into(scratch, key, nonce, ct_len);
		ok = true;
	} else {
		ok = chacha_start(OPEN, key, nonce) && chacha_openssl(OPEN, buf, ct_len, false);
	}
	ok = ok && poly_tag(scratch, buf, ct_len, tag);
	sodium_memzero(scratch, POLY1305_KEY_LEN);
	if (!ok) /* buf is untouched: libsodium decides */
		return aead_open(key, nonce, NULL, 0, buf, len);
	if (CRYPTO_memcmp(tag, buf + ct_len, AEAD_TAG_LEN) != 0)
		return -EBADMSG;
	if (vector)
		chacha_xor(buf, scratch + CHACHA_BLOCK_LEN, ct_len);
	else
		memcpy(buf, scratch + CHACHA_BLOCK_LEN, ct_len);
	return 0;
}

/* Up to POLY1305_LANES frames of jobs: their keystreams, made together
 * (chacha_keystreams pairs their last blocks) each into its own slot, then
 * their tags over the untouched ciphertexts in one go, then each that matches
 * decrypted in place. Frames the batch cannot take go through
 * aead_open_frame. */
static void open_run(struct aead_open_job *jobs, size_t n, bool batch)
{
	struct chacha_job streams[POLY1305_LANES] = { 0 };
	struct poly1305_job tags[POLY1305_LANES];
	uint8_t want[POLY1305_LANES][AEAD_TAG_LEN];
	size_t which[POLY1305_LANES], m = 0;

	for (size_t i = 0; i < n; i++) {
		struct aead_open_job *job = &jobs[i];
		size_t ct_len = job->len - AEAD_TAG_LEN;

		if (!batch || job->len < AEAD_TAG_LEN || !use_openssl(ct_len)) {
			job->result = aead_open_frame(job->key, job->nonce, job->buf, job->len);
			continue;
		}
		streams[m] = run_stream(m, job->key, job->nonce, ct_len);
		tags[m].ct = job->buf;
		tags[m].len = ct_len;
		tags[m].tag = want[m];
		which[m++] = i;
	}
	chacha_keystreams(streams, m);
	for (size_t k = 0; k < m; k++) {
		memcpy(tags[k].key, run_keystream[k], POLY1305_KEY_LEN);
		sodium_memzero(run_keystream[k], POLY1305_KEY_LEN);
	}
	make_tags(tags, m);
	for (size_t k = 0; k < m; k++) {
		struct aead_open_job *job = &jobs[which[k]];
		size_t ct_len = job->len - AEAD_TAG_LEN;

		job->result = -EBADMSG;
		if (CRYPTO_memcmp(want[k], job->buf + ct_len, AEAD_TAG_LEN) != 0)
			continue;
		chacha_xor(job->buf, run_keystream[k] + CHACHA_BLOCK_LEN, ct_len);
		job->result = 0;
	}
}

void aead_open_frames(struct aead_open_job *jobs, size_t n)
{
	bool batch = use_vector_chacha() && poly1305_is_vectorized();

	for (size_t i = 0; i < n; i += POLY1305_LANES)
		open_run(jobs + i, n - i < POLY1305_LANES ? n - i : POLY1305_LANES, batch);
}

bool aead_forget_key(const uint8_t key[AEAD_KEY_LEN])
{
	static const uint8_t zero_key[AEAD_KEY_LEN];
	const uint8_t zero_iv[CHACHA_IV_LEN] = { 0 };
	bool kept = false;

	for (int d = SEAL; d <= OPEN; d++) {
		if (!ossl.has_key[d] || !same_key(ossl.key[d], key))
			continue;
		kept = true;
		sodium_memzero(ossl.key[d], AEAD_KEY_LEN);
		ossl.has_key[d] = false;
		/* OpenSSL's context holds the key too: overwrite it, or if that
		 * fails, free every context (remade when next needed). */
		if (EVP_EncryptInit_ex(ossl.chacha[d], NULL, NULL, zero_key, zero_iv) != 1) {
			free_contexts();
			break;
		}
	}
	return kept;
}

void aead_cleanup(void)
{
	free_contexts();
	sodium_memzero(deferred, sizeof(deferred));
	deferred_count = 0;
}
