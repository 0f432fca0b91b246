/* port_show — the port's status view over the control socket. Glue. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "key.h"
#include "tap.h"
#include "port.h"

static const char *const counter_names[PORT_COUNTER_COUNT] = {
	"frames", "bytes", "frames", "bytes",
	"tx_no_session", "tap_write", "bad_mac1", "bad_handshake", "unexpected",
	"tap_bad_offload", "bad_partial_csum",
	"sent", "completed", "keepalives", "super_frames_read", "super_frames_written",
	"partial_csums_sent", "partial_csums_received",
};

static void show_list(FILE *out, const char *title, const uint64_t *v, int from, int to)
{
	fprintf(out, "  %s:", title);
	for (int i = from; i <= to; i++)
		fprintf(out, " %s=%" PRIu64, counter_names[i], v[i]);
	fputc('\n', out);
}

int port_show(const char *request, FILE *out, void *arg, struct control_more *more)
{
	struct vport *vp = arg;
	char key[KEY_BASE64_LEN + 1], where[64];
	uint64_t tap_drops;

	(void)more; /* the port's answer is short: one piece */
	if (strcmp(request, "show") != 0)
		return -EINVAL;
	vp->now_ms = loop_now_ms();
	key_to_base64(key, vp->id.pub);
	fprintf(out, "port %s\n  version: %s\n  public key: %s\n  mtu: %" PRIu64 "\n", vp->opt.tap,
		VSWITCH_VERSION, key, vp->opt.mtu);
	key_to_base64(key, vp->switch_pub);
	fprintf(out, "  switch: %s (%s)\n  switch key: %s\n", vp->opt.switch_addr,
		vp->switch_resolved ? endpoint_format(&vp->switch_ep, where, sizeof(where))
				    : "not resolved yet",
		key);
	/* Connected while a keypair may send: keys past their lifetime (the
	 * switch unreachable for minutes) are not a connection. */
	fprintf(out, "  state: %s\n",
		vp->timers.has_session && session_send_keypair(&vp->session, vp->now_ms)
			? "connected"
			: "connecting");
	if (vp->last_handshake_ms)
		fprintf(out, "  latest handshake: %" PRIu64 " s ago\n",
			(vp->now_ms - vp->last_handshake_ms) / 1000);
	fprintf(out, "  uptime: %" PRIu64 " s\n", (vp->now_ms - vp->started_ms) / 1000);
	show_list(out, "tap rx", vp->count, TAP_RX_FRAMES, TAP_RX_BYTES);
	show_list(out, "tap tx", vp->count, TAP_TX_FRAMES, TAP_TX_BYTES);
	show_list(out, "handshakes", vp->count, HANDSHAKES_SENT, HANDSHAKES_DONE);
	fprintf(out, "  drops:");
	for (int v = 1; v < FRAME_VERDICT_COUNT; v++)
		fprintf(out, " tap_%s=%" PRIu64 " rx_%s=%" PRIu64,
			frame_verdict_name((enum frame_verdict)v), vp->tap_frame[v],
			frame_verdict_name((enum frame_verdict)v), vp->rx_frame[v]);
	/* Data for no keypair of ours: named as in docs/protocol.md. */
	fprintf(out, " unknown_index=%" PRIu64, vp->rx_session[SESSION_NO_KEY]);
	for (int r = SESSION_NO_KEY + 1; r < SESSION_RESULT_COUNT; r++)
		fprintf(out, " %s=%" PRIu64, session_result_name((enum session_result)r),
			vp->rx_session[r]);
	for (int e = 1; e < WIRE_ERR_COUNT; e++)
		fprintf(out, " %s=%" PRIu64, wire_error_name((enum wire_error)e), vp->rx_header[e]);
	for (int c = DROP_NO_SESSION; c <= DROP_BAD_PARTIAL; c++)
		fprintf(out, " %s=%" PRIu64, counter_names[c], vp->count[c]);
	fprintf(out, " udp_tx_errors=%" PRIu64 " udp_rx_errors=%" PRIu64 " control_dropped=%" PRIu64,
		vp->tx.errors, vp->udp_rx_errors, vp->control_dropped);
	/* Lost in the kernel, before we could read them. */
	fprintf(out, " udp_rx_socket_drops=%" PRIu64, vp->rx.socket_drops);
	if (tap_kernel_drops(vp->ifindex, &tap_drops) == 0 && tap_drops >= vp->tap_drops_at_start)
		fprintf(out, " tap_queue_full=%" PRIu64, tap_drops - vp->tap_drops_at_start);
	fputc('\n', out);
	fprintf(out, "  keepalives received: %" PRIu64 "\n", vp->count[RX_KEEPALIVES]);
	fprintf(out, "  offload: %s super_frames_read=%" PRIu64 " super_frames_written=%" PRIu64
		     " gso_sends=%" PRIu64 " gso_fallbacks=%" PRIu64 " udp=%s",
		vp->opt.no_offload ? "off" : "on", vp->count[TAP_SUPER_READ],
		vp->count[TAP_SUPER_WRITTEN], vp->tx.gso_sends, vp->tx.gso_fallbacks,
		vp->tap_uso ? "on" : "off");
	for (int c = PARTIAL_SENT; c <= PARTIAL_RECEIVED; c++)
		fprintf(out, " %s=%" PRIu64, counter_names[c], vp->count[c]);
	fputc('\n', out);
	return 0;
}
