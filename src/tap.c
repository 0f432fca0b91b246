/* tap — the TAP device. See tap.h. */
#include "tap.h"

#include "offload.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* UDP segmentation offload (Linux 6.2); older headers lack the names. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

int tap_open(const char *name, bool offload, bool *uso, int *ifindex, char *err, size_t err_len)
{
	struct ifreq ifr;
	int fd, ret;

	*uso = false;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot open /dev/net/tun: %s", strerror(errno));
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot create TAP device %s: %s", name, strerror(errno));
		goto fail;
	}
	if (offload) {
		int hdr_len = OFFLOAD_VNET_HDR_LEN;
		unsigned features = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

		if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0)
			goto no_offload;
		/* A kernel that knows USO takes UDP super-frames both ways; an
		 * older one refuses the flags (EINVAL) and gets TCP only. */
		*uso = ioctl(fd, TUNSETOFFLOAD, features | TUN_F_USO4 | TUN_F_USO6) == 0;
		if (!*uso && (errno != EINVAL || ioctl(fd, TUNSETOFFLOAD, features) < 0))
			goto no_offload;
	}
	*ifindex = (int)if_nametoindex(ifr.ifr_name);
	if (*ifindex == 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot find index of %s: %s", name, strerror(errno));
		goto fail;
	}
	return fd;
no_offload:
	ret = -errno;
	snprintf(err, err_len, "cannot enable offloads on %s: %s", name, strerror(errno));
fail:
	close(fd);
	return ret;
}

int tap_kernel_drops(int ifindex, uint64_t *out)
{
	char name[IF_NAMESIZE], path[IF_NAMESIZE + 48], text[32];
	unsigned long long v;
	ssize_t n;
	int fd, ret = 0;

	if (!if_indextoname((unsigned)ifindex, name))
		return -errno;
	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_dropped", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0)
		ret = -errno;
	close(fd);
	if (ret < 0)
		return ret;
	text[n] = '\0';
	if (sscanf(text, "%llu", &v) != 1)
		return -EINVAL;
	*out = v;
	return 0;
}
