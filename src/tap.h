/*
 * tap — the TAP device: open it, find its index. I/O.
 * The device is not persistent: it disappears when its descriptor closes, so
 * vport's exit (clean or not) removes it.
 */
#ifndef VSWITCH_TAP_H
#define VSWITCH_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Create or attach TAP `name` (IFF_TAP | IFF_NO_PI), non-blocking. With
 * offload set, also IFF_VNET_HDR with checksum and TCP segmentation offload,
 * and UDP segmentation offload where the kernel has it (*uso; see offload.h):
 * every read and write then starts with a virtio_net_hdr. Returns the
 * descriptor and sets *ifindex, or a negative errno with a reason in err. */
int tap_open(const char *name, bool offload, bool *uso, int *ifindex, char *err, size_t err_len);

/* Frames the kernel dropped on their way from the TAP (by its index, which
 * stays when the interface is renamed) to us (its queue was full: we read too
 * slowly), from /sys/class/net/NAME/statistics/tx_dropped. Returns 0, or a
 * negative errno if it cannot be read. */
int tap_kernel_drops(int ifindex, uint64_t *out);

#endif
