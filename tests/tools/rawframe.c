/*
 * rawframe IFACE HEX — send one Ethernet frame, given as hex (destination MAC
 * first, no FCS), out of IFACE through an AF_PACKET socket. The integration
 * tests use it for frames the kernel would not make on its own, such as an
 * 802.1Q-tagged frame on an interface that has no VLAN device.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRAME_MAX 9216

int main(int argc, char **argv)
{
	static unsigned char frame[FRAME_MAX];
	struct sockaddr_ll to = { .sll_family = AF_PACKET };
	const char *end = NULL;
	size_t hex_len, len;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: rawframe IFACE HEX\n");
		return 2;
	}
	hex_len = strlen(argv[2]);
	if (hex_len % 2 || hex_len / 2 > FRAME_MAX || hex_len < 28) {
		fprintf(stderr, "rawframe: want an even number of hex digits, 14 to %d bytes\n",
			FRAME_MAX);
		return 2;
	}
	if (sodium_hex2bin(frame, sizeof(frame), argv[2], hex_len, NULL, &len, &end) != 0 ||
	    end != argv[2] + hex_len) {
		fprintf(stderr, "rawframe: '%.2s' is not hex\n", end ? end : argv[2]);
		return 2;
	}
	to.sll_ifindex = (int)if_nametoindex(argv[1]);
	if (to.sll_ifindex == 0) {
		fprintf(stderr, "rawframe: no interface %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	to.sll_halen = 6;
	memcpy(to.sll_addr, frame, 6);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0 || sendto(fd, frame, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len) {
		fprintf(stderr, "rawframe: cannot send on %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}
