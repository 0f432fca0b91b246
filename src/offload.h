/*
 * offload — TAP offloads done in user space. Pure.
 *
 * With IFF_VNET_HDR and TUNSETOFFLOAD, the kernel hands vport TCP "super-frames"
 * of up to 64 KiB (TSO) with checksums left partial, and accepts the same on
 * write. One system call and one pass through the kernel's TCP stack then
 * moves dozens of segments instead of one; this is how wireguard-go passed
 * 10 Gbit/s. Kernels since 6.2 do the same for UDP (USO): a run of equal
 * datagrams of one flow is one super-frame, cut back into the same datagrams
 * by the kernel. What travels between nodes stays Ethernet frames of at most
 * MTU size. Their TCP and UDP checksums travel partial, as the kernel hands
 * them over (the data message says so: WIRE_DATA_CSUM_PARTIAL), so neither
 * port sums the payload; a receiver without offloads completes them
 * (offload_finish_csum), one with them hands them on to its kernel, which
 * trusts them as it trusts its own:
 *
 *   TAP read:  super-frame ─► offload_segment ─► MTU-sized frames with
 *              partial checksums, laid out for one UDP GSO send;
 *   TAP write: MTU-sized frames ─► offload_coalesce_next groups consecutive
 *              segments of one TCP flow, or datagrams of one UDP flow ─► one
 *              super-frame per group.
 *
 * Every frame comes from the network or the kernel and is bounds-checked here;
 * anything this module does not fully understand is passed through unchanged
 * (on read, after finishing its checksum) or refused with a reason.
 */
#ifndef VSWITCH_OFFLOAD_H
#define VSWITCH_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* struct virtio_net_hdr, in host byte order as a TAP device uses it. */
#define OFFLOAD_VNET_HDR_LEN 10
#define OFFLOAD_F_NEEDS_CSUM 1
#define OFFLOAD_GSO_NONE 0
#define OFFLOAD_GSO_TCPV4 1
#define OFFLOAD_GSO_TCPV6 4
#define OFFLOAD_GSO_UDP_L4 5 /* Linux 6.2 and later */
#define OFFLOAD_GSO_ECN 0x80
/* Largest super-frame either way: the Ethernet header and two VLAN tags, and
 * an IP packet of up to 65535 bytes, or for IPv6 a 40-byte header and up to
 * 65535 bytes of payload (the kernel makes such UDP super-frames). */
#define OFFLOAD_MAX_FRAME (22 + 40 + 65535)
/* Most segments merged into one super-frame: bounds the writev that carries it. */
#define OFFLOAD_MAX_COALESCE 64
/* Longest link + IP + TCP (or UDP) header we handle: two VLAN tags (802.1ad or 802.1Q each),
 * IPv4 with options or IPv6 with up to OFFLOAD_IPV6_OPTS_MAX bytes of option
 * headers, TCP with options. Applications set option headers on their sockets
 * (a CALIPSO label makes one of up to 264 bytes) and TSO keeps them on every
 * segment; 2048 bytes is the longest one header can be. */
#define OFFLOAD_IPV6_OPTS_MAX 2048
#define OFFLOAD_MAX_HEADERS (22 + 40 + OFFLOAD_IPV6_OPTS_MAX + 60)

struct offload_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

void offload_hdr_decode(const uint8_t in[OFFLOAD_VNET_HDR_LEN], struct offload_hdr *h);
void offload_hdr_encode(uint8_t out[OFFLOAD_VNET_HDR_LEN], const struct offload_hdr *h);

enum offload_result {
	OFFLOAD_OK = 0,
	OFFLOAD_BAD_CSUM,  /* csum_start/csum_offset outside the frame */
	OFFLOAD_BAD_GSO,   /* a GSO frame that is not plain TCP or UDP over IPv4/IPv6 */
	OFFLOAD_TOO_MANY,  /* more segments than the caller has room for */
	OFFLOAD_RESULT_COUNT,
};
const char *offload_result_name(enum offload_result r);

/* The Internet checksum (RFC 1071) of len bytes, added to sum; not folded. */
uint64_t offload_csum_add(uint64_t sum, const uint8_t *p, size_t len);
uint16_t offload_csum_fold(uint64_t sum);

/* Finish a partial checksum in place (VIRTIO_NET_HDR_F_NEEDS_CSUM): the field at
 * csum_start + csum_offset holds the pseudo-header sum; the rest is summed. */
enum offload_result offload_finish_csum(uint8_t *frame, size_t len, uint16_t csum_start,
					uint16_t csum_offset);

/*
 * For a frame whose TCP or UDP checksum is left partial: sets h (NEEDS_CSUM,
 * csum_start, csum_offset; no GSO) from the frame's own headers, and returns
 * true, if it is TCP or UDP over IPv4 or IPv6 as this module reads them (the
 * same as for coalescing: docs/protocol.md spells it out), ends where its IP
 * packet does, and its checksum field holds the pseudo-header sum of its own
 * addresses and length. A receiver learns where the checksum is this way; a
 * sender leaves a checksum partial only where this agrees with its kernel's
 * header. What this accepts is part of the wire protocol: widening it would
 * have new senders flag frames that older receivers drop.
 */
bool offload_partial_at(const uint8_t *frame, size_t len, struct offload_hdr *h);

/*
 * Cut a TCP (TSO) or UDP (USO) super-frame into frames of its headers plus at
 * most gso_size bytes of payload, with IP and UDP lengths, IPv4 IDs, TCP
 * sequence numbers and flags as the kernel would have sent them, and TCP or
 * UDP checksums left partial (offload_partial_at finds them).
 * Each segment gets a slot of *stride = headroom + headers + gso_size +
 * tailroom bytes in out (out_cap bytes): segment i's frame starts at out + i *
 * *stride + headroom and its length goes to lens[i] (max_segs entries). Equal
 * slots back to back are what one UDP GSO send needs. Returns the number of
 * segments, or a negative enum offload_result.
 */
int offload_segment(const uint8_t *frame, size_t len, const struct offload_hdr *h, uint8_t *out,
		    size_t out_cap, size_t headroom, size_t tailroom, size_t *lens, size_t max_segs,
		    size_t *stride);

/*
 * offload_segment for a super-frame it refuses (-OFFLOAD_BAD_GSO) because its
 * checksums' addresses are not its IP header's: an IPv4 source route, an IPv6
 * routing header or home address option (Segment Routing's inline mode, Mobile
 * IPv6), or more option headers than this module follows. Its TCP or UDP
 * header is taken where h says (csum_start), and each segment's checksum is
 * finished from the kernel's own pseudo-header sum in the super-frame: the
 * segments travel complete, not partial. Returns as offload_segment.
 */
int offload_segment_finished(const uint8_t *frame, size_t len, const struct offload_hdr *h,
			     uint8_t *out, size_t out_cap, size_t headroom, size_t tailroom,
			     size_t *lens, size_t max_segs, size_t *stride);

/* One frame as received: where it is, how long, and whether its TCP or UDP
 * checksum was left partial (it is merged only if offload_partial_at holds
 * for it). */
struct offload_frame {
	uint8_t *data;
	size_t len;
	bool csum_partial;
};

/*
 * Starting at frames[first], find how many consecutive frames form one
 * super-frame: segments of one TCP flow, or (if udp) datagrams of one UDP
 * flow. Same headers but for lengths, IDs, sequence numbers and checksums,
 * every segment's own IPv4 header and TCP or UDP checksums right (or left
 * partial), IPv4 IDs counting up by one unless DF is set, all payloads
 * gso_size long but the last, at most OFFLOAD_MAX_COALESCE frames; for TCP
 * also contiguous sequence numbers and no flags but ACK (PSH on the last).
 * first must be below n.
 * Returns the count (1 when the frame cannot be coalesced). For a count above
 * 1, writes into hdr the merged headers (*hdr_len bytes, at most
 * OFFLOAD_MAX_HEADERS) and into vnet the header to write before them; the
 * payloads follow each frame's headers.
 */
size_t offload_coalesce_next(const struct offload_frame *frames, size_t n, size_t first, bool udp,
			     uint8_t vnet[OFFLOAD_VNET_HDR_LEN], uint8_t hdr[OFFLOAD_MAX_HEADERS],
			     size_t *hdr_len);

#endif
