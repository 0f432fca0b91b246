/* aead — ChaCha20-Poly1305 via OpenSSL EVP or libsodium. See aead.h. */
#include "aead.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdbool.h>

static _Thread_local EVP_CIPHER_CTX *seal_ctx, *open_ctx;

static EVP_CIPHER_CTX *get_ctx(EVP_CIPHER_CTX **ctx, int encrypt)
{
	if (!*ctx) {
		*ctx = EVP_CIPHER_CTX_new();
		if (*ctx && EVP_CipherInit_ex(*ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL,
					      encrypt) != 1) {
			EVP_CIPHER_CTX_free(*ctx);
			*ctx = NULL;
		}
	}
	return *ctx;
}

static bool use_evp(size_t len)
{
	return len >= AEAD_EVP_MIN_LEN && len <= INT_MAX;
}

/* 1 sealed; 0 EVP unavailable, buf untouched; -1 failed after buf changed. */
static int evp_seal(const uint8_t *key, const uint8_t *nonce, const uint8_t *ad, size_t ad_len,
		    uint8_t *buf, size_t len)
{
	EVP_CIPHER_CTX *c = get_ctx(&seal_ctx, 1);
	int out;

	if (!c || EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) != 1 ||
	    (ad_len > 0 && EVP_EncryptUpdate(c, NULL, &out, ad, (int)ad_len) != 1))
		return 0;
	if (EVP_EncryptUpdate(c, buf, &out, buf, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, buf + len, &out) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, buf + len) != 1)
		return -1;
	return 1;
}

int aead_seal(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len)
{
	int r = use_evp(len) && ad_len <= INT_MAX ? evp_seal(key, nonce, ad, ad_len, buf, len) : 0;

	if (r < 0) {
		sodium_memzero(buf, len + AEAD_TAG_LEN);
		return -EIO;
	}
	if (r == 0)
		crypto_aead_chacha20poly1305_ietf_encrypt(buf, NULL, buf, len, ad, ad_len, NULL,
							  nonce, key);
	return 0;
}

void aead_cleanup(void)
{
	/* EVP_CIPHER_CTX_free cleanses the context, key schedule included. */
	EVP_CIPHER_CTX_free(seal_ctx);
	EVP_CIPHER_CTX_free(open_ctx);
	seal_ctx = open_ctx = NULL;
}

/* 1 authentic, 0 forged, -1 EVP unavailable. */
static int evp_open(const uint8_t *key, const uint8_t *nonce, const uint8_t *ad, size_t ad_len,
		    uint8_t *buf, size_t len)
{
	EVP_CIPHER_CTX *c = get_ctx(&open_ctx, 0);
	uint8_t *tag = buf + len - AEAD_TAG_LEN;
	int out;

	if (!c || EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) != 1 ||
	    (ad_len > 0 && EVP_DecryptUpdate(c, NULL, &out, ad, (int)ad_len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag) != 1 ||
	    EVP_DecryptUpdate(c, buf, &out, buf, (int)(len - AEAD_TAG_LEN)) != 1)
		return -1;
	return EVP_DecryptFinal_ex(c, buf + len - AEAD_TAG_LEN, &out) == 1;
}

int aead_open(const uint8_t key[AEAD_KEY_LEN], const uint8_t nonce[AEAD_NONCE_LEN],
	      const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len)
{
	int ok = -1;

	if (len < AEAD_TAG_LEN)
		return -EBADMSG;
	if (use_evp(len) && ad_len <= INT_MAX)
		ok = evp_open(key, nonce, ad, ad_len, buf, len);
	if (ok < 0)
		ok = crypto_aead_chacha20poly1305_ietf_decrypt(buf, NULL, NULL, buf, len, ad, ad_len,
							       nonce, key) == 0;
	return ok ? 0 : -EBADMSG;
}
