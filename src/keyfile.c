/* keyfile — private keys from files. See keyfile.h. */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "key.h"

/* A key file holds 44 characters and a newline; anything much longer is not a key. */
#define KEYFILE_MAX 256

int keyfile_read_fd(int fd, unsigned char key[NOISE_KEY_LEN], char *err, size_t err_len)
{
	char text[KEYFILE_MAX];
	size_t len = 0;
	int ret = 0;

	for (;;) {
		ssize_t n = read(fd, text + len, sizeof(text) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, err_len, "cannot read key: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(text)) {
			ret = -EINVAL;
			snprintf(err, err_len, "key is longer than %d bytes", KEYFILE_MAX);
			goto out;
		}
	}
	if (!key_from_text(key, text, len)) {
		ret = -EINVAL;
		snprintf(err, err_len, "not a base64 key (want 44 characters, as genkey prints)");
	}
out:
	sodium_memzero(text, sizeof(text));
	return ret;
}

int keyfile_read(const char *path, unsigned char key[NOISE_KEY_LEN], char *err, size_t err_len)
{
	struct stat st;
	char why[160];
	int fd, ret;

	/* O_NONBLOCK: a FIFO here is refused below instead of waited on. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot open key file %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot stat key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, err_len, "key file %s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		ret = -EPERM;
		snprintf(err, err_len,
			 "key file %s is accessible by group or others (mode %04o); run: chmod 600 %s",
			 path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	ret = keyfile_read_fd(fd, key, why, sizeof(why));
	if (ret < 0)
		snprintf(err, err_len, "key file %s: %s", path, why);
out:
	close(fd);
	return ret;
}
