/*
 * key — X25519 keys as text: base64 (standard alphabet, padded, 44 characters),
 * as WireGuard writes them. Pure.
 */
#ifndef VSWITCH_KEY_H
#define VSWITCH_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "noise.h"

#define KEY_BASE64_LEN 44 /* without the terminating NUL */

/* Parse exactly one base64 key of len characters. Returns false if it is not
 * 44 valid base64 characters encoding 32 bytes. */
bool key_from_base64(unsigned char key[NOISE_KEY_LEN], const char *text, size_t len);
void key_to_base64(char out[KEY_BASE64_LEN + 1], const unsigned char key[NOISE_KEY_LEN]);
/* Clamp a private key as X25519 does (RFC 7748, section 5). */
void key_clamp(unsigned char key[NOISE_KEY_LEN]);

/* Read one key from text that may carry surrounding whitespace and a final
 * newline (a key file, or stdin). Returns false if anything else is there. */
bool key_from_text(unsigned char key[NOISE_KEY_LEN], const char *text, size_t len);

/* A stable MAC address for a port's TAP, derived from its public key: a
 * restarted port keeps its address, so neighbours' ARP caches stay right.
 * Locally administered (bit 1 of the first byte set), unicast (bit 0 clear). */
void key_derive_mac(unsigned char mac[6], const unsigned char pub[NOISE_KEY_LEN]);

#endif
