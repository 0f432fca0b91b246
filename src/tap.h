/*
 * tap — the TAP device: open it, find its index. I/O.
 * The device is not persistent: it disappears when its descriptor closes, so
 * vport's exit (clean or not) removes it.
 */
#ifndef VSWITCH_TAP_H
#define VSWITCH_TAP_H

#include <stddef.h>

/* Create or attach TAP `name` (IFF_TAP | IFF_NO_PI), non-blocking. Returns the
 * descriptor and sets *ifindex, or a negative errno with a reason in err. */
int tap_open(const char *name, int *ifindex, char *err, size_t err_len);

#endif
