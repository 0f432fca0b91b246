#!/bin/bash
#
# basic.sh — vswitch end to end, in network namespaces. Run as root from the
# source tree:   VSWITCH_BIN=build/san bash tests/netns/basic.sh
#
# Topology. Every box is a namespace named vsw-NAME-$$; "inet" plays the
# Internet: a bridge joining one veth from each of the others. The underlay is
# 192.0.2.0/24 and 2001:db8::/64 and exists only inside these namespaces.
#
#                          ┌──────────────── inet ────────────────┐
#                          │ br0: sw ── p1 ── p2 ── p3 ── p4      │
#                          └──┬───────┬──────┬──────┬──────┬──────┘
#                         wan0│   wan0│  wan0│  wan0│  wan0│
#   underlay   192.0.2.1, .2  .11     .12    .13    .14
#              2001:db8::1, ::2 ::11  ::12   ::13   ::14
#            ┌──────────┐ ┌──────┐ ┌──────┐ ┌──────┐ ┌──────────┐
#            │ sw       │ │ p1   │ │ p2   │ │ p3   │ │ p4       │
#            │ vswitch  │ │vport │ │vport │ │vport │ │vport     │
#            │ :51820   │ │ vs0  │ │ vs0  │ │ vs0  │ │ vs0      │
#            │ v4 + v6  │ │      │ │      │ │ (v6  │ │ stranger:│
#            └──────────┘ │      │ │      │ │ under│ │ key not  │
#                         │      │ │      │ │ lay) │ │ a member │
#                         └──────┘ └──────┘ └──────┘ └──────────┘
#   overlay (vs0)         10.99.0.1 .2      .3       .4
#                         fd00:99::1 ::2    ::3      ::4
#
# p1 reaches the switch at 192.0.2.1:51820, p2 at its second address
# 192.0.2.2:51820 and p3 at its second IPv6 address [2001:db8::2]:51820: the
# switch must answer each from the address it was reached at.
# p1 and p2 use TAP offloads (super-frames, UDP GSO/GRO); p3 runs with
# --no-offload, so every mix of the two is exercised.
# All vs0 TAPs form one Ethernet LAN through the switch; p4 is refused.
# Tagged (802.1Q) frames are made by hand with tests/tools/rawframe.
#
# Each check prints PASS or FAIL with its time; the last line is
# "N passed, M failed" and the exit status is non-zero if any check failed.

set -e
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

SW_V4=192.0.2.1
SW_V6=2001:db8::1
SW_V4_SECOND=192.0.2.2
SW_V6_SECOND=2001:db8::2
declare -A OVL4=([p1]=10.99.0.1 [p2]=10.99.0.2 [p3]=10.99.0.3 [p4]=10.99.0.4)
declare -A OVL6=([p1]=fd00:99::1 [p2]=fd00:99::2 [p3]=fd00:99::3 [p4]=fd00:99::4)
declare -A ENDPOINT=([p1]=$SW_V4:$SWITCH_PORT [p2]=$SW_V4_SECOND:$SWITCH_PORT
	[p3]="[$SW_V6_SECOND]:$SWITCH_PORT" [p4]=$SW_V4:$SWITCH_PORT)
declare -A PORT_FLAGS=([p3]=--no-offload)
PORTS=(p1 p2 p3)
BLAST=$VSWITCH_TOOLS/udpblast
SINK=$VSWITCH_TOOLS/tcpsink
TRAIN=$VSWITCH_TOOLS/udptrain

start_port() {
	# shellcheck disable=SC2086 # PORT_FLAGS holds zero or more words
	port_start "$1" "$1" "${ENDPOINT[$1]}" sw \
		--address "${OVL4[$1]}/24" --address "${OVL6[$1]}/64" ${PORT_FLAGS[$1]:-}
}

# ---------------------------------------------------------------- checks


no_tentative() { [[ -z $(nq "$1" ip -6 addr show dev vs0 tentative) ]]; }

check_ping_all() {
	local src dst
	for src in "${PORTS[@]}"; do
		wait_for 10 no_tentative "$src" || bad "$src: IPv6 addresses on vs0 still tentative"
	done
	wait_for 10 ping_ok p1 "${OVL4[p2]}" || bad "p1 never reached ${OVL4[p2]}"
	wait_for 10 ping_ok p1 "${OVL6[p2]}" || bad "p1 never reached ${OVL6[p2]}"
	for src in "${PORTS[@]}"; do
		for dst in "${PORTS[@]}"; do
			[[ $src != "$dst" ]] || continue
			n "$src" ping -q -n -c 1 -W 2 "${OVL4[$dst]}" >/dev/null ||
				bad "$src cannot ping $dst at ${OVL4[$dst]}"
			n "$src" ping -q -n -c 1 -W 2 "${OVL6[$dst]}" >/dev/null ||
				bad "$src cannot ping $dst at ${OVL6[$dst]}"
		done
	done
	# p3 came in over the IPv6 underlay.
	switch_show sw | awk '$0 == "port p3" { p = 1 } p && $1 == "endpoint:" { print; exit }' |
		grep -q "\[2001:db8::13\]:" || bad "switch does not show p3's endpoint as [2001:db8::13]"
}

check_neighbours() {
	local dst mac addr entry
	for dst in p2 p3; do
		mac=$(tap_mac "$dst")
		for addr in "${OVL4[$dst]}" "${OVL6[$dst]}"; do
			entry=$(n p1 ip neigh show dev vs0 to "$addr")
			note "$entry"
			[[ $entry == *"lladdr $mac "* ]] ||
				bad "p1 has no neighbour entry $addr lladdr $mac (${dst}'s vs0)"
		done
	done
}

# Count capture lines matching an extended regexp.
count_lines() { grep -Ec "$2" "$TMP/$1.txt" || true; }

# both_saw REGEXP N CAPTURE...: every capture has at least N matching lines.
both_saw() {
	local re=$1 want=$2 c
	shift 2
	for c in "$@"; do
		(($(count_lines "$c" "$re") >= want)) || return 1
	done
}

check_broadcast() {
	local c req='10\.99\.0\.1 > 10\.99\.0\.255: ICMP echo request'
	capture_start bc-p2 p2 -i vs0 icmp || return 1
	capture_start bc-p3 p3 -i vs0 icmp || return 1
	capture_start bc-p1 p1 -i vs0 -Q in icmp || return 1
	# Nobody answers a broadcast echo (icmp_echo_ignore_broadcasts), so ping
	# fails; the captures are what count.
	n p1 ping -n -b -c 3 -i 0.2 -W 1 10.99.0.255 >/dev/null 2>&1 || true
	wait_for 3 both_saw "$req" 3 bc-p2 bc-p3 || true
	capture_stop bc-p2
	capture_stop bc-p3
	capture_stop bc-p1
	for c in bc-p2 bc-p3; do
		note "${c#bc-} saw $(count_lines "$c" "$req") broadcast echo requests"
		(($(count_lines "$c" "$req") == 3)) || bad "${c#bc-} should see exactly 3 broadcasts"
	done
	(($(count_lines bc-p1 "$req") == 0)) || bad "p1's own broadcast came back to it"
}

# The switch's MAC table lists MAC on PORT.
mac_on_port() {
	switch_show sw | awk -v m="$1" -v p="$2" '$1 == m && $2 == "port" && $3 == p { f = 1 } END { exit !f }'
}

check_unicast() {
	local leaked control p
	ping_ok p1 "${OVL4[p2]}" || bad "p1 cannot ping p2 before the capture"
	capture_start uc-p3 p3 -i vs0 icmp || return 1
	n p1 ping -q -n -c 5 -i 0.2 -W 1 "${OVL4[p2]}" >/dev/null || bad "p1 -> p2 pings failed"
	# A positive control: the capture does see p3's own traffic.
	ping_ok p1 "${OVL4[p3]}" || bad "p1 cannot ping p3"
	wait_for 3 both_saw '10\.99\.0\.1 > 10\.99\.0\.3: ICMP echo request' 1 uc-p3 || true
	capture_stop uc-p3
	leaked=$(count_lines uc-p3 '10\.99\.0\.(1 > 10\.99\.0\.2|2 > 10\.99\.0\.1):')
	control=$(count_lines uc-p3 '10\.99\.0\.1 > 10\.99\.0\.3: ICMP echo request')
	note "p3 saw $leaked p1<->p2 packets and $control p1->p3 requests"
	((leaked == 0)) || bad "p1<->p2 unicast leaked to p3"
	((control >= 1)) || bad "the capture on p3 saw nothing (control)"
	for p in p1 p2 p3; do
		mac_on_port "$(tap_mac "$p")" "$p" || bad "switch does not list $(tap_mac "$p") on port $p"
	done
	switch_show sw | sed -n '/^mac table/,$p'
}

unknown_key_rose() { (($(switch_drop sw unknown_key) > $1)); }

check_stranger() {
	local before mac4 ports
	before=$(switch_drop sw unknown_key)
	key_new p4 || return 1
	start_port p4 || return 1
	mac4=$(tap_mac p4)
	capture_start st-p1 p1 -i vs0 ether src "$mac4" || return 1
	wait_for 5 unknown_key_rose "$before" || bad "unknown_key stayed at $before"
	note "switch drops: unknown_key $before -> $(switch_drop sw unknown_key)"
	if n p4 ping -q -n -c 2 -W 1 "${OVL4[p1]}" >/dev/null; then bad "p4 pinged p1"; fi
	n p4 ping -n -b -c 2 -i 0.2 -W 1 10.99.0.255 >/dev/null 2>&1 || true
	capture_stop st-p1
	(($(count_lines st-p1 .) == 0)) || bad "p1 saw frames from p4's MAC $mac4"
	if switch_show sw | grep -qF "$(pubkey p4)"; then bad "switch lists p4's key"; fi
	ports=$(switch_show sw | grep -c '^port ')
	((ports == 3)) || bad "switch lists $ports ports, expected 3"
	port_show p4 | grep -q 'state: connected' && bad "p4's vport says it is connected"
	daemon_stop p4 || bad "p4's vport did not exit cleanly"
	if nq p4 ip link show vs0 >/dev/null 2>&1; then bad "p4's vs0 still exists after SIGTERM"; fi
	return 0
}

tcp_listening() { [[ -n $(nq "$1" ss -Htln "sport = :$2") ]]; }

# pcap_has FILE STRING: the raw capture bytes contain STRING.
pcap_has() { LC_ALL=C grep -aqF -- "$2" "$1"; }

check_no_plaintext() {
	local marker_ping="vswitch-secret!!" marker_tcp="VSWITCH-TCP-PLAINTEXT-MARKER"
	local marker_udp="VSWITCH-UDP-PLAINTEXT-MARKER" m pattern
	pattern=$(printf '%s' "$marker_ping" | xxd -p)
	for ((m = 0; m < 2048; m++)); do echo "$marker_tcp"; done >"$TMP/tcp-payload"
	aux_start pt-iperf p2 iperf3 -s -1 -B "${OVL4[p2]}" -p 5202 || return 1
	wait_for 5 tcp_listening p2 5202 || bad "iperf3 server did not listen"
	capture_start pt-underlay inet -i br0 -w - || return 1
	capture_start pt-overlay p2 -i vs0 -w - || return 1
	n p1 ping -q -n -c 3 -i 0.2 -p "$pattern" "${OVL4[p2]}" >/dev/null || bad "ping with pattern failed"
	n p1 iperf3 -c "${OVL4[p2]}" -p 5202 -n 64K -F "$TMP/tcp-payload" >/dev/null ||
		bad "iperf3 TCP transfer of the marker file failed"
	n p1 bash -c "echo $marker_udp >/dev/udp/${OVL4[p2]}/9" || bad "sending the UDP marker failed"
	ping_ok p1 "${OVL4[p2]}" || true # flush: the marker datagram is on the wire
	wait_for 5 pcap_has "$TMP/pt-overlay.txt" "$marker_udp" || true
	capture_stop pt-underlay
	capture_stop pt-overlay
	aux_stop pt-iperf
	local tunnel
	tunnel=$(tcpdump -n -r "$TMP/pt-underlay.txt" "udp and port $SWITCH_PORT" 2>/dev/null | wc -l)
	note "underlay capture: $tunnel UDP datagrams to or from port $SWITCH_PORT"
	((tunnel > 0)) || bad "no tunnel traffic seen on the underlay"
	for m in "$marker_ping" "$marker_tcp" "$marker_udp"; do
		pcap_has "$TMP/pt-overlay.txt" "$m" || bad "control: '$m' not seen on p2's vs0"
		if pcap_has "$TMP/pt-underlay.txt" "$m"; then bad "'$m' seen in plaintext on the underlay"; fi
	done
	return 0
}

# An 802.1Q-tagged frame, made by hand (this kernel may have no VLAN devices),
# goes from p1's vs0 to p2 and p3: both must receive it byte for byte, tag
# and all. To p2 it is known unicast, to p3 a broadcast.
check_vlan() {
	local src dst payload frame c
	src=$(tap_mac p1 | tr -d :)
	payload=$(printf 'vswitch-802.1Q-tag-test-%s' "$$" | xxd -p | tr -d '\n')
	capture_start vlan-p2 p2 -i vs0 -e -xx "vlan 100" || return 1
	capture_start vlan-p3 p3 -i vs0 -e -xx "vlan 100" || return 1
	for dst in "$(tap_mac p2 | tr -d :)" ffffffffffff; do
		# dst, src, 802.1Q tag (TPID 8100, PCP 3, VLAN 100), EtherType 88b5
		# (local experimental), payload padded to the 60-byte minimum.
		frame=${dst}${src}8100606488b5${payload}
		while ((${#frame} < 120)); do frame+=00; done
		n p1 "$VSWITCH_TOOLS/rawframe" vs0 "$frame" || bad "rawframe could not send"
	done
	wait_for 3 both_saw "vlan 100" 2 vlan-p2 || true
	wait_for 3 both_saw "vlan 100" 1 vlan-p3 || true
	capture_stop vlan-p2
	capture_stop vlan-p3
	for c in vlan-p2:2 vlan-p3:1; do
		local cap=${c%:*} want=${c#*:} hex
		note "${cap#vlan-} saw $(count_lines "$cap" "vlan 100") tagged frames"
		(($(count_lines "$cap" "vlan 100") == want)) ||
			bad "${cap#vlan-} should see exactly $want tagged frames"
		# -xx prints the whole frame in hex: the tag and payload must be there.
		hex=$(grep -E '^\s+0x' "$TMP/$cap.txt" | cut -d: -f2 | tr -d ' \n')
		[[ $hex == *8100606488b5${payload}* ]] || bad "${cap#vlan-} got the frame changed"
	done
}

# switch_port_drop PORT NAME: one of PORT's drop counters in the switch's view.
switch_port_drop() {
	switch_port_view sw "$1" | awk -v k="$2" '$1 == "drops:" { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }'
}

# p1 sends a broadcast from p2's own MAC (its TAP's, derived from its key):
# the switch must drop it and keep p2's MAC on p2, or p1 would draw p2's
# traffic. The same frame from p1's own MAC reaches p3 (the control).
check_mac_spoof() {
	local victim own frame before after payload seen src
	victim=$(tap_mac p2 | tr -d :)
	own=$(tap_mac p1 | tr -d :)
	payload=$(printf 'vswitch-spoof-test-%s' "$$" | xxd -p | tr -d '\n')
	before=$(switch_port_drop p1 mac_spoofed)
	capture_start spoof-p3 p3 -i vs0 -e "ether proto 0x88b5" || return 1
	for src in "$victim" "$own"; do
		frame=ffffffffffff${src}88b5${payload}
		while ((${#frame} < 120)); do frame+=00; done
		n p1 "$VSWITCH_TOOLS/rawframe" vs0 "$frame" || bad "rawframe could not send"
	done
	wait_for 3 both_saw "0x88b5" 1 spoof-p3 || true
	capture_stop spoof-p3
	after=$(switch_port_drop p1 mac_spoofed)
	seen=$(count_lines spoof-p3 "0x88b5")
	note "p1 mac_spoofed $before -> $after; p3 saw $seen of the two frames"
	((after == before + 1)) || bad "the switch did not drop (and count) p1's frame from p2's MAC"
	((seen == 1)) || bad "p3 saw $seen frames, want only the one from p1's own MAC"
	(($(count_lines spoof-p3 "$(tap_mac p2) > ") == 0)) || bad "the spoofed frame reached p3"
	mac_on_port "$(tap_mac p2)" p2 || bad "p2's MAC no longer on port p2"
	ping_ok p1 "${OVL4[p2]}" || bad "p1 cannot ping p2 afterwards"
}

# switch_endpoint PORT: where the switch sends PORT's traffic.
switch_endpoint() { switch_port_view sw "$1" | awk '$1 == "endpoint:" { print $2 }'; }

stale_rose() { (($(switch_port_drop p2 stale_handshake) > $1)); }

port_connected() { port_show "$1" | grep -q 'state: connected'; }
initiation_captured() {
	tcpdump -r "$TMP/replay-sw.txt" -c 1 'udp[8:4] = 0x01010000' 2>/dev/null | grep -q .
}

# An attacker on the path records p2's handshake initiation as p2 restarts
# and sends it again from elsewhere (p4): the switch must refuse it as stale
# (its timestamp is not newer), answer nothing, and keep p2 where it is.
check_replay() {
	local hex stale0 stale1 where0 where1
	capture_start replay-sw sw -i wan0 -w - "udp dst port $SWITCH_PORT and src host 192.0.2.12" ||
		return 1
	daemon_stop p2 || bad "p2's vport did not exit cleanly"
	start_port p2 || return 1
	# The new p2's own view: the switch lists the old session as connected
	# until it expires.
	wait_for 15 port_connected p2 || bad "p2 did not reconnect"
	wait_for 5 initiation_captured || true
	capture_stop replay-sw
	# The first initiation's UDP payload: 132 bytes that start 01 01 00 00.
	hex=$(tcpdump -r "$TMP/replay-sw.txt" -nn -x -c 1 'udp[8:4] = 0x01010000' 2>/dev/null |
		awk '/^\t0x/ { for (i = 2; i <= NF; i++) h = h $i } END { print h }')
	hex=${hex:$((2 * (4 * 0x${hex:1:1}) + 16))}
	[[ ${#hex} == 264 && $hex == 01010000* ]] || { bad "no initiation captured"; return 1; }
	xxd -r -p <<<"$hex" >"$TMP/initiation.bin"
	stale0=$(switch_port_drop p2 stale_handshake)
	where0=$(switch_endpoint p2)
	capture_start replay-p4 p4 -i wan0 "udp src port $SWITCH_PORT" || return 1
	nq p4 bash -c "cat '$TMP/initiation.bin' >/dev/udp/$SW_V4/$SWITCH_PORT" ||
		bad "sending the replay failed"
	wait_for 3 stale_rose "$stale0" || true
	capture_stop replay-p4
	stale1=$(switch_port_drop p2 stale_handshake)
	where1=$(switch_endpoint p2)
	note "p2 stale_handshake $stale0 -> $stale1; endpoint $where0 -> $where1;" \
		"answers to p4: $(count_lines replay-p4 'UDP')"
	((stale1 == stale0 + 1)) || bad "the replayed initiation was not refused as stale"
	[[ $where1 == "$where0" ]] || bad "the replay moved p2's endpoint to $where1"
	(($(count_lines replay-p4 'UDP') == 0)) || bad "the switch answered the replay"
	ping_ok p1 "${OVL4[p2]}" || bad "p1 cannot ping p2 after the replay"
}

# A daemon that falls behind loses datagrams and frames in the kernel, before
# its own code sees them; they must still show in its counters. Each daemon is
# stopped for a moment (by PID, and always continued) while traffic piles up.
sw_counter_above() { (($(switch_drop sw "$1") > $2)); }
port_counter_above() { (($(port_drop "$1" "$2") > $3)); }
# blast_while_stopped DAEMON FROM ARGS...: udpblast ARGS from FROM's namespace
# while DAEMON is stopped; it is continued whatever happens.
blast_while_stopped() {
	local daemon=$1 from=$2
	shift 2
	kill -STOP "${DAEMON_PID[$daemon]}"
	n "$from" "$BLAST" "$@" >/dev/null || bad "udpblast from $from while $daemon was stopped failed"
	kill -CONT "${DAEMON_PID[$daemon]}"
}
# udp_kernel_drops NS: the kernel's drop count over NS's UDP sockets (the
# last column of /proc/net/udp and udp6).
udp_kernel_drops() {
	nq "$1" awk 'FNR > 1 { d += $NF } END { print d + 0 }' /proc/net/udp /proc/net/udp6
}
check_kernel_drops() {
	local before kernel_drops round
	# The switch's socket: more datagrams than its receive buffer holds (one
	# by one: a UDP GSO burst would arrive whole, as one buffer); a few more
	# afterwards carry the kernel's count up.
	before=$(switch_drop sw rx_socket_drops)
	blast_while_stopped sw p4 "$SW_V4" "$SWITCH_PORT" 50000 7
	n p4 "$BLAST" "$SW_V4" "$SWITCH_PORT" 100 8 >/dev/null || bad "udpblast at the switch failed"
	wait_for 5 sw_counter_above rx_socket_drops "$before" ||
		bad "the switch's rx_socket_drops did not rise ($before)"
	note "switch rx_socket_drops: $before -> $(switch_drop sw rx_socket_drops)"
	# p2's socket: datagrams from p1 to p2, through the switch.
	ping_ok p1 "${OVL4[p2]}" || bad "p1 cannot ping p2"
	# Whether 50,000 frames overflow p2's socket depends on how fast p1's
	# vport and the switch pass them on, so rounds go on until the kernel
	# has dropped some (at most ten).
	before=$(port_drop p2 udp_rx_socket_drops)
	kernel_drops=$(udp_kernel_drops p2)
	kill -STOP "${DAEMON_PID[p2]}"
	for ((round = 0; round < 10; round++)); do
		n p1 "$BLAST" "${OVL4[p2]}" 9 50000 9 >/dev/null || bad "udpblast from p1 failed"
		(($(udp_kernel_drops p2) > kernel_drops)) && break
	done
	kill -CONT "${DAEMON_PID[p2]}"
	note "p2's sockets: the kernel dropped $(($(udp_kernel_drops p2) - kernel_drops)) in" \
		"$((round + 1)) rounds of 50,000 frames"
	wait_for 10 ping_ok p1 "${OVL4[p2]}" || bad "p1 cannot ping p2 after p2 went on"
	wait_for 5 port_counter_above p2 udp_rx_socket_drops "$before" ||
		bad "p2's udp_rx_socket_drops did not rise ($before)"
	note "p2 udp_rx_socket_drops: $before -> $(port_drop p2 udp_rx_socket_drops)"
	# p1's TAP: frames from p1's applications while its vport reads none.
	ping_ok p1 "${OVL4[p2]}" || bad "p1 cannot ping p2"
	before=$(port_drop p1 tap_queue_full)
	blast_while_stopped p1 p1 "${OVL4[p2]}" 9 5000 10
	port_counter_above p1 tap_queue_full "$before" ||
		bad "p1's tap_queue_full did not rise ($before)"
	note "p1 tap_queue_full: $before -> $(port_drop p1 tap_queue_full)"
	wait_for 10 p1_reaches_p2_p3 || bad "pings fail afterwards"
}

# collect_aux NAME WANT LABEL: wait for the aux process NAME (a receiving
# tool) to end, and compare what it printed with WANT.
collect_aux() {
	local name=$1 want=$2 label=$3 got
	reap "${AUX_PID[$name]}" 10 || bad "$name did not finish"
	unset "AUX_PID[$name]"
	got=$(cat "$TMP/$name.out")
	note "$label: $got"
	[[ $got == "$want" ]] || bad "$label: got '$got', want '$want'"
}

# send_file FROM TO ADDR: 24 MiB of random bytes over one TCP connection,
# through segmentation, encryption, the switch and coalescing; every byte
# must arrive unchanged.
send_file() {
	local from=$1 to=$2 addr=$3 how=${4:-} want
	want="bytes=$(stat -c %s "$TMP/payload") b2sum=$(b2sum "$TMP/payload" | cut -d' ' -f1)"
	aux_start "sink-$to" "$to" "$SINK" "$addr" 7000 || return 1
	wait_for 5 tcp_listening "$to" 7000 || bad "tcpsink did not listen in $to"
	if [[ $how == hop-by-hop ]]; then
		nq "$from" timeout 60 "$VSWITCH_TOOLS/tcpsend" "$addr" 7000 264 <"$TMP/payload" ||
			bad "sending from $from to $to with tcpsend failed"
	else
		nq "$from" timeout 60 bash -c "cat '$TMP/payload' >/dev/tcp/$addr/7000" ||
			bad "sending from $from to $to failed"
	fi
	collect_aux "sink-$to" "$want" "$from -> $to${how:+ ($how)}"
}

check_transfer() {
	local bps sent0 got2 got3
	head -c $((24 << 20)) /dev/urandom >"$TMP/payload"
	sent0=$(offload_count p1 partial_csums_sent)
	got2=$(offload_count p2 partial_csums_received)
	got3=$(offload_count p3 partial_csums_received)
	send_file p1 p2 "${OVL4[p2]}"        # offload to offload
	send_file p1 p3 "${OVL4[p3]}"        # offload to per-frame
	send_file p3 p1 "${OVL6[p1]}"        # per-frame to offload, over IPv6
	# p1's segments leave with their checksums partial: p2 hands them on to its
	# kernel, p3 (no offloads) finishes them itself, and its kernel checks them.
	note "partial checksums: p1 sent $sent0 -> $(offload_count p1 partial_csums_sent)," \
		"p2 received $got2 -> $(offload_count p2 partial_csums_received)," \
		"p3 received $got3 -> $(offload_count p3 partial_csums_received)"
	(($(offload_count p1 partial_csums_sent) > sent0 + 16000)) ||
		bad "p1 sent its segments with full checksums"
	(($(offload_count p2 partial_csums_received) > got2)) || bad "p2 received no partial checksum"
	(($(offload_count p3 partial_csums_received) > got3)) || bad "p3 received no partial checksum"
	(($(offload_count p3 partial_csums_sent) == 0)) || bad "p3 (no offloads) sent partial checksums"
	(($(port_drop p2 bad_partial_csum) == 0 && $(port_drop p3 bad_partial_csum) == 0)) ||
		bad "partial checksums dropped as bad_partial_csum"
	# IPv6 with a hop-by-hop options header (a socket option) on every segment,
	# 264 bytes long: as long as the largest CALIPSO label makes it.
	local bad0 read0
	bad0=$(port_drop p1 tap_bad_offload)
	read0=$(offload_count p1 super_frames_read)
	send_file p1 p2 "${OVL6[p2]}" hop-by-hop
	(($(port_drop p1 tap_bad_offload) == bad0)) || bad "p1 dropped super-frames with IPv6 options"
	(($(offload_count p1 super_frames_read) > read0)) || bad "p1 read no super-frame with IPv6 options"
	# IPv6 with a segment routing header (seg6 inline, added by a route): the
	# checksum's destination is the route's last segment, not the IP
	# header's, so p1 cuts these super-frames where its kernel says and
	# finishes each segment's checksum itself: none leaves partial.
	local part0
	bad0=$(port_drop p1 tap_bad_offload)
	read0=$(offload_count p1 super_frames_read)
	part0=$(offload_count p1 partial_csums_sent)
	# The segment is a second address of p2's (a segment equal to the route's
	# own destination would loop); p2 then delivers to the last one.
	local sid=${OVL6[p2]%::*}::22
	nq p2 sysctl -qw net.ipv6.conf.all.seg6_enabled=1 net.ipv6.conf.vs0.seg6_enabled=1 ||
		bad "cannot enable segment routing in p2"
	nq p2 ip -6 addr add "$sid/64" dev vs0 nodad || bad "cannot add $sid to p2"
	nq p1 ip -6 route add "${OVL6[p2]}/128" dev vs0 encap seg6 mode inline segs "$sid" ||
		bad "cannot add a segment routing route in p1"
	send_file p1 p2 "${OVL6[p2]}" "segment routing header"
	nq p1 ip -6 route del "${OVL6[p2]}/128" || bad "cannot remove p1's segment routing route"
	nq p2 ip -6 addr del "$sid/64" dev vs0 || bad "cannot remove $sid from p2"
	note "segment routing: p1 super_frames_read $read0 -> $(offload_count p1 super_frames_read)," \
		"partial_csums_sent $part0 -> $(offload_count p1 partial_csums_sent)," \
		"tap_bad_offload $bad0 -> $(port_drop p1 tap_bad_offload)"
	(($(port_drop p1 tap_bad_offload) == bad0)) ||
		bad "p1 dropped super-frames with a routing header"
	(($(offload_count p1 super_frames_read) > read0 + 100)) ||
		bad "p1 read no super-frames with a routing header"
	(($(offload_count p1 partial_csums_sent) == part0)) ||
		bad "p1 left checksums partial that a routing header sums to another address"
	aux_start tr-iperf p2 iperf3 -s -1 -B "${OVL4[p2]}" || return 1
	wait_for 5 tcp_listening p2 5201 || bad "iperf3 server did not listen"
	n p1 iperf3 -c "${OVL4[p2]}" -t 2 >"$TMP/iperf3.txt" || bad "iperf3 client failed"
	aux_stop tr-iperf
	bps=$(awk '/receiver/ { print $7, $8 }' "$TMP/iperf3.txt")
	note "iperf3 p1 -> p2: ${bps:-nothing} (not asserted)"
	[[ -n $bps ]] || bad "iperf3 reported no receiver throughput"
	# A small MSS makes super-frames of more segments than vport cuts at
	# once; the TAP must not hand it any (they would be dropped whole).
	local before after
	before=$(port_drop p1 tap_bad_offload)
	aux_start tr-iperf p2 iperf3 -s -1 -B "${OVL4[p2]}" || return 1
	wait_for 5 tcp_listening p2 5201 || bad "iperf3 server did not listen"
	n p1 iperf3 -c "${OVL4[p2]}" -t 2 -M 100 >"$TMP/iperf3-mss.txt" || bad "iperf3 -M 100 failed"
	aux_stop tr-iperf
	after=$(port_drop p1 tap_bad_offload)
	note "iperf3 -M 100 p1 -> p2: $(awk '/receiver/ { print $7, $8 }' "$TMP/iperf3-mss.txt"), p1 tap_bad_offload $before -> $after"
	((after == before)) || bad "p1 dropped $((after - before)) super-frames with an MSS of 100"
}

# snmp NAME PROTO FIELD: a counter of /proc/net/snmp in NAME's namespace.
snmp() {
	nq "$1" awk -v p="$2:" -v f="$3" '$1 == p && !n { for (i = 2; i <= NF; i++) k[i] = $i; n = 1; next }
		$1 == p { for (i = 2; i <= NF; i++) if (k[i] == f) print $i }' /proc/net/snmp
}

# p2 routes the overlay on to a host behind it ("lan2", 10.98.0.0/24) over a
# link with checksum offload off at both ends: p2's kernel finishes, in
# software, the checksums p1 left partial, from the virtio header p2's port
# gave it, and lan2's kernel checks every one (on p2 itself a partial
# checksum is trusted, so only a hop like this shows a wrong header).
check_forwarded() {
	local got0 tcp0 udp0
	[[ -f $TMP/payload ]] || head -c $((24 << 20)) /dev/urandom >"$TMP/payload"
	ns_create lan2 || return 1
	n p2 ip link add lan0 type veth peer name eth0 netns "$(ns lan2)" || return 1
	n p2 ip addr add 10.98.0.1/24 dev lan0 || return 1
	nq p2 ip link set lan0 up
	n lan2 ip addr add 10.98.0.2/24 dev eth0 || return 1
	nq lan2 ip link set eth0 up
	n p2 ethtool -K lan0 tx off rx off >/dev/null || bad "cannot turn checksum offload off on p2's lan0"
	n lan2 ethtool -K eth0 tx off rx off >/dev/null ||
		bad "cannot turn checksum offload off on lan2's eth0"
	n lan2 ip route add 10.99.0.0/24 via 10.98.0.1 || return 1
	n p2 sysctl -qw net.ipv4.ip_forward=1 || return 1
	n p1 ip route add 10.98.0.0/24 via "${OVL4[p2]}" dev vs0 || return 1
	wait_for 10 ping_ok p1 10.98.0.2 || bad "p1 cannot reach lan2 through p2"
	got0=$(offload_count p2 partial_csums_received)
	tcp0=$(snmp lan2 Tcp InCsumErrors)
	udp0=$(snmp lan2 Udp InCsumErrors)
	send_file p1 lan2 10.98.0.2
	udp_train p1 lan2 10.98.0.2 gso
	note "p2 partial_csums_received $got0 -> $(offload_count p2 partial_csums_received);" \
		"lan2 checksum errors: TCP $tcp0 -> $(snmp lan2 Tcp InCsumErrors)," \
		"UDP $udp0 -> $(snmp lan2 Udp InCsumErrors)"
	(($(offload_count p2 partial_csums_received) > got0 + 16000)) ||
		bad "p2 did not receive the transfer with partial checksums"
	(($(snmp lan2 Tcp InCsumErrors) == tcp0 && $(snmp lan2 Udp InCsumErrors) == udp0)) ||
		bad "lan2 saw bad checksums"
}

# offload_count PORT NAME: a field of PORT's "offload:" line.
offload_count() {
	port_show "$1" | awk -v k="$2" '$1 == "offload:" { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }'
}
# TAPs take and give UDP super-frames since Linux 6.2.
kernel_has_uso() {
	local major minor rest
	IFS=. read -r major minor rest <<<"$(uname -r)"
	((major > 6 || (major == 6 && minor >= 2)))
}
udp_bound() { [[ -n $(nq "$1" ss -Huln "sport = :$2") ]]; }

# udp_train FROM TO ADDR [gso]: 2,000 numbered 1,000-byte datagrams in bursts
# of 32 (with gso, each burst one UDP_SEGMENT send); every one must arrive
# once, whole and unchanged.
udp_train() {
	local from=$1 to=$2 addr=$3 gso=${4:-}
	aux_start "train-$to" "$to" "$TRAIN" recv "$addr" 7001 2000 1000 || return 1
	wait_for 5 udp_bound "$to" 7001 || bad "udptrain did not bind in $to"
	n "$from" "$TRAIN" send ${gso:+-g} "$addr" 7001 2000 1000 || bad "udptrain send from $from failed"
	collect_aux "train-$to" "received=2000 bad=0" "$from -> $to${gso:+ (UDP_SEGMENT)}"
}

# p1 and p2 take UDP super-frames from their TAPs (an application's
# UDP_SEGMENT sends) and write them (datagrams of one flow merged); p3 never.
check_udp_offload() {
	local read0 wrote1 wrote2 bad0
	wait_for 5 no_tentative p1 || bad "p1's IPv6 address stayed tentative"
	read0=$(offload_count p1 super_frames_read)
	wrote1=$(offload_count p1 super_frames_written)
	wrote2=$(offload_count p2 super_frames_written)
	bad0=$(port_drop p1 tap_bad_offload)
	udp_train p1 p2 "${OVL4[p2]}" gso # cut by p1, merged again by p2
	udp_train p3 p1 "${OVL6[p1]}"     # per-frame to offload, over IPv6
	udp_train p1 p3 "${OVL4[p3]}" gso # cut by p1 for a per-frame port
	note "p1: super_frames_read $read0 -> $(offload_count p1 super_frames_read)," \
		"super_frames_written $wrote1 -> $(offload_count p1 super_frames_written);" \
		"p2: super_frames_written $wrote2 -> $(offload_count p2 super_frames_written)"
	(($(port_drop p1 tap_bad_offload) == bad0)) || bad "p1 dropped UDP super-frames (tap_bad_offload)"
	if ! kernel_has_uso; then
		note "SKIPPED: this kernel ($(uname -r)) has no UDP offload on TAPs (Linux 6.2+);" \
			"only the datagrams were checked"
		return 0
	fi
	[[ $(offload_count p1 udp) == on ]] || bad "p1 did not turn on UDP offload"
	(($(offload_count p1 super_frames_read) > read0)) || bad "p1 read no UDP super-frame"
	(($(offload_count p1 super_frames_written) > wrote1)) || bad "p1 wrote no UDP super-frame"
	(($(offload_count p2 super_frames_written) > wrote2)) || bad "p2 wrote no UDP super-frame"
}

p1_reaches_p2_p3() { ping_ok p1 "${OVL4[p2]}" && ping_ok p1 "${OVL4[p3]}"; }

check_switch_restart() {
	local t0 took
	daemon_stop sw || bad "vswitch did not exit cleanly"
	switch_start sw sw || return 1
	t0=$(now)
	wait_for 20 p1_reaches_p2_p3 || bad "p1 cannot reach p2 and p3 20 s after the restart"
	took=$(elapsed "$t0")
	note "p1 reaches p2 and p3 again after $took s"
	awk -v t="$took" 'BEGIN { exit !(t <= 15) }' || bad "recovery took $took s, more than 15 s"
}

# A restarted port gets its TAP back with the same MAC (derived from its key);
# here p2 speaks first, as a rejoining host does. roam.sh checks that p1
# reaches p2 without that.
check_port_restart() {
	local t0 oldmac newmac
	oldmac=$(tap_mac p2)
	daemon_stop p2 || bad "p2's vport did not exit cleanly"
	if nq p2 ip link show vs0 >/dev/null 2>&1; then bad "p2's vs0 still exists"; fi
	start_port p2 || return 1
	newmac=$(tap_mac p2)
	note "p2's vs0 is back, MAC $oldmac -> $newmac"
	t0=$(now)
	wait_for 15 ping_ok p2 "${OVL4[p1]}" || bad "p2 cannot ping p1 within 15 s of its restart"
	note "p2 -> p1 after $(elapsed "$t0") s"
	ping_ok p1 "${OVL4[p2]}" || bad "p1 cannot ping p2"
	wait_for 10 no_tentative p2 || bad "p2's IPv6 addresses still tentative"
	wait_for 5 ping_ok p2 "${OVL6[p1]}" || bad "p2 cannot ping p1 over IPv6"
	ping_ok p1 "${OVL6[p2]}" || bad "p1 cannot ping p2 over IPv6"
	wait_for 2 mac_on_port "$newmac" p2 || bad "switch has not learned $newmac on p2"
}

# Every datagram a receiver refuses before any session lookup succeeds.
SWITCH_JUNK=(short bad_version bad_type bad_length bad_reserved unknown_index bad_mac1 bad_handshake handshake_rate)
switch_junk() {
	local k sum=0
	for k in "${SWITCH_JUNK[@]}"; do sum=$((sum + $(switch_drop sw "$k"))); done
	echo "$sum"
}
switch_junk_above() { (($(switch_junk) > $1)); }
# port_drop PORT NAME: one of PORT's drop counters.
port_drop() {
	port_show "$1" | awk -v k="$2" '$1 == "drops:" { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }'
}
port_junk() {
	port_show "$1" | awk '$1 == "drops:" { for (i = 2; i <= NF; i++) { split($i, kv, "="); s += kv[2] } } END { print s + 0 }'
}

# p1's vport socket is connected to the switch, so the kernel drops what comes
# from anywhere else; the blast that reaches the daemon forges the switch's
# address (udpblast -s), as an attacker on the path could.
check_blast() {
	local sw_before port_before p1_port d
	# ss prints a State column only sometimes: the local address is the
	# first ADDR:PORT field.
	p1_port=$(nq p1 ss -Hunp | awk '/"vport"/ {
		for (i = 1; i <= NF; i++) if ($i ~ /:[0-9]+$/) { n = split($i, a, ":"); print a[n]; exit } }')
	[[ -n $p1_port ]] || { bad "cannot find p1's vport UDP port"; return 1; }
	note "p1's vport sends from UDP port $p1_port"
	sw_before=$(switch_junk)
	port_before=$(port_junk p1)
	n p4 "$BLAST" -k "$(pubkey sw)" "$SW_V4" "$SWITCH_PORT" 20000 1 || bad "udpblast at the switch failed"
	n p4 "$BLAST" -k "$(pubkey sw)" "$SW_V6" "$SWITCH_PORT" 2000 2 ||
		bad "udpblast at the switch over IPv6 failed"
	n p4 "$BLAST" -k "$(pubkey p1)" 192.0.2.11 "$p1_port" 2000 3 || bad "udpblast at p1 failed"
	n p4 "$BLAST" -k "$(pubkey p1)" -s "$SW_V4:$SWITCH_PORT" 192.0.2.11 "$p1_port" 20000 4 ||
		bad "udpblast at p1, from the switch's address, failed"
	for d in sw p1 p2 p3; do
		daemon_running "$d" || bad "$d is no longer running"
	done
	wait_for 5 p1_reaches_p2_p3 || bad "pings fail after the blast"
	ping_ok p2 "${OVL4[p3]}" || bad "p2 cannot ping p3 after the blast"
	ping_ok p3 "${OVL6[p1]}" || bad "p3 cannot ping p1 over IPv6 after the blast"
	switch_show sw | sed -n '/^switch/,/^$/p' | grep 'drops:'
	port_show p1 | grep 'drops:'
	note "switch junk drops: $sw_before -> $(switch_junk); p1 drops: $port_before -> $(port_junk p1)"
	(($(switch_junk) > sw_before)) || bad "the switch's drop counters did not rise"
	(($(port_junk p1) > port_before)) || bad "p1's drop counters did not rise"
	for d in sw p1; do
		sanitizer_clean "${DAEMON_LOG[$d]}" || bad "sanitizer report in $d's log"
	done
	return 0
}

# A flood keeps the switch's receive batches full: it must still go back to
# its event loop, so its control socket (and its timers and signals) get a turn.
check_flood_responsive() {
	local blasters=() pid t0 t1 slow=0 junk
	junk=$(switch_junk)
	for seed in 5 6; do
		# Not through n: $! must be udpblast itself, to stop it below.
		ip netns exec "$(ns p4)" "$BLAST" -g -k "$(pubkey sw)" "$SW_V4" "$SWITCH_PORT" \
			500000000 "$seed" >/dev/null &
		blasters+=($!)
		AUX_PIDS+=("$!")
	done
	# The flood has reached the switch (and the control socket is served
	# between its batches) before the timing starts.
	wait_for 5 switch_junk_above "$junk" || bad "the flood did not reach the switch"
	for _ in 1 2 3; do
		t0=$(date +%s%N)
		timeout 3 "$VSWITCH" show --control "$TMP/sw.sock" | grep -q '^switch' || slow=1
		t1=$(date +%s%N)
		note "vswitch show under a flood: $(((t1 - t0) / 1000000)) ms"
	done
	for pid in "${blasters[@]}"; do
		proc_alive "$pid" || bad "a blaster ended early: the flood was shorter than the check"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	((slow == 0)) || bad "vswitch show got no answer within 3 s during a flood"
	daemon_running sw || bad "the switch is no longer running"
	wait_for 5 p1_reaches_p2_p3 || bad "pings fail after the flood"
}

control_dropped_rose() { (($(switch_drop sw control_dropped) > $1)); }

# hold_start NAME SECONDS [REQUEST]: ctlhold on the switch's control socket in
# the background, its PID in HOLD_PID; held NAME... says when all are connected.
hold_start() {
	local name=$1
	shift
	"$VSWITCH_TOOLS/ctlhold" "$TMP/sw.sock" "$@" >"$TMP/$name.hold" &
	HOLD_PID=$!
	AUX_PIDS+=("$HOLD_PID")
}
held() {
	local name
	for name; do grep -qx connected "$TMP/$name.hold" 2>/dev/null || return 1; done
}

# The control socket shares the switch's event loop with the data path: a
# client that connects and never asks, and one that asks and never reads, must
# not stop forwarding or other clients; the silent one is dropped and counted.
check_control_stall() {
	local before rtt silent asker
	before=$(switch_drop sw control_dropped)
	hold_start silent 7
	silent=$HOLD_PID
	hold_start asker 3 show
	asker=$HOLD_PID
	wait_for 5 held silent asker || bad "the stalling clients did not connect"
	timeout 8 "$VSWITCH" show --control "$TMP/sw.sock" | grep -q '^switch' ||
		bad "vswitch show got no answer while two clients stalled"
	rtt=$(n p1 ping -n -q -c 10 -i 0.1 -W 2 "${OVL4[p2]}" | awk -F/ '/^rtt/ { print $6 }')
	note "ping p1 -> p2 with two stalled control clients: max RTT ${rtt:-none} ms"
	if [[ -z $rtt ]]; then
		bad "p1 cannot ping p2 while control clients stall"
	elif ! awk -v r="$rtt" 'BEGIN { exit !(r < 500) }'; then
		bad "a ping took $rtt ms: forwarding stalled"
	fi
	wait "$asker" || bad "the asking client failed"
	wait_for 8 control_dropped_rose "$before" || bad "the silent client was not dropped"
	wait "$silent" || bad "the silent client failed"
	note "control_dropped: $before -> $(switch_drop sw control_dropped)"
	# Four clients at once are served; a fifth is told so, and show fails.
	# (Connections are accepted in order: the fifth comes after the four.)
	local more=() pid out i
	for i in 1 2 3 4; do
		hold_start "hold$i" 4
		more+=("$HOLD_PID")
	done
	wait_for 3 held hold1 hold2 hold3 hold4 || bad "four holding clients did not connect"
	if out=$("$VSWITCH" show --control "$TMP/sw.sock" 2>&1); then
		bad "vswitch show succeeded with four clients holding the socket"
	fi
	note "a fifth client: $out"
	[[ $out == *"busy, try again"* ]] || bad "the fifth client was not told the switch is busy"
	for pid in "${more[@]}"; do wait "$pid" || bad "a holding client failed"; done
	# A daemon that does not answer at all (stopped here): show gives up
	# with a reason instead of waiting for ever.
	local status=0 t0
	t0=$(now)
	kill -STOP "${DAEMON_PID[sw]}"
	out=$(timeout 15 "$VSWITCH" show --control "$TMP/sw.sock" 2>&1) || status=$?
	kill -CONT "${DAEMON_PID[sw]}"
	note "show to a stopped switch: exit $status after $(elapsed "$t0") s: $(head -n 1 <<<"$out")"
	((status != 0 && status != 124)) || bad "show to a stopped switch: exit $status"
	[[ $out == *"no answer"* ]] || bad "show to a stopped switch did not say it got no answer"
}

# switch_lacks PORT: the switch answers, and does not list PORT.
switch_lacks() {
	local out
	out=$(switch_show sw) || return 1
	! grep -q "^port $1\$" <<<"$out"
}

check_sighup() {
	local t0
	members_write p1 p2
	pp kill -HUP "${DAEMON_PID[sw]}"
	wait_for 2 switch_lacks p3 || bad "switch still lists p3 2 s after SIGHUP"
	if ping_ok p1 "${OVL4[p3]}"; then bad "p1 still pings p3 after its removal"; fi
	ping_ok p1 "${OVL4[p2]}" || bad "p1 cannot ping p2 (should be unaffected)"
	members_write p1 p2 p3
	pp kill -HUP "${DAEMON_PID[sw]}"
	t0=$(now)
	wait_for 15 ping_ok p1 "${OVL4[p3]}" || bad "p3 not back within 15 s"
	note "p3 back after $(elapsed "$t0") s"
	switch_has_port sw p3 || bad "switch does not list p3 as connected"
}

# A port whose underlay MTU is below its datagrams' size: GSO runs are
# refused by the kernel (EMSGSIZE, or EINVAL before Linux 6.13), so vport
# sends them one by one and IP fragments them; nothing may be lost.
check_small_underlay_mtu() {
	local errors fallbacks
	[[ -f $TMP/payload ]] || head -c $((24 << 20)) /dev/urandom >"$TMP/payload"
	errors=$(port_drop p1 udp_tx_errors)
	n p1 ip link set wan0 mtu 1280 || bad "cannot set p1's underlay MTU"
	send_file p1 p2 "${OVL4[p2]}"
	n p1 ip link set wan0 mtu 1500 || bad "cannot restore p1's underlay MTU"
	fallbacks=$(port_show p1 | awk '$1 == "offload:" { sub("gso_fallbacks=", "", $6); print $6 }')
	note "p1 udp_tx_errors $errors -> $(port_drop p1 udp_tx_errors), gso_fallbacks $fallbacks"
	[[ $(port_drop p1 udp_tx_errors) == "$errors" ]] || bad "p1 dropped datagrams it could send"
	((${fallbacks:-0} > 0)) || bad "p1 never fell back from GSO: the test did not test it"
	# The switch's own fallback, towards p2, which reached it at its second
	# address: the datagrams sent one by one must still leave from there.
	n sw ip route add 192.0.2.12/32 dev wan0 mtu 1280 || bad "cannot set a route MTU to p2"
	errors=$(switch_drop sw tx_errors)
	send_file p1 p2 "${OVL4[p2]}"
	n sw ip route del 192.0.2.12/32 dev wan0 || bad "cannot remove the route MTU to p2"
	note "switch tx_errors $errors -> $(switch_drop sw tx_errors)"
	[[ $(switch_drop sw tx_errors) == "$errors" ]] || bad "the switch dropped datagrams to p2"
}

# A reload sent while the switch is still starting up (strace holds its
# members-file open for 2 s) is deferred, not fatal.
untraced() { grep -q '^TracerPid:[[:space:]]*0$' "/proc/$1/status"; }

# descendants PID: the PIDs of PID's children, their children, and so on.
descendants() {
	local child
	for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$child"
		descendants "$child"
	done
}

# held_in PID NR FILE: PID is stopped by its tracer in system call NR, whose
# first argument is a descriptor of FILE (for openat, FILE is open): strace's
# delay has it at a known point, so a test acts then and not after a guess.
held_in() {
	local pid=$1 nr=$2 file=$3 call arg fd
	[[ $(proc_state "$pid") == t ]] || return 1
	read -r call arg _ <"/proc/$pid/syscall" 2>/dev/null || return 1
	[[ $call == "$nr" ]] || return 1
	if ((nr == 257)); then
		for fd in /proc/"$pid"/fd/*; do
			[[ $(readlink "$fd") == "$file" ]] && return 0
		done
		return 1
	fi
	[[ $arg == 0x* && $(readlink "/proc/$pid/fd/$((arg))") == "$file" ]]
}

# held_below PID NR FILE: held_in for PID or one of its descendants.
held_below() {
	local pid
	for pid in "$1" $(descendants "$1"); do
		held_in "$pid" "$2" "$3" && return 0
	done
	return 1
}

check_sighup_startup() {
	local pid tracer
	daemon_start sw2 sw strace -D -I 2 -o /dev/null -P "$TMP/members" -e trace=openat \
		-e inject=openat:delay_exit=2000000 \
		"$VSWITCH" --listen 51998 --key "$TMP/sw.key" --members "$TMP/members" \
		--control "$TMP/sw2.sock" || bad "cannot start a second switch"
	pid=${DAEMON_PID[sw2]}
	wait_for 8 held_in "$pid" 257 "$TMP/members" ||
		bad "the second switch was never held opening its members file"
	kill -HUP "$pid" || bad "second switch gone before its SIGHUP"
	wait_for 10 "$VSWITCH" show --control "$TMP/sw2.sock" ||
		bad "a switch sent SIGHUP while starting up did not come up"
	# strace lets go when told to (LeakSanitizer cannot work under ptrace).
	tracer=$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$pid/status" 2>/dev/null)
	if [[ -n $tracer && $tracer != 0 ]]; then
		kill -TERM "$tracer"
		wait_for 5 untraced "$pid" || bad "strace did not let go of the second switch"
	fi
	daemon_stop sw2 || bad "the second switch did not exit cleanly (status or sanitizer)"
}

# expect_refusal WHAT NEEDLE NS CMD...: CMD exits non-zero within 5 s, says
# something containing NEEDLE, and no sanitizer speaks.
expect_refusal() {
	local what=$1 needle=$2 where=$3 status=0 out
	shift 3
	out=$(nq "$where" timeout 5 "$@" 2>&1) || status=$?
	note "$what: exit $status: $(head -n 1 <<<"$out")"
	((status != 0)) || bad "$what: exit status 0"
	((status != 124)) || bad "$what: still running after 5 s"
	[[ $out == *"$needle"* ]] || bad "$what: message does not mention '$needle'"
	if grep -Eq "$SANITIZER_PATTERN" <<<"$out"; then bad "$what: sanitizer report"; fi
}

check_bad_input() {
	local sp k
	sp=$(pubkey sw)
	cp "$TMP/p1.key" "$TMP/loose.key" && chmod 0644 "$TMP/loose.key"
	expect_refusal "vport, key file mode 0644" "$TMP/loose.key" p1 \
		"$VPORT" --switch "$SW_V4:$SWITCH_PORT" --switch-pubkey "$sp" --key "$TMP/loose.key" \
		--tap vsbad --control "$TMP/bad.sock"
	if nq p1 ip link show vsbad >/dev/null 2>&1; then bad "vport left TAP vsbad behind"; fi
	# The kernel would drop IPv6 addresses below 1280 and name "vs%d" itself.
	expect_refusal "vport, IPv6 address with --mtu 1000" "at least 1280" p1 \
		"$VPORT" --switch "$SW_V4:$SWITCH_PORT" --switch-pubkey "$sp" --key "$TMP/p1.key" \
		--tap vsbad --mtu 1000 --address fd00:99::9/64 --control "$TMP/bad.sock"
	expect_refusal "vport --tap vs%d" "'%'" p1 \
		"$VPORT" --switch "$SW_V4:$SWITCH_PORT" --switch-pubkey "$sp" --key "$TMP/p1.key" \
		--tap 'vs%d' --control "$TMP/bad.sock"
	if nq p1 ip link show vsbad >/dev/null 2>&1; then bad "vport left TAP vsbad behind"; fi
	expect_refusal "vswitch --mtu 99999" "--mtu" sw \
		"$VSWITCH" --listen 51999 --key "$TMP/sw.key" --members "$TMP/members" --mtu 99999 \
		--control "$TMP/bad.sock"
	{
		echo "$(pubkey p1) p1"
		echo "not-a-key p2"
	} >"$TMP/bad-members"
	expect_refusal "vswitch, bad key in members" "line 2" sw \
		"$VSWITCH" --listen 51999 --key "$TMP/sw.key" --members "$TMP/bad-members" \
		--control "$TMP/bad.sock"
	# A FIFO where a file should be: refused at once, not waited on (a
	# reload would otherwise hang a running switch).
	mkfifo "$TMP/fifo"
	expect_refusal "vswitch, key file is a FIFO" "not a regular file" sw \
		"$VSWITCH" --listen 51999 --key "$TMP/fifo" --members "$TMP/members" \
		--control "$TMP/bad.sock"
	expect_refusal "vswitch, members file is a FIFO" "members file $TMP/fifo" sw \
		"$VSWITCH" --listen 51999 --key "$TMP/sw.key" --members "$TMP/fifo" \
		--control "$TMP/bad.sock"
	expect_refusal "vswitch, no members file" "members file $TMP/none" sw \
		"$VSWITCH" --listen 51999 --key "$TMP/sw.key" --members "$TMP/none" \
		--control "$TMP/bad.sock"
	# Each connected member's own MAC takes an entry of the MAC table: a
	# table too small for every member is refused at start and at a reload
	# (the members before it stay).
	for k in p1 p2 p3; do echo "$(pubkey "$k") $k"; done >"$TMP/few-members"
	expect_refusal "vswitch, --max-macs below the members" "--max-macs of at least 3" sw \
		"$VSWITCH" --listen 51999 --key "$TMP/sw.key" --members "$TMP/few-members" \
		--max-macs 2 --control "$TMP/bad.sock"
	daemon_start sw3 sw "$VSWITCH" --listen 51997 --key "$TMP/sw.key" \
		--members "$TMP/few-members" --max-macs 3 --control "$TMP/sw3.sock" ||
		bad "cannot start a switch with --max-macs 3"
	wait_for 10 "$VSWITCH" show --control "$TMP/sw3.sock" || bad "the --max-macs 3 switch did not come up"
	key_new extra || bad "cannot make a fourth key"
	echo "$(pubkey extra) extra" >>"$TMP/few-members"
	kill -HUP "${DAEMON_PID[sw3]}" || bad "the --max-macs 3 switch is gone"
	wait_for 5 grep -q "keeping the previous members" "${DAEMON_LOG[sw3]}" ||
		bad "a reload past --max-macs was not refused"
	note "reload past --max-macs: $(grep -m 1 "max-macs of at least" "${DAEMON_LOG[sw3]}")"
	"$VSWITCH" show --control "$TMP/sw3.sock" | grep -q '^  members: 3$' ||
		bad "the --max-macs 3 switch does not keep its 3 members"
	daemon_stop sw3 || bad "the --max-macs 3 switch did not exit cleanly"
	# A members file that grows while it is read (strace holds the read for
	# 1 s, after the switch took the file's size; a line is appended
	# meanwhile) is refused, not half taken.
	cp "$TMP/members" "$TMP/growing"
	ip netns exec "$(ns sw)" env ASAN_OPTIONS=detect_leaks=0 \
		timeout 10 strace -I 2 -o /dev/null -P "$TMP/growing" \
		-e trace=read -e inject=read:delay_enter=1000000 \
		"$VSWITCH" --listen 51999 --key "$TMP/sw.key" --members "$TMP/growing" \
		--control "$TMP/bad.sock" >"$TMP/growing.out" 2>&1 &
	local grower=$! status=0
	AUX_PIDS+=("$grower")
	wait_for 8 held_below "$grower" 0 "$TMP/growing" ||
		bad "the switch was never held reading its members file"
	echo "$(pubkey p1) p1-again" >>"$TMP/growing"
	wait "$grower" || status=$?
	note "vswitch, members file growing while read: exit $status: $(head -n 1 "$TMP/growing.out")"
	((status != 0 && status != 124)) || bad "a members file changed while read: exit $status"
	grep -q "changed while it was read" "$TMP/growing.out" ||
		bad "a members file changed while read: not said"
	expect_refusal "vswitch --bogus" "--bogus" sw "$VSWITCH" --bogus
	expect_refusal "vport --bogus" "--bogus" p1 "$VPORT" --bogus
}

# ---------------------------------------------------------------- setup

T_START=$(now)
[[ -x $VSWITCH && -x $VPORT && -x $VSWITCH_TOOLS/udpblast ]] || {
	echo "missing binaries: build with make all build/san/vswitch build/san/vport build/tools/udpblast" >&2
	exit 1
}

echo "=== setup: namespaces, underlay, keys, switch and three ports (temp dir $TMP)"
inet_create inet
attach_host() { ns_create "$1" && inet_attach inet "$1" "192.0.2.$2/24" "2001:db8::$2/64"; }
attach_host sw 1
n sw ip addr add "$SW_V4_SECOND/24" dev wan0
n sw ip addr add "$SW_V6_SECOND/64" dev wan0 nodad preferred_lft 0 # never a chosen source
attach_host p1 11
attach_host p2 12
attach_host p3 13
attach_host p4 14
for k in sw p1 p2 p3; do key_new "$k"; done
lan_up "${PORTS[@]}"
echo "setup done in $(elapsed "$T_START") s"

check a "ping between all ports over IPv4 and IPv6, two of them via the switch's second addresses" check_ping_all
check b "ARP and neighbour discovery resolve to the TAP MACs" check_neighbours
check c "a broadcast reaches every other port, once" check_broadcast
check d "learned unicast is not flooded to the third port" check_unicast
check e "a stranger's key is refused" check_stranger
check f "no plaintext on the underlay" check_no_plaintext
check g "large transfers arrive intact, with and without offloads" check_transfer
check h "ports find a restarted switch within 15 s" check_switch_restart
check i "a restarted port rejoins" check_port_restart
check j "a burst of junk datagrams changes nothing" check_blast
check k "the switch answers its control socket during a flood" check_flood_responsive
check l "SIGHUP member removal cuts a port off, re-adding restores it" check_sighup
check m "bad flags and files are refused clearly" check_bad_input
check n "802.1Q-tagged frames pass through untouched" check_vlan
check o "stalled control clients do not stop forwarding" check_control_stall
check p "a SIGHUP while the switch starts up does not kill it" check_sighup_startup
check q "large transfers over a 1280-byte path MTU, from a port and from the switch" check_small_underlay_mtu
check t "a member cannot take another member's MAC" check_mac_spoof
check u "a replayed handshake initiation is refused and moves nothing" check_replay
check s "UDP datagrams keep their sizes and bytes through UDP super-frames" check_udp_offload
check w "a port's host routes the LAN on: checksums left partial come out right" check_forwarded
check v "drops inside the kernel, behind a stopped daemon, are counted" check_kernel_drops
check r "clean exit: TAPs removed, status 0, no sanitizer reports" check_clean_exit

checks_summary
