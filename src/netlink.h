/*
 * netlink — the few rtnetlink requests vport needs: set a link's MTU and bring
 * it up, add an address. I/O. Each call opens a socket, sends one request,
 * waits for the kernel's acknowledgement and closes the socket; they run at
 * startup only. Return 0 or a negative errno with a reason in err.
 */
#ifndef VSWITCH_NETLINK_H
#define VSWITCH_NETLINK_H

#include <stddef.h>

#include "config.h"

/* Set the link's MTU and MAC address (mac may be NULL to keep it), bring it up. */
int netlink_link_setup(int ifindex, unsigned mtu, const unsigned char mac[6], char *err,
		       size_t err_len);
/* The most segments the kernel puts in one TSO super-frame on the link. */
int netlink_link_gso_max_segs(int ifindex, unsigned segs, char *err, size_t err_len);
int netlink_addr_add(int ifindex, const struct config_cidr *cidr, char *err, size_t err_len);

#endif
