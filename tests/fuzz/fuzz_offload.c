/*
 * libFuzzer target for offload.c. The input is a virtio_net_hdr (10 bytes, as
 * a TAP device hands it over) followed by one frame. The frame's checksum is
 * finished on a copy, and where offload_partial_at finds one is checked
 * against a parser of our own; the frame is cut into segments (headroom,
 * tailroom and segment limit come from bits of the header's hdr_len) and the
 * segments are coalesced again (a merged group, cut again, must give the same
 * segments back); then the frame bytes are read as a list of pieces ([u16
 * length][bytes]...) and those are coalesced too, their checksums first made
 * right when the header's gso_size is 1 modulo 4 (random bytes would almost
 * never get past the checksum test to the merge rules), made right as left
 * partial (the field holding the pseudo-header sum) when it is 2, and taken
 * as left partial as they are when it is 3. Every buffer is an exact-size
 * heap copy, so that any read past an end is caught.
 */
#include "fuzz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "offload.h"

#define FUZZ_OUT_CAP (1u << 18)
#define FUZZ_MAX_PIECES 80 /* more than OFFLOAD_MAX_COALESCE */
#define MIN_L4_FRAME (14 + 20 + 8) /* Ethernet, IPv4, UDP */

static uint8_t *dup_bytes(const uint8_t *p, size_t len)
{
	uint8_t *q = malloc(len ? len : 1);

	check(q != NULL);
	if (len)
		memcpy(q, p, len);
	return q;
}

/* Naive ones'-complement sum of 16-bit big-endian words. */
static uint16_t naive_fold(uint64_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void fuzz_finish(const uint8_t *frame, size_t len, const struct offload_hdr *h)
{
	uint8_t *f = dup_bytes(frame, len);
	size_t at = (size_t)h->csum_start + h->csum_offset;
	enum offload_result r = offload_finish_csum(f, len, h->csum_start, h->csum_offset);

	check(r == OFFLOAD_OK || r == OFFLOAD_BAD_CSUM);
	check(offload_result_name(r) != NULL);
	if (r == OFFLOAD_BAD_CSUM) {
		check(at + 2 > len && memcmp(f, frame, len) == 0);
	} else {
		check(at + 2 <= len);
		check(memcmp(f, frame, at) == 0);
		check(memcmp(f + at + 2, frame + at + 2, len - at - 2) == 0);
		/* Seeded with the old field (the pseudo-header sum), the region sums to -0. */
		if (h->csum_offset % 2 == 0)
			check(naive_fold((uint32_t)frame[at] << 8 | frame[at + 1],
					 f + h->csum_start, len - h->csum_start) == 0xffff);
	}
	free(f);
}

static void put_csum(uint8_t *at, uint16_t sum)
{
	at[0] = (uint8_t)(sum >> 8);
	at[1] = (uint8_t)sum;
}

/* Where a frame's IP and TCP/UDP headers are, parsed here without offload.c's
 * code: Ethernet, up to two VLAN tags, IPv4 or IPv6 (with option headers). */
struct naive_view {
	size_t l3, l4, end, csum_at;
	bool v4;
	uint8_t proto;
};

static bool naive_parse(const uint8_t *f, size_t len, struct naive_view *v)
{
	unsigned type;

	v->l3 = 14;
	if (len < v->l3)
		return false;
	type = (unsigned)f[12] << 8 | f[13];
	for (int tags = 0; tags < 2 && (type == 0x88a8 || type == 0x8100); tags++) {
		if (len < v->l3 + 4)
			return false;
		type = (unsigned)f[v->l3 + 2] << 8 | f[v->l3 + 3];
		v->l3 += 4;
	}
	v->v4 = type == 0x0800;
	if (v->v4 && len >= v->l3 + 20) {
		v->l4 = v->l3 + (size_t)(f[v->l3] & 15) * 4;
		v->end = v->l3 + ((size_t)f[v->l3 + 2] << 8 | f[v->l3 + 3]);
		v->proto = f[v->l3 + 9];
		if (v->l4 < v->l3 + 20 || v->l4 > v->end)
			return false;
	} else if (type == 0x86dd && len >= v->l3 + 40) {
		v->l4 = v->l3 + 40;
		v->end = v->l4 + ((size_t)f[v->l3 + 4] << 8 | f[v->l3 + 5]);
		v->proto = f[v->l3 + 6];
		/* Hop-by-hop (0) and destination (60) options, a few deep. */
		for (int k = 0; k < 4 && (v->proto == 0 || v->proto == 60); k++) {
			if (len < v->l4 + 2)
				return false;
			v->proto = f[v->l4];
			v->l4 += ((size_t)f[v->l4 + 1] + 1) * 8;
		}
		if (v->l4 > v->end)
			return false;
	} else {
		return false;
	}
	v->csum_at = v->l4 + (v->proto == 6 ? 16 : 6);
	return v->end <= len && (v->proto == 6 || v->proto == 17) && v->csum_at + 2 <= v->end;
}

/* Make an IPv4 header checksum and a TCP or UDP one right (or, if partial,
 * the pseudo-header sum a partial one holds), so that random pieces get past
 * the checksum test into the merge rules. */
static void fix_csums(uint8_t *f, size_t len, bool partial)
{
	struct naive_view v;
	uint64_t pseudo;
	uint16_t sum;

	if (!naive_parse(f, len, &v))
		return;
	if (v.v4) {
		put_csum(f + v.l3 + 10, 0);
		put_csum(f + v.l3 + 10, (uint16_t)~naive_fold(0, f + v.l3, v.l4 - v.l3));
		pseudo = naive_fold(0, f + v.l3 + 12, 8);
	} else {
		pseudo = naive_fold(0, f + v.l3 + 8, 32);
	}
	put_csum(f + v.csum_at, 0);
	if (partial) {
		put_csum(f + v.csum_at, naive_fold(pseudo + v.proto + (v.end - v.l4), NULL, 0));
		return;
	}
	sum = (uint16_t)~naive_fold(pseudo + v.proto + (v.end - v.l4), f + v.l4, v.end - v.l4);
	put_csum(f + v.csum_at, sum || v.proto == 6 ? sum : 0xffff);
}

/* Where offload_partial_at finds a frame's checksum is where our own parser
 * does, in a frame that ends with its IP packet. */
static void fuzz_partial_at(const uint8_t *frame, size_t len)
{
	struct offload_hdr h;
	struct naive_view v;

	if (!offload_partial_at(frame, len, &h))
		return;
	check(naive_parse(frame, len, &v) && v.end == len);
	check(h.flags == OFFLOAD_F_NEEDS_CSUM && h.gso_type == OFFLOAD_GSO_NONE);
	check(h.csum_start == v.l4 && (size_t)h.csum_start + h.csum_offset == v.csum_at);
}

/* Is byte i of a recut segment (its checksum finished if the piece's was)
 * allowed to differ from the piece it came from? Only what cutting rewrites
 * from nothing: an IPv4 ID and header checksum when DF made IDs free, and a
 * checksum the piece wrote another way (none in UDP, or TCP's 0x0000 for
 * 0xffff). */
static bool may_differ(const struct offload_frame *fr, const struct naive_view *v, size_t i)
{
	const uint8_t *piece = fr->data;
	uint16_t csum = (uint16_t)(piece[v->csum_at] << 8 | piece[v->csum_at + 1]);

	if (v->v4 && (piece[v->l3 + 6] & 0x40) &&
	    (i == v->l3 + 4 || i == v->l3 + 5 || i == v->l3 + 10 || i == v->l3 + 11))
		return true;
	return (i == v->csum_at || i == v->csum_at + 1) && !fr->csum_partial &&
	       (csum == 0 || (v->proto == 6 && csum == 0xffff));
}

/* Headers and payloads joined into the super-frame the TAP would get, cut
 * again: the same frames come back (their checksums left partial, so finished
 * where the frames' were not), byte for byte if they were segments just cut
 * (exact), else but for what may_differ allows. */
static void recut(const struct offload_frame *fr, size_t count, const struct offload_hdr *h,
		  const uint8_t *hdr, size_t hdr_len, bool exact)
{
	size_t total = hdr_len, at = hdr_len, lens[OFFLOAD_MAX_COALESCE], stride = 0;
	uint8_t *joined, *out;

	for (size_t k = 0; k < count; k++)
		total += fr[k].len - hdr_len;
	joined = malloc(total);
	out = malloc(count * (hdr_len + h->gso_size));
	check(joined != NULL && out != NULL);
	memcpy(joined, hdr, hdr_len);
	for (size_t k = 0; k < count; k++) {
		memcpy(joined + at, fr[k].data + hdr_len, fr[k].len - hdr_len);
		at += fr[k].len - hdr_len;
	}
	check(offload_segment(joined, total, h, out, count * (hdr_len + h->gso_size), 0, 0, lens,
			      count, &stride) == (int)count);
	for (size_t k = 0; k < count; k++) {
		uint8_t *seg = out + k * stride;
		struct offload_hdr p;
		struct naive_view v;

		check(lens[k] == fr[k].len);
		check(offload_partial_at(seg, lens[k], &p));
		if (!fr[k].csum_partial)
			check(offload_finish_csum(seg, lens[k], p.csum_start, p.csum_offset) ==
			      OFFLOAD_OK);
		if (memcmp(seg, fr[k].data, lens[k]) == 0)
			continue;
		check(!exact && naive_parse(fr[k].data, fr[k].len, &v));
		for (size_t i = 0; i < lens[k]; i++)
			check(seg[i] == fr[k].data[i] || may_differ(&fr[k], &v, i));
	}
	free(out);
	free(joined);
}

/* A merged group must cut back into the same frames: byte for byte if they are
 * segments just cut from one super-frame (exact). */
static void coalesce_all(struct offload_frame *fr, size_t n, bool exact)
{
	for (size_t i = 0; i < n;) {
		uint8_t vnet[OFFLOAD_VNET_HDR_LEN], hdr[OFFLOAD_MAX_HEADERS];
		size_t hdr_len = 0;
		size_t got = offload_coalesce_next(fr, n, i, true, vnet, hdr, &hdr_len);

		check(got >= 1 && got <= n - i && got <= OFFLOAD_MAX_COALESCE);
		if (got > 1) {
			struct offload_hdr h;

			offload_hdr_decode(vnet, &h);
			check(hdr_len >= MIN_L4_FRAME && hdr_len <= OFFLOAD_MAX_HEADERS);
			check(h.flags == OFFLOAD_F_NEEDS_CSUM && h.hdr_len == hdr_len);
			check(h.gso_type == OFFLOAD_GSO_TCPV4 || h.gso_type == OFFLOAD_GSO_TCPV6 ||
			      h.gso_type == OFFLOAD_GSO_UDP_L4);
			check(h.gso_size > 0 && fr[i].len == hdr_len + h.gso_size);
			check((size_t)h.csum_start + h.csum_offset + 2 <= hdr_len);
			check(memcmp(hdr, fr[i].data, 12) == 0); /* MAC addresses */
			for (size_t k = i; k < i + got; k++)
				check(fr[k].len > hdr_len && fr[k].len - hdr_len <= h.gso_size);
			recut(fr + i, got, &h, hdr, hdr_len, exact);
		}
		i += got;
	}
}

/* One segment of frame (len bytes) with hdr bytes of headers: a slot of at
 * most gso_size bytes of payload (all but the last exactly), its MACs the
 * frame's, its payload the frame's bytes after those joined so far. */
static void check_slot(const uint8_t *seg, size_t seg_len, size_t hdr, const uint8_t *frame,
		       size_t len, const struct offload_hdr *h, bool last, size_t *joined)
{
	size_t plen = seg_len - hdr;

	check(seg_len >= hdr && plen <= h->gso_size);
	check(last || plen == h->gso_size);
	check(memcmp(seg, frame, 12) == 0);
	check(hdr + *joined + plen <= len);
	check(memcmp(seg + hdr, frame + hdr + *joined, plen) == 0);
	*joined += plen;
}

/* Cut, check the slots, re-cut one segment (a no-op), then coalesce them. */
static void fuzz_segment(const uint8_t *frame, size_t len, const struct offload_hdr *h)
{
	size_t headroom = h->hdr_len & 31, tailroom = h->hdr_len >> 5 & 31,
	       max_segs = 256 - (h->hdr_len >> 8), stride = 0, hdr, joined = 0;
	uint8_t *out = malloc(FUZZ_OUT_CAP);
	size_t *lens = malloc(max_segs * sizeof(*lens));
	struct offload_frame *fr = malloc(max_segs * sizeof(*fr));
	struct offload_hdr ph;
	int n;

	check(out != NULL && lens != NULL && fr != NULL);
	n = offload_segment(frame, len, h, out, FUZZ_OUT_CAP, headroom, tailroom, lens,
				max_segs, &stride);
	check(n == -OFFLOAD_BAD_GSO || n == -OFFLOAD_TOO_MANY || n > 0);
	if (n <= 0)
		goto out;
	check((size_t)n <= max_segs && (size_t)n * stride <= FUZZ_OUT_CAP);
	check(stride >= headroom + tailroom + MIN_L4_FRAME + h->gso_size);
	hdr = stride - headroom - tailroom - h->gso_size;
	check(hdr <= OFFLOAD_MAX_HEADERS && hdr <= len);
	for (size_t i = 0; i < (size_t)n; i++) {
		uint8_t *seg = out + i * stride + headroom;

		check_slot(seg, lens[i], hdr, frame, len, h, i + 1 == (size_t)n, &joined);
		fr[i] = (struct offload_frame){ seg, lens[i], true };
		/* vport flags every segment partial: a receiver must read each so. */
		check(offload_partial_at(seg, lens[i], &ph));
		fuzz_partial_at(seg, lens[i]);
	}
	{
		/* A segment is a super-frame of one segment: cutting it gives it back. */
		size_t last = (size_t)n - 1, len1 = 0, stride1 = 0;
		uint8_t *again = malloc(stride);

		check(again != NULL);
		check(offload_segment(fr[last].data, fr[last].len, h, again, stride, 0, 0,
					  &len1, 1, &stride1) == 1);
		check(len1 == fr[last].len && memcmp(again, fr[last].data, len1) == 0);
		free(again);
	}
	coalesce_all(fr, (size_t)n, true);
out:
	free(fr);
	free(lens);
	free(out);
}

/* The bytes as [u16 big-endian length][bytes]... frames, each its own copy,
 * with their checksums made right if fix is set, as left partial if partial
 * is (both: partial, with the pseudo-header sum made right). */
static void fuzz_pieces(const uint8_t *p, size_t len, bool fix, bool partial)
{
	struct offload_frame fr[FUZZ_MAX_PIECES];
	size_t n = 0;

	while (n < FUZZ_MAX_PIECES && len >= 2) {
		size_t piece = (size_t)p[0] << 8 | p[1];

		p += 2;
		len -= 2;
		if (piece > len)
			piece = len;
		fr[n] = (struct offload_frame){ dup_bytes(p, piece), piece, partial };
		if (fix)
			fix_csums(fr[n].data, piece, partial);
		n++;
		p += piece;
		len -= piece;
	}
	coalesce_all(fr, n, false);
	for (size_t i = 0; i < n; i++)
		free(fr[i].data);
}

/* The fallback for super-frames the partial path cannot read: cut where h
 * says the TCP or UDP header is, headers whole and the payloads in order. */
static void fuzz_segment_finished(const uint8_t *frame, size_t len, const struct offload_hdr *h)
{
	size_t lens[64], stride = 0, joined = 0, hdr;
	uint8_t *out = malloc(FUZZ_OUT_CAP);
	int n;

	check(out != NULL);
	n = offload_segment_finished(frame, len, h, out, FUZZ_OUT_CAP, 0, 0, lens, 64, &stride);
	check(n == -OFFLOAD_BAD_GSO || n == -OFFLOAD_TOO_MANY || n > 0);
	if (n > 0) {
		check((size_t)n <= 64 && (size_t)n * stride <= FUZZ_OUT_CAP);
		hdr = stride - h->gso_size;
		check(hdr > h->csum_start && hdr <= len);
		for (size_t i = 0; i < (size_t)n; i++)
			check_slot(out + i * stride, lens[i], hdr, frame, len, h,
				   i + 1 == (size_t)n, &joined);
		check(hdr + joined == len);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct offload_hdr h;
	const uint8_t *frame = data + OFFLOAD_VNET_HDR_LEN;
	size_t len;

	if (size < OFFLOAD_VNET_HDR_LEN || size - OFFLOAD_VNET_HDR_LEN > OFFLOAD_MAX_FRAME)
		return 0;
	len = size - OFFLOAD_VNET_HDR_LEN;
	offload_hdr_decode(data, &h);
	fuzz_finish(frame, len, &h);
	fuzz_partial_at(frame, len);
	fuzz_segment(frame, len, &h);
	fuzz_segment_finished(frame, len, &h);
	fuzz_pieces(frame, len, (h.gso_size & 3) == 1 || (h.gso_size & 3) == 2,
		    (h.gso_size & 3) >= 2);
	return 0;
}
