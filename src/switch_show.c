/* switch_show — the switch's status view over the control socket. Glue. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "switch.h"

static const char *const port_drop_names[PORT_DROP_COUNT] = {
	"mac_port_full", "mac_unlearned_table_full", "filtered", "tx_no_session", "mac_spoofed",
};

static const char *const switch_drop_names[SWITCH_DROP_COUNT] = {
	"bad_mac1", "bad_handshake", "unknown_key", "unknown_index", "unexpected", "ports_full",
	"handshake_rate",
};

static void show_counters(FILE *out, const char *const *names, const uint64_t *values, size_t n,
			  size_t skip_first)
{
	for (size_t i = skip_first; i < n; i++)
		fprintf(out, " %s=%" PRIu64, names[i], values[i]);
}

static void show_port(FILE *out, const struct port *p, uint64_t now_ms)
{
	char key[KEY_BASE64_LEN + 1], where[64];

	key_to_base64(key, p->pub);
	fprintf(out, "\nport %s\n  key: %s\n", p->name[0] ? p->name : "(unnamed)", key);
	/* A port that is not connected keeps its counters (replays of its
	 * handshakes among them) while its slot is kept. */
	if (!p->is_connected) {
		fprintf(out, "  state: not connected\n");
	} else {
		fprintf(out, "  state: connected\n  endpoint: %s\n",
			endpoint_format(&p->endpoint, where, sizeof(where)));
		fprintf(out, "  latest handshake: %" PRIu64 " s ago\n",
			(now_ms - p->last_handshake_ms) / 1000);
	}
	fprintf(out, "  rx: frames=%" PRIu64 " bytes=%" PRIu64 " keepalives=%" PRIu64 "\n",
		p->st.rx_frames, p->st.rx_bytes, p->st.rx_keepalives);
	fprintf(out, "  tx: frames=%" PRIu64 " bytes=%" PRIu64 "\n", p->st.tx_frames,
		p->st.tx_bytes);
	fprintf(out, "  drops:");
	for (int v = 1; v < FRAME_VERDICT_COUNT; v++)
		fprintf(out, " %s=%" PRIu64, frame_verdict_name((enum frame_verdict)v), p->st.frame[v]);
	for (int r = SESSION_EXPIRED; r < SESSION_RESULT_COUNT; r++)
		fprintf(out, " %s=%" PRIu64, session_result_name((enum session_result)r),
			p->st.session[r]);
	show_counters(out, port_drop_names, p->st.drop, PORT_DROP_COUNT, 0);
	fprintf(out, " stale_handshake=%" PRIu64 "\n", p->st.stale_handshake);
}

/* MAC table lines per piece of the answer: ~100 KB, well under a millisecond
 * of the loop. */
#define MACS_PER_PIECE 2048u

struct mac_show {
	FILE *out;
	const struct vswitch *sw;
	uint64_t now_ms;
	uint32_t left;
};

static bool show_mac(const uint8_t mac[FRAME_MAC_LEN], uint32_t port, uint64_t last_seen_ms,
		     bool pinned, void *arg)
{
	struct mac_show *ms = arg;
	const struct port *p = &ms->sw->ports[port];
	char text[18], label[KEY_BASE64_LEN + 1];

	frame_mac_format(mac, text);
	fprintf(ms->out, "  %s  port %s  ", text, switch_port_label(p, label));
	if (pinned) /* its own MAC: never ages while it is connected */
		fprintf(ms->out, "own\n");
	else
		fprintf(ms->out, "age %" PRIu64 " s\n", (ms->now_ms - last_seen_ms) / 1000);
	return --ms->left > 0;
}

static bool show_macs(FILE *out, void *arg, uint32_t *pos)
{
	const struct vswitch *sw = arg;
	struct mac_show walk = { out, sw, loop_now_ms(), MACS_PER_PIECE };

	*pos = mactable_foreach_from(sw->macs, *pos, show_mac, &walk);
	return *pos != MACTABLE_WALK_END;
}

int switch_show(const char *request, FILE *out, void *arg, struct control_more *more)
{
	struct vswitch *sw = arg;
	struct mactable_stats ms;
	char key[KEY_BASE64_LEN + 1], where[64];

	if (strcmp(request, "show") != 0)
		return -EINVAL;
	sw->now_ms = loop_now_ms();
	mactable_get_stats(sw->macs, &ms);
	key_to_base64(key, sw->id.pub);
	fprintf(out, "switch\n  version: %s\n  public key: %s\n  listening: %s\n", VSWITCH_VERSION,
		key, endpoint_format(&sw->listen, where, sizeof(where)));
	fprintf(out, "  mtu: %" PRIu64 "\n  members: %u\n  ports connected: %u\n", sw->opt.mtu,
		sw->members.count, sw->connected_count);
	fprintf(out, "  uptime: %" PRIu64 " s\n", (sw->now_ms - sw->started_ms) / 1000);
	fprintf(out, "  drops:");
	show_counters(out, switch_drop_names, sw->drop, SWITCH_DROP_COUNT, 0);
	for (int e = 1; e < WIRE_ERR_COUNT; e++)
		fprintf(out, " %s=%" PRIu64, wire_error_name((enum wire_error)e), sw->rx_header[e]);
	fprintf(out, " rx_errors=%" PRIu64 " tx_errors=%" PRIu64 " control_dropped=%" PRIu64
		     " rx_socket_drops=%" PRIu64 "\n",
		sw->rx_errors, sw->tx.errors, sw->control_dropped, sw->rx.socket_drops);
	for (uint32_t i = 0; i < SWITCH_MAX_PORTS; i++)
		if (sw->ports[i].in_use)
			show_port(out, &sw->ports[i], sw->now_ms);
	fprintf(out, "\nmac table: %u entries (learned=%" PRIu64 " moved=%" PRIu64 " aged=%" PRIu64
		     " evicted=%" PRIu64 " refused_port_full=%" PRIu64
		     " refused_table_full=%" PRIu64 ")\n",
		ms.entries, ms.learned, ms.moved, ms.aged, ms.evicted, ms.refused_port_full,
		ms.refused_table_full);
	more->next = show_macs; /* the table follows in pieces */
	more->pos = 0;
	return 0;
}
