/*
 * Unit tests for frame.c: a table of numbered frames, each with its expected
 * verdict, with the length limits at exactly the edge and one past it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define MTU 1500u
#define SMALL_MTU 68u /* the IPv4 minimum: exercises limits far from the usual one */
#define UNTAGGED 0x0800u
#define BUF_LEN (MTU + FRAME_HEADER_LEN + FRAME_VLAN_TAG_LEN + 16)

static const uint8_t src_ok[FRAME_MAC_LEN] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t src_bcast[FRAME_MAC_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t src_mcast[FRAME_MAC_LEN] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t src_zero[FRAME_MAC_LEN] = { 0 };
/* Group bit clear, every other bit set: must not be mistaken for broadcast. */
static const uint8_t src_almost_bcast[FRAME_MAC_LEN] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t dst_bcast[FRAME_MAC_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct frame_case {
	int id;
	size_t len;
	uint16_t ethertype;
	const uint8_t *src;
	unsigned mtu;
	enum frame_verdict want;
};

static const struct frame_case cases[] = {
	{ 1, 0, UNTAGGED, src_ok, MTU, FRAME_TOO_SHORT },
	{ 2, 13, UNTAGGED, src_ok, MTU, FRAME_TOO_SHORT },
	{ 3, 14, UNTAGGED, src_ok, MTU, FRAME_OK },
	{ 4, 60, UNTAGGED, src_ok, MTU, FRAME_OK },
	{ 5, MTU + 14, UNTAGGED, src_ok, MTU, FRAME_OK },
	{ 6, MTU + 15, UNTAGGED, src_ok, MTU, FRAME_TOO_LONG },
	/* An untagged frame does not get the tag's 4 bytes. */
	{ 7, MTU + 18, UNTAGGED, src_ok, MTU, FRAME_TOO_LONG },
	{ 8, MTU + 18, FRAME_ETHERTYPE_VLAN, src_ok, MTU, FRAME_OK },
	{ 9, MTU + 19, FRAME_ETHERTYPE_VLAN, src_ok, MTU, FRAME_TOO_LONG },
	{ 10, MTU + 18, FRAME_ETHERTYPE_QINQ, src_ok, MTU, FRAME_OK },
	{ 11, MTU + 19, FRAME_ETHERTYPE_QINQ, src_ok, MTU, FRAME_TOO_LONG },
	/* Truncated tag: the EtherType says a tag follows but it is cut short. */
	{ 12, 14, FRAME_ETHERTYPE_VLAN, src_ok, MTU, FRAME_TOO_SHORT },
	{ 13, 17, FRAME_ETHERTYPE_VLAN, src_ok, MTU, FRAME_TOO_SHORT },
	{ 14, 17, FRAME_ETHERTYPE_QINQ, src_ok, MTU, FRAME_TOO_SHORT },
	{ 15, 18, FRAME_ETHERTYPE_VLAN, src_ok, MTU, FRAME_OK },
	{ 16, 18, FRAME_ETHERTYPE_QINQ, src_ok, MTU, FRAME_OK },
	{ 17, 64, FRAME_ETHERTYPE_VLAN, src_ok, MTU, FRAME_OK },
	/* Near misses of the tag EtherTypes are plain EtherTypes. */
	{ 18, MTU + 15, 0x8101u, src_ok, MTU, FRAME_TOO_LONG },
	{ 19, MTU + 15, 0x0081u, src_ok, MTU, FRAME_TOO_LONG },
	{ 20, MTU + 15, 0x88a9u, src_ok, MTU, FRAME_TOO_LONG },
	/* Another MTU. */
	{ 21, SMALL_MTU + 14, UNTAGGED, src_ok, SMALL_MTU, FRAME_OK },
	{ 22, SMALL_MTU + 15, UNTAGGED, src_ok, SMALL_MTU, FRAME_TOO_LONG },
	{ 23, SMALL_MTU + 18, FRAME_ETHERTYPE_VLAN, src_ok, SMALL_MTU, FRAME_OK },
	{ 24, SMALL_MTU + 19, FRAME_ETHERTYPE_VLAN, src_ok, SMALL_MTU, FRAME_TOO_LONG },
	/* MTU 0: a bare header is the largest frame. */
	{ 25, 14, UNTAGGED, src_ok, 0, FRAME_OK },
	{ 26, 15, UNTAGGED, src_ok, 0, FRAME_TOO_LONG },
	{ 27, 18, FRAME_ETHERTYPE_VLAN, src_ok, 0, FRAME_OK },
	/* Source MACs. */
	{ 28, 60, UNTAGGED, src_bcast, MTU, FRAME_BAD_SRC_MULTICAST },
	{ 29, 60, UNTAGGED, src_mcast, MTU, FRAME_BAD_SRC_MULTICAST },
	{ 30, 60, UNTAGGED, src_zero, MTU, FRAME_BAD_SRC_ZERO },
	{ 31, 60, UNTAGGED, src_almost_bcast, MTU, FRAME_OK },
	{ 32, 14, UNTAGGED, src_zero, MTU, FRAME_BAD_SRC_ZERO },
	{ 33, 64, FRAME_ETHERTYPE_VLAN, src_mcast, MTU, FRAME_BAD_SRC_MULTICAST },
	{ 34, 64, FRAME_ETHERTYPE_VLAN, src_zero, MTU, FRAME_BAD_SRC_ZERO },
	/* Length is judged before the source: one frame, one verdict. */
	{ 35, 13, UNTAGGED, src_zero, MTU, FRAME_TOO_SHORT },
	{ 36, MTU + 15, UNTAGGED, src_bcast, MTU, FRAME_TOO_LONG },
	{ 37, 17, FRAME_ETHERTYPE_VLAN, src_mcast, MTU, FRAME_TOO_SHORT },
};

/* Fills buf with a frame to the broadcast address; returns buf. */
static const uint8_t *build_frame(uint8_t buf[BUF_LEN], const struct frame_case *c)
{
	memset(buf, 0xa5, BUF_LEN);
	memcpy(buf, dst_bcast, FRAME_MAC_LEN);
	memcpy(buf + FRAME_MAC_LEN, c->src, FRAME_MAC_LEN);
	buf[12] = (uint8_t)(c->ethertype >> 8);
	buf[13] = (uint8_t)(c->ethertype & 0xff);
	return buf;
}

static void test_check_table(void **state)
{
	static uint8_t buf[BUF_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct frame_case *c = &cases[i];
		enum frame_verdict got;

		assert_true(c->len <= BUF_LEN);
		got = frame_check(build_frame(buf, c), c->len, c->mtu);
		if (got != c->want)
			fail_msg("case %d: len %zu ethertype 0x%04x mtu %u: got %s, want %s", c->id,
				 c->len, c->ethertype, c->mtu, frame_verdict_name(got),
				 frame_verdict_name(c->want));
	}
}

/* A short or truncated tagged frame must not be read past its end: each
 * length gets its own exact-size allocation so ASan catches any overread. */
static void test_short_frames_not_overread(void **state)
{
	uint8_t buf[FRAME_HEADER_LEN + FRAME_VLAN_TAG_LEN];

	(void)state;
	memset(buf, 0x02, sizeof(buf));
	buf[12] = FRAME_ETHERTYPE_VLAN >> 8;
	buf[13] = FRAME_ETHERTYPE_VLAN & 0xff;
	for (size_t len = 0; len < sizeof(buf); len++) {
		uint8_t *copy = malloc(len ? len : 1);

		assert_non_null(copy);
		memcpy(copy, buf, len);
		assert_int_equal(frame_check(copy, len, MTU), FRAME_TOO_SHORT);
		free(copy);
	}
}

static void test_max_len(void **state)
{
	(void)state;
	assert_int_equal(frame_max_len(MTU), MTU + 18);
	assert_int_equal(frame_max_len(0), 18);
	assert_int_equal(frame_max_len(9000), 9018);
	assert_true(frame_max_len(UINT32_MAX) > UINT32_MAX);
}

static void test_verdict_names(void **state)
{
	(void)state;
	assert_string_equal(frame_verdict_name(FRAME_OK), "ok");
	assert_string_equal(frame_verdict_name(FRAME_TOO_SHORT), "too_short");
	assert_string_equal(frame_verdict_name(FRAME_TOO_LONG), "too_long");
	assert_string_equal(frame_verdict_name(FRAME_BAD_SRC_MULTICAST), "src_multicast");
	assert_string_equal(frame_verdict_name(FRAME_BAD_SRC_ZERO), "src_zero");
	assert_non_null(frame_verdict_name(FRAME_VERDICT_COUNT));
}

static void test_mac_helpers(void **state)
{
	char text[18];
	uint8_t frame[FRAME_HEADER_LEN] = { 0 };

	(void)state;
	assert_true(frame_mac_is_zero(src_zero));
	assert_false(frame_mac_is_zero(src_ok));
	assert_false(frame_mac_is_zero((const uint8_t[FRAME_MAC_LEN]){ 0, 0, 0, 0, 0, 1 }));
	assert_true(frame_mac_is_multicast(src_bcast));
	assert_true(frame_mac_is_multicast(src_mcast));
	assert_false(frame_mac_is_multicast(src_almost_bcast));

	frame_mac_format(src_mcast, text);
	assert_string_equal(text, "01:00:5e:00:00:01");
	frame_mac_format(src_bcast, text);
	assert_string_equal(text, "ff:ff:ff:ff:ff:ff");

	memcpy(frame + FRAME_MAC_LEN, src_ok, FRAME_MAC_LEN);
	assert_ptr_equal(frame_dst(frame), frame);
	assert_memory_equal(frame_src(frame), src_ok, FRAME_MAC_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_table),
		cmocka_unit_test(test_short_frames_not_overread),
		cmocka_unit_test(test_max_len),
		cmocka_unit_test(test_verdict_names),
		cmocka_unit_test(test_mac_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
