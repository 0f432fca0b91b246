/*
 * keyfile — reading a private key from a file, refusing files that others can
 * read. I/O.
 */
#ifndef VSWITCH_KEYFILE_H
#define VSWITCH_KEYFILE_H

#include <stddef.h>

#include "noise.h"

/* Read a base64 private key from path. Returns 0, or a negative errno with a
 * one-line reason in err (naming the file and what is wrong with it). */
int keyfile_read(const char *path, unsigned char key[NOISE_KEY_LEN], char *err, size_t err_len);

/* Read a base64 key from an open descriptor (stdin), same rules but no mode check. */
int keyfile_read_fd(int fd, unsigned char key[NOISE_KEY_LEN], char *err, size_t err_len);

#endif
