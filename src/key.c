/* key — base64 keys. See key.h. */
#include "key.h"

#include <sodium.h>
#include <string.h>

bool key_from_base64(unsigned char key[NOISE_KEY_LEN], const char *text, size_t len)
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (len != KEY_BASE64_LEN || text[len - 1] != '=')
		return false;
	if (sodium_base642bin(key, NOISE_KEY_LEN, text, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	return bin_len == NOISE_KEY_LEN && end == text + len;
}

void key_to_base64(char out[KEY_BASE64_LEN + 1], const unsigned char key[NOISE_KEY_LEN])
{
	sodium_bin2base64(out, KEY_BASE64_LEN + 1, key, NOISE_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

void key_derive_mac(unsigned char mac[6], const unsigned char pub[NOISE_KEY_LEN])
{
	static const unsigned char label[] = "vswitch tap mac";
	unsigned char hash[16];
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, NULL, 0, sizeof(hash));
	crypto_generichash_blake2b_update(&st, label, sizeof(label) - 1);
	crypto_generichash_blake2b_update(&st, pub, NOISE_KEY_LEN);
	crypto_generichash_blake2b_final(&st, hash, sizeof(hash));
	memcpy(mac, hash, 6);
	mac[0] = (unsigned char)((mac[0] & 0xfe) | 0x02);
}

void key_clamp(unsigned char key[NOISE_KEY_LEN])
{
	key[0] &= 248;
	key[31] = (unsigned char)((key[31] & 127) | 64);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool key_from_text(unsigned char key[NOISE_KEY_LEN], const char *text, size_t len)
{
	size_t start = 0;

	while (start < len && is_space(text[start]))
		start++;
	while (len > start && is_space(text[len - 1]))
		len--;
	return key_from_base64(key, text + start, len - start);
}
