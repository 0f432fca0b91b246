/*
 * udp — UDP sockets and batched receive/send (recvmmsg/sendmmsg): one system
 * call moves a whole batch. I/O. Buffers are allocated once, at startup.
 */
#ifndef VSWITCH_UDP_H
#define VSWITCH_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* The local address a datagram came to (udp_enable_pktinfo), so that the
 * answer leaves from it: a host with several addresses would otherwise answer
 * from its route's preferred one, and a peer whose socket is connected to
 * another drops it. family 0: not known, the kernel picks. */
struct udp_local {
	sa_family_t family; /* AF_INET: v4 (also on a dual-stack socket); AF_INET6: v6 */
	union {
		struct in_pktinfo v4;
		struct in6_pktinfo v6;
	} info;
};

struct endpoint {
	struct sockaddr_storage addr;
	socklen_t len;
	struct udp_local local; /* where it was reached; not part of endpoint_equal */
};

/* Resolve host (numeric or a name; "" means any address) and port. With
 * passive set and an empty host, gives the IPv6 wildcard. Returns 0, or with a
 * reason in err -EAGAIN if name resolution failed for now (no DNS server
 * reachable), -EINVAL otherwise. Blocks while a name is looked up. */
int udp_resolve(const char *host, uint16_t port, bool passive, struct endpoint *out, char *err,
		size_t err_len);

/* A name lookup that does not block the caller (getaddrinfo_a): start it, then
 * poll it, e.g. on a timer. host must stay valid while it is under way. */
struct udp_lookup {
	struct gaicb cb;
	char port_text[8];
	bool busy;
};
/* Returns 0, or a negative errno with a reason in err (also if one is under way). */
int udp_lookup_start(struct udp_lookup *l, const char *host, uint16_t port, char *err,
		     size_t err_len);
/* 1 with the address in out once done, 0 while under way or if none was
 * started, or like udp_resolve -EAGAIN / -EINVAL with a reason in err. */
int udp_lookup_poll(struct udp_lookup *l, struct endpoint *out, char *err, size_t err_len);
/* Abandon a lookup under way (at exit). */
void udp_lookup_cancel(struct udp_lookup *l);

/* A non-blocking UDP socket bound to local (an IPv6 wildcard accepts IPv4 too).
 * Returns the descriptor or a negative errno with a reason in err. */
int udp_open(const struct endpoint *local, char *err, size_t err_len);
/* A non-blocking UDP socket of the family of remote, bound to an ephemeral port. */
int udp_open_for(const struct endpoint *remote, char *err, size_t err_len);

/* Same address and port (the local address is not compared). */
bool endpoint_equal(const struct endpoint *a, const struct endpoint *b);
/* A keyed hash (SipHash, key of 16 random bytes) of the address and port, or
 * with host_only of the host alone: an IPv4 address, or an IPv6 /64 (one
 * machine commonly holds a whole /64, so that is what one sender controls). */
uint64_t endpoint_hash(const struct endpoint *e, const uint8_t key[16], bool host_only);
/* "192.0.2.1:51820" or "[2001:db8::1]:51820"; IPv4-mapped IPv6 shown as IPv4. */
const char *endpoint_format(const struct endpoint *e, char *buf, size_t len);

/* Largest datagram the kernel may hand over or take: with UDP GRO/GSO one
 * "datagram" is a run of up to UDP_MAX_SEGMENTS same-sized datagrams. */
#define UDP_MAX_SEGMENTS 64
#define UDP_SUPER_MAX 65535

/* Ask the kernel to coalesce received datagrams of one flow (UDP GRO); each
 * receive then reports the segment size. Returns false if unsupported. */
bool udp_enable_gro(int fd);
/* Report each datagram's local address (IP_PKTINFO, and IPV6_RECVPKTINFO on
 * an IPv6 socket), for udp_rx_from. Returns false if refused. */
bool udp_enable_pktinfo(int fd);

/* Ask the kernel to report, with received datagrams, how many it dropped at
 * the socket (SO_RXQ_OVFL: its receive buffer full, mostly; a bad UDP checksum
 * too): udp_rx_batch adds them up in udp_rx.socket_drops. Returns false if
 * refused. */
bool udp_enable_drop_count(int fd);

/* Receive side: cap buffers of buf_size bytes, back to back, the first after
 * headroom bytes that are the caller's to use (the AEAD borrows the bytes
 * before a message; before buffer i > 0 lie buffer i - 1's). */
struct udp_rx {
	unsigned cap;
	size_t buf_size;
	uint8_t *mem;
	uint8_t *bufs;
	struct mmsghdr *msgs;
	struct iovec *iov;
	struct sockaddr_storage *addrs;
	uint8_t *cmsgs;
	uint16_t *seg_size; /* per message: the GRO segment size, or its length */
	struct udp_local *local; /* per message: where it came to, if reported */
	/* Datagrams the kernel dropped at the socket, as far as reported
	 * (udp_enable_drop_count); counts on across sockets. */
	uint64_t socket_drops;
	uint32_t socket_drops_seen; /* the socket's own count, as last reported */
};
/* Call when rx starts receiving from a new socket (its count starts at 0). */
static inline void udp_rx_new_socket(struct udp_rx *rx)
{
	rx->socket_drops_seen = 0;
}
/* Receive batches a daemon takes per wake-up before it goes back to epoll
 * (level-triggered: whatever is left wakes it again at once). A flood that
 * keeps every batch full cannot then starve timers, signals or the control
 * socket. */
#define UDP_RX_ROUNDS 8

int udp_rx_init(struct udp_rx *rx, unsigned cap, size_t buf_size, size_t headroom);
void udp_rx_free(struct udp_rx *rx);
static inline uint8_t *udp_rx_buf(struct udp_rx *rx, unsigned i)
{
	return rx->bufs + (size_t)i * rx->buf_size;
}
/* Receive up to cap datagrams without blocking. Returns how many (0 when none
 * is waiting) or a negative errno. */
int udp_rx_batch(int fd, struct udp_rx *rx);
/* The datagrams in message i: with GRO a run, each seg_size[i] bytes but the
 * last; an empty datagram counts as one, of 0 bytes, so that it is seen. */
static inline size_t udp_rx_count(const struct udp_rx *rx, unsigned i)
{
	size_t total = rx->msgs[i].msg_len, seg = rx->seg_size[i];

	return total == 0 ? 1 : (total + seg - 1) / seg;
}
/* Who sent message i, and to which local address if that was reported. */
void udp_rx_from(const struct udp_rx *rx, unsigned i, struct endpoint *out);
/* Datagram k of message i (k < udp_rx_count), its length in *len. */
static inline uint8_t *udp_rx_datagram(struct udp_rx *rx, unsigned i, size_t k, size_t *len)
{
	size_t total = rx->msgs[i].msg_len, seg = rx->seg_size[i], off = k * seg;

	*len = total - off < seg ? total - off : seg;
	return udp_rx_buf(rx, i) + off;
}

/*
 * Send side: a queue of datagrams flushed with sendmmsg. Entries point at
 * caller-owned bytes that must stay valid until the flush. At the flush, runs
 * of entries to one destination that sit back to back in memory with the same
 * length (the last may be shorter) go out as one UDP GSO send (UDP_SEGMENT):
 * the kernel then moves them as one packet as far as it can. Callers lay out
 * data messages contiguously to benefit; nothing else changes for them.
 */
struct udp_tx {
	unsigned cap, count;
	struct iovec *iov;
	struct endpoint *dst;
	bool *has_dst;
	struct mmsghdr *out; /* built at flush */
	struct iovec *out_iov;
	uint8_t *cmsgs;
	unsigned *out_first, *out_count; /* entries each out message carries */
	bool gso_ok;
	uint64_t errors;     /* datagrams the kernel refused (counted, not fatal) */
	uint64_t gso_sends;  /* GSO messages sent, for the status view */
	uint64_t gso_fallbacks; /* GSO messages the kernel refused, resent one by one */
	/* If set, called at each flush before anything is sent: what the queued
	 * datagrams still need done (aead_finish_tags: their tags). */
	void (*before_send)(void);
};
/* gso: try UDP GSO on fd (false to never use it). */
int udp_tx_init(struct udp_tx *tx, unsigned cap, int fd, bool gso);
void udp_tx_free(struct udp_tx *tx);
/* Queue one datagram; dst NULL for a connected socket. It leaves from dst's
 * local address when that is known. Flushes first if full. */
void udp_tx_add(struct udp_tx *tx, int fd, const uint8_t *buf, size_t len,
		const struct endpoint *dst);
void udp_tx_flush(struct udp_tx *tx, int fd);

#endif
