/* netlink — rtnetlink requests for vport. See netlink.h. */
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NETLINK_BUF 512

struct request {
	struct nlmsghdr nh;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
	};
	uint8_t attrs[NETLINK_BUF];
};

static void add_attr(struct request *req, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((uint8_t *)req + NLMSG_ALIGN(req->nh.nlmsg_len));

	/* Our requests carry a handful of small attributes: far inside attrs[]. */
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	req->nh.nlmsg_len = NLMSG_ALIGN(req->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Send req and read the acknowledgement. */
static int transact(struct request *req, const char *what, char *err, size_t err_len)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	uint8_t reply[NETLINK_BUF];
	struct nlmsghdr *nh = (struct nlmsghdr *)reply;
	ssize_t n;
	int fd, ret = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot open rtnetlink socket: %s", strerror(errno));
		return ret;
	}
	req->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->nh.nlmsg_seq = 1;
	if (sendto(fd, req, req->nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot %s: sendto rtnetlink: %s", what, strerror(errno));
		goto out;
	}
	do
		n = recv(fd, reply, sizeof(reply), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot %s: recv rtnetlink: %s", what, strerror(errno));
		goto out;
	}
	if ((size_t)n < NLMSG_LENGTH(sizeof(struct nlmsgerr)) || nh->nlmsg_type != NLMSG_ERROR) {
		ret = -EPROTO;
		snprintf(err, err_len, "cannot %s: unexpected rtnetlink reply", what);
		goto out;
	}
	ret = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
	if (ret < 0)
		snprintf(err, err_len, "cannot %s: %s", what, strerror(-ret));
out:
	close(fd);
	return ret;
}

/* An RTM_NEWLINK request that changes the existing link ifindex. */
static void link_request(struct request *req, int ifindex)
{
	memset(req, 0, sizeof(*req));
	req->nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	req->nh.nlmsg_type = RTM_NEWLINK;
	req->ifi.ifi_family = AF_UNSPEC;
	req->ifi.ifi_index = ifindex;
}

int netlink_link_setup(int ifindex, unsigned mtu, const unsigned char mac[6], char *err,
		       size_t err_len)
{
	struct request req;
	uint32_t mtu32 = mtu;

	link_request(&req, ifindex);
	req.ifi.ifi_flags = IFF_UP;
	req.ifi.ifi_change = IFF_UP;
	add_attr(&req, IFLA_MTU, &mtu32, sizeof(mtu32));
	if (mac)
		add_attr(&req, IFLA_ADDRESS, mac, 6);
	return transact(&req, "set MTU and MAC address and bring link up", err, err_len);
}

int netlink_link_gso_max_segs(int ifindex, unsigned segs, char *err, size_t err_len)
{
	struct request req;
	uint32_t segs32 = segs;

	link_request(&req, ifindex);
	add_attr(&req, IFLA_GSO_MAX_SEGS, &segs32, sizeof(segs32));
	return transact(&req, "set the most segments of a TSO frame", err, err_len);
}

int netlink_addr_add(int ifindex, const struct config_cidr *cidr, char *err, size_t err_len)
{
	size_t alen = cidr->family == AF_INET ? 4 : 16;
	struct request req;
	char what[80], text[INET6_ADDRSTRLEN];

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	req.nh.nlmsg_type = RTM_NEWADDR;
	req.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	req.ifa.ifa_family = (unsigned char)cidr->family;
	req.ifa.ifa_prefixlen = cidr->prefix_len;
	req.ifa.ifa_index = (unsigned)ifindex;
	add_attr(&req, IFA_LOCAL, cidr->addr, alen);
	add_attr(&req, IFA_ADDRESS, cidr->addr, alen);
	if (cidr->family == AF_INET && cidr->prefix_len < 31) {
		/* As "ip addr add ... brd +": the subnet's broadcast address. */
		uint32_t a, host_mask = 0xffffffffu >> cidr->prefix_len;

		memcpy(&a, cidr->addr, 4);
		a = htonl(ntohl(a) | host_mask);
		add_attr(&req, IFA_BROADCAST, &a, 4);
	}
	inet_ntop(cidr->family, cidr->addr, text, sizeof(text));
	snprintf(what, sizeof(what), "add address %s/%u", text, cidr->prefix_len);
	return transact(&req, what, err, err_len);
}
