/*
 * aeadspeed — what one ChaCha20-Poly1305 message costs on this machine, by
 * library and by size: libsodium, OpenSSL's EVP AEAD, and src/aead.c's frame
 * path, with OpenSSL's ChaCha20 and, where the CPU has AVX-512, with this
 * project's (both with OpenSSL's Poly1305, see aead.h), and with this
 * project's ChaCha20 sealing eight frames before making their eight tags in
 * one go and opening eight at once (src/poly1305.h), as the daemons do. In place, a fresh nonce per
 * message, as the data path does. `make bench` prints it; the
 * numbers choose AEAD_FRAME_OPENSSL_MIN_LEN.
 *
 * usage: aeadspeed [ITERATIONS]
 */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aead.h"

static const size_t sizes[] = { 64, 128, 192, 256, 512, 1024, 1434 };
#define MAX_SIZE 1434

static uint8_t room[AEAD_FRAME_HEADROOM + MAX_SIZE + AEAD_TAG_LEN];
static uint8_t *const buf = room + AEAD_FRAME_HEADROOM;
static uint8_t key[AEAD_KEY_LEN];
static EVP_CIPHER_CTX *evp;

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void nonce_for(uint8_t nonce[AEAD_NONCE_LEN], unsigned long i)
{
	memset(nonce, 0, AEAD_NONCE_LEN);
	memcpy(nonce + 4, &i, sizeof(i) < 8 ? sizeof(i) : 8);
}

static int seal_sodium(const uint8_t *nonce, size_t len)
{
	return crypto_aead_chacha20poly1305_ietf_encrypt(buf, NULL, buf, len, NULL, 0, NULL, nonce,
							 key);
}

static int seal_evp(const uint8_t *nonce, size_t len)
{
	int out;

	return EVP_EncryptInit_ex(evp, NULL, NULL, key, nonce) == 1 &&
			       EVP_EncryptUpdate(evp, buf, &out, buf, (int)len) == 1 &&
			       EVP_EncryptFinal_ex(evp, buf + len, &out) == 1 &&
			       EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN,
						   buf + len) == 1
		       ? 0
		       : -1;
}

static int seal_frame(const uint8_t *nonce, size_t len)
{
	return aead_seal_frame(key, nonce, buf, len);
}

/* Seal with the same nonce each time, then open: the open is what is timed. */
static int open_frame(const uint8_t *nonce, size_t len)
{
	return aead_open_frame(key, nonce, buf, len + AEAD_TAG_LEN);
}

static double time_it(int (*fn)(const uint8_t *, size_t), size_t len, unsigned long n,
		      int sealed_once)
{
	uint8_t nonce[AEAD_NONCE_LEN];
	double t;

	if (sealed_once) {
		nonce_for(nonce, 0);
		if (aead_seal_frame(key, nonce, buf, len) != 0)
			return -1;
	}
	t = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		if (!sealed_once)
			nonce_for(nonce, i);
		if (fn(nonce, len) != 0)
			return -1;
		if (sealed_once && aead_seal_frame(key, nonce, buf, len) != 0)
			return -1;
	}
	return (now_ns() - t) / (double)n;
}

/* As the daemons do: eight frames, each in its own buffer, sealed together
 * (aead_seal_frames) with tags deferred (aead_defer_tags), then their tags in
 * one go; opening eight at once (aead_open_frames), timed as the difference. */
static uint8_t run_room[8][AEAD_FRAME_HEADROOM + MAX_SIZE + AEAD_TAG_LEN];

static double time_deferred(size_t len, unsigned long n, bool open_too)
{
	struct aead_seal_job seals[8];
	struct aead_open_job jobs[8];
	double t = now_ns();

	for (unsigned long i = 0; i < n; i++) {
		struct aead_seal_job *seal = &seals[i % 8];
		struct aead_open_job *job = &jobs[i % 8];

		nonce_for(seal->nonce, i);
		seal->key = key;
		seal->buf = run_room[i % 8] + AEAD_FRAME_HEADROOM;
		seal->len = len;
		memcpy(job->nonce, seal->nonce, sizeof(job->nonce));
		job->key = key;
		job->buf = seal->buf;
		job->len = len + AEAD_TAG_LEN;
		if (i % 8 != 7)
			continue;
		aead_seal_frames(seals, 8);
		for (int k = 0; k < 8; k++)
			if (seals[k].result != 0)
				return -1;
		aead_finish_tags();
		if (open_too)
			aead_open_frames(jobs, 8);
		for (int k = 0; open_too && k < 8; k++)
			if (jobs[k].result != 0)
				return -1;
	}
	aead_finish_tags();
	return (now_ns() - t) / (double)n;
}

/* The frame path's seal and open, with the ChaCha20 aead_allow_vector_chacha
 * left it. */
static void print_frame(size_t len, unsigned long n)
{
	double seal_ns = time_it(seal_frame, len, n, 0);

	printf(" %11.0f %11.0f", seal_ns, time_it(open_frame, len, n, 1) - seal_ns);
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
	bool vector = aead_allow_vector_chacha(true), deferred = aead_defer_tags(true);

	if (n == 0 || sodium_init() < 0)
		return fprintf(stderr, "usage: aeadspeed [ITERATIONS > 0]\n"), 1;
	evp = EVP_CIPHER_CTX_new();
	if (!evp || EVP_EncryptInit_ex(evp, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1)
		return fprintf(stderr, "aeadspeed: OpenSSL has no ChaCha20-Poly1305\n"), 1;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(buf, MAX_SIZE);
	printf("ChaCha20-Poly1305, ns per message (in place, %lu messages each)\n", n);
	aead_defer_tags(false);
	printf("%6s %10s %10s %23s %23s %23s\n", "", "", "", "frame, OpenSSL ChaCha20",
	       vector ? "frame, vector ChaCha20" : "(no AVX-512 here)",
	       vector && deferred ? "vector, 8 at a time" : "");
	printf("%6s %10s %10s %11s %11s %11s %11s %11s %11s\n", "bytes", "libsodium", "EVP AEAD",
	       "seal", "open", vector ? "seal" : "", vector ? "open" : "",
	       vector && deferred ? "seal" : "", vector && deferred ? "open" : "");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];

		printf("%6zu %10.0f %10.0f", len, time_it(seal_sodium, len, n, 0),
		       time_it(seal_evp, len, n, 0));
		aead_allow_vector_chacha(false);
		print_frame(len, n);
		if (aead_allow_vector_chacha(true))
			print_frame(len, n);
		if (vector && aead_defer_tags(true)) {
			double seal_ns = time_deferred(len, n, false);

			printf(" %11.0f %11.0f", seal_ns, time_deferred(len, n, true) - seal_ns);
			aead_defer_tags(false);
		}
		printf("\n");
	}
	EVP_CIPHER_CTX_free(evp);
	aead_cleanup();
	return 0;
}
