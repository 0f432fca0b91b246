#!/bin/bash
#
# roam.sh — a port that moves, restarts, starts without a network, or vanishes,
# in network namespaces. Run as root from the source tree:
#     VSWITCH_BIN=build/san bash tests/netns/roam.sh
#
# Topology. Every box is a namespace named vsw-NAME-$$; "inet" plays the
# Internet: a bridge joining one veth from each of sw, p1, p2 and nat. p3 sits
# behind nat, a router that maps its UDP flows to one port of 192.0.2.30.
#
#                  ┌─────────────────── inet ───────────────────┐
#                  │ br0:  sw ───── p1 ───── p2 ───── nat       │
#                  └──┬─────────┬────────┬────────┬─────────────┘
#                 wan0│     wan0│    wan0│    wan0│
#   underlay   192.0.2.1      .11      .12      .30  snat udp -> :40001
#            ┌──────────┐ ┌──────┐ ┌──────┐ ┌─────┴────┐
#            │ sw       │ │ p1   │ │ p2   │ │ nat      │
#            │ vswitch  │ │vport │ │vport │ │ nftables │
#            │ :51820   │ │ vs0  │ │ vs0  │ └─────┬────┘
#            └──────────┘ └──────┘ └──────┘   lan0│ 10.0.3.1/24
#                                             wan0│ 10.0.3.2/24, default via .1
#                                             ┌───┴──┐
#                                             │ p3   │
#                                             │vport │
#                                             │ vs0  │
#                                             └──────┘
#   overlay (vs0)         10.99.0.1 .2        10.99.0.3
#
# Check b moves p1 from 192.0.2.11 to 192.0.2.21 (same link, no router, so no
# default route to fix). Check c rebinds nat's mapping for p3 from
# 192.0.2.30:40001 to 192.0.2.30:40002. Check d restarts p2's vport.
#
# Each check prints PASS or FAIL with its time; the last line is
# "N passed, M failed" and the exit status is non-zero if any check failed.

set -e
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

SW_V4=192.0.2.1
SW_V4_LATER=192.0.2.5 # where check g moves the switch
NO_DNS=192.0.2.99     # a name server nobody answers for (check h)
P1_OLD=192.0.2.11
P1_NEW=192.0.2.21
NAT_V4=192.0.2.30
declare -A OVL4=([p1]=10.99.0.1 [p2]=10.99.0.2 [p3]=10.99.0.3)
PORTS=(p1 p2 p3)

start_port() {
	port_start "$1" "$1" "$SW_V4:$SWITCH_PORT" sw --address "${OVL4[$1]}/24"
}

# ---------------------------------------------------------------- checks


# port_endpoint PORT: the endpoint `vswitch show` lists for PORT.
port_endpoint() {
	switch_show sw | awk -v p="port $1" '
		$0 == p { inside = 1; next }
		/^port / { inside = 0 }
		inside && $1 == "endpoint:" { print $2; exit }'
}

# endpoint_is PORT PATTERN: PORT's endpoint matches the glob PATTERN.
endpoint_is() {
	# shellcheck disable=SC2053 # $2 is a glob on purpose
	[[ $(port_endpoint "$1") == $2 ]]
}

# handshakes_done PORT: completed handshakes, from the port's own view.
handshakes_done() {
	port_show "$1" | awk '$1 == "handshakes:" { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "completed") print kv[2] } }'
}

# nat_map ZONE PORT: nat's rules, replaced in one nft transaction. p3's UDP
# flows leave from $NAT_V4:PORT. Every packet is tracked in conntrack zone
# ZONE, so moving to a new zone forgets the old mappings at once, as a NAT box
# does after a reboot or a timeout; no conntrack tool needed.
nat_map() {
	n nat nft -f - <<-EOF
		add table ip vsw
		delete table ip vsw
		table ip vsw {
			chain pre {
				type filter hook prerouting priority raw; policy accept;
				ct zone set $1
			}
			chain post {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "wan0" ip saddr 10.0.3.0/24 meta l4proto udp snat to $NAT_V4:$2
			}
		}
	EOF
}

in_log() { grep -qF -- "$2" "${DAEMON_LOG[$1]}"; }

check_ping_all() {
	local src dst
	for src in "${PORTS[@]}"; do
		for dst in "${PORTS[@]}"; do
			[[ $src != "$dst" ]] || continue
			wait_for 5 ping_ok "$src" "${OVL4[$dst]}" || bad "$src cannot ping $dst at ${OVL4[$dst]}"
		done
	done
	note "switch lists p1 at $(port_endpoint p1), p3 at $(port_endpoint p3)"
	endpoint_is p1 "$P1_OLD:*" || bad "switch does not list p1's endpoint as $P1_OLD"
	endpoint_is p3 "$NAT_V4:40001" || bad "switch does not list p3's endpoint as $NAT_V4:40001 (the NAT mapping)"
}

# p1's socket is connected, so the kernel bound it to 192.0.2.11; with that
# address gone it cannot send at all. Only the vport noticing the silence and
# opening a new socket brings p1 back; its handshake tells the switch where.
check_address_roam() {
	local t0 took addrs
	ping_ok p1 "${OVL4[p2]}" || bad "p1 cannot ping p2 before the move"
	n p1 ip addr add "$P1_NEW/24" dev wan0
	n p1 ip addr del "$P1_OLD/24" dev wan0
	t0=$(now)
	addrs=$(nq p1 ip -4 -o addr show dev wan0 | awk '{ print $4 }' | paste -sd' ')
	note "p1's wan0 now has: $addrs"
	[[ $addrs == "$P1_NEW/24" ]] || bad "p1's wan0 should hold exactly $P1_NEW/24"
	# Control: the move must break the path, else this check proves nothing.
	if ping_ok p1 "${OVL4[p2]}"; then bad "p1 still reaches p2 right after losing $P1_OLD"; fi
	if wait_for 20 ping_ok p1 "${OVL4[p2]}"; then
		took=$(elapsed "$t0")
		note "p1 reaches p2 again $took s after the move"
		awk -v t="$took" 'BEGIN { exit !(t <= 20) }' || bad "recovery took $took s, more than 20 s"
	else
		bad "p1 cannot ping p2 within 20 s of the move"
	fi
	ping_ok p2 "${OVL4[p1]}" || bad "p2 cannot ping p1 after the move"
	ping_ok p3 "${OVL4[p1]}" || bad "p3 cannot ping p1 after the move"
	wait_for 2 endpoint_is p1 "$P1_NEW:*" || true
	note "switch lists p1 at $(port_endpoint p1)"
	endpoint_is p1 "$P1_NEW:*" || bad "switch does not list p1's endpoint as $P1_NEW"
	in_log p1 "silent for" || bad "p1's log does not say the switch went silent"
	daemon_running p1 || bad "p1's vport is no longer running"
}

# After the rebinding p3's datagrams arrive from a new source port and the
# switch's go to the old mapping, which nat no longer knows. p3 stays passive:
# its next keepalive, authenticated data from the new address, must be enough
# for the switch to follow, with no new handshake.
check_nat_rebind() {
	local t0 hs_before hs_after
	# Fresh traffic both ways first, so p3 has just heard from the switch and
	# cannot declare it dead (11 s) before its keepalive (5 s) gets through.
	ping_ok p2 "${OVL4[p3]}" || bad "p2 cannot ping p3 before the rebinding"
	hs_before=$(handshakes_done p3)
	nat_map 2 40002
	t0=$(now)
	if wait_for 10 ping_ok p2 "${OVL4[p3]}"; then
		note "p2 reaches p3 again $(elapsed "$t0") s after the rebinding"
	else
		bad "p2 cannot ping p3 within 10 s of the rebinding"
	fi
	ping_ok p3 "${OVL4[p2]}" || bad "p3 cannot ping p2 after the rebinding"
	note "switch lists p3 at $(port_endpoint p3)"
	endpoint_is p3 "$NAT_V4:40002" || bad "switch does not list p3's endpoint as $NAT_V4:40002"
	in_log sw "port p3 roamed to $NAT_V4:40002" || bad "switch's log does not say p3 roamed to $NAT_V4:40002"
	hs_after=$(handshakes_done p3)
	note "p3's completed handshakes: $hs_before -> $hs_after"
	[[ -n $hs_before && $hs_after == "$hs_before" ]] ||
		bad "p3 needed a new handshake: the switch should follow its data"
}

# line_of CAPTURE REGEXP: the number of the first matching line, or a
# number past the end if none matches.
line_of() {
	local l
	l=$(grep -nE -m1 -- "$2" "$TMP/$1.txt" | cut -d: -f1)
	echo "${l:-999999}"
}

# The TAP's MAC comes from the port's key, so p1's neighbour entry for p2
# stays right across the restart: p1 reaches p2 at once, and p2 never has to
# speak first (compare basic.sh check i, where it must).
check_stable_mac() {
	local mac_before mac_after t0 entry first_req first_from_p2 first_arp
	ping_ok p1 "${OVL4[p2]}" || bad "p1 cannot ping p2 before the restart"
	mac_before=$(tap_mac p2)
	entry=$(n p1 ip neigh show dev vs0 to "${OVL4[p2]}")
	note "$entry"
	[[ $entry == *"lladdr $mac_before "* ]] || bad "p1 has no neighbour entry for p2 with $mac_before"
	capture_start mac-p1 p1 -e -i vs0 || return 1
	daemon_stop p2 || bad "p2's vport did not exit cleanly"
	if nq p2 ip link show vs0 >/dev/null 2>&1; then bad "p2's vs0 still exists after SIGTERM"; fi
	start_port p2 || return 1
	t0=$(now)
	mac_after=$(tap_mac p2)
	note "p2's vs0 is back, MAC $mac_before -> $mac_after"
	[[ $mac_after == "$mac_before" ]] || bad "p2's MAC changed across the restart"
	if wait_for 5 ping_ok p1 "${OVL4[p2]}"; then
		note "p1 -> p2 after $(elapsed "$t0") s"
	else
		bad "p1 cannot ping p2 within 5 s of its restart"
	fi
	capture_stop mac-p1
	first_req=$(line_of mac-p1 "> $mac_before, ethertype IPv4 .*${OVL4[p1]//./\\.} > ${OVL4[p2]//./\\.}: ICMP echo request")
	first_from_p2=$(line_of mac-p1 "^[^ ]+ $mac_before > ")
	first_arp=$(line_of mac-p1 "Request who-has ${OVL4[p2]//./\\.} ")
	note "p1's capture: first echo request to p2 at line $first_req, first frame from p2 at $first_from_p2, first ARP request for p2 at $first_arp"
	((first_req < 999999)) || bad "p1 sent no echo request to $mac_before"
	((first_from_p2 > first_req)) || bad "p2 sent a frame before p1's first echo request reached it"
	((first_arp > first_req)) || bad "p1 asked for p2's MAC before pinging it: its neighbour entry was not used"
	entry=$(n p1 ip neigh show dev vs0 to "${OVL4[p2]}")
	[[ $entry == *"lladdr $mac_before "* ]] || bad "p1's neighbour entry for p2 is no longer $mac_before: $entry"
}

# A port started while its host has no route to the switch (a laptop before
# its network is up) keeps trying, and joins once the network is there.
check_no_network_yet() {
	local t0
	daemon_stop p2 || bad "p2's vport did not exit cleanly"
	n p2 ip link set wan0 down
	start_port p2 || return 1
	sleep 2 # no readiness to poll for: the point is that it stays up
	daemon_running p2 || bad "p2's vport exited without a network"
	n p2 ip link set wan0 up
	t0=$(now)
	wait_for 20 ping_ok p1 "${OVL4[p2]}" || bad "p2 did not join within 20 s of its network coming up"
	note "p2 joined $(elapsed "$t0") s after its network came up"
	grep -q "will keep trying" "${DAEMON_LOG[p2]}" || bad "p2 did not say it is waiting for the network"
}

p2_expired() { switch_lacks_port sw p2; }

# A port that vanishes without a word (SIGKILL: no goodbye, as a machine that
# loses power) is expired by the switch after 30 s of silence, and its MAC
# addresses leave the table with it.
# netns_file NS FILE TEXT: /etc/FILE as processes in NS see it (`ip netns
# exec` mounts /etc/netns/<ns>/FILE over it), written in place so that a
# running process sees the change. lib.sh's cleanup removes the directory.
netns_file() {
	mkdir -p "/etc/netns/$(ns "$1")"
	printf '%s\n' "$3" >"/etc/netns/$(ns "$1")/$2"
}

log_since() { tail -n "+$(($2 + 1))" "${DAEMON_LOG[$1]}"; }
log_lines() { wc -l <"${DAEMON_LOG[$1]}"; }

# A switch known by name moves to a new address (dynamic DNS): the old one
# goes silent for p2, the name now points at the new one.
check_switch_moves() {
	local t0 from
	netns_file p2 hosts "$SW_V4 switch.test"
	daemon_stop p2 || bad "p2's vport did not exit cleanly"
	from=$(log_lines p2)
	port_start p2 p2 "switch.test:$SWITCH_PORT" sw --address "${OVL4[p2]}/24" || return 1
	wait_for 15 ping_ok p1 "${OVL4[p2]}" || bad "p2 never joined through switch.test"
	n sw ip addr add "$SW_V4_LATER/24" dev wan0
	n p2 nft -f - <<-EOF || bad "cannot cut p2 off from $SW_V4"
		table inet old_switch {
			chain out { type filter hook output priority 0; ip daddr $SW_V4 drop; }
			chain in { type filter hook input priority 0; ip saddr $SW_V4 drop; }
		}
	EOF
	netns_file p2 hosts "$SW_V4_LATER switch.test"
	t0=$(now)
	if ping_ok p1 "${OVL4[p2]}"; then bad "p1 still reaches p2 right after the move"; fi
	wait_for 30 ping_ok p1 "${OVL4[p2]}" || bad "p2 not back within 30 s of the switch's move"
	note "p2 back $(elapsed "$t0") s after the switch moved to $SW_V4_LATER"
	log_since p2 "$from" | grep -q "now resolves to $SW_V4_LATER" ||
		bad "p2's log does not say the name moved"
	port_show p2 | grep -q "^  switch: switch.test:$SWITCH_PORT ($SW_V4_LATER:$SWITCH_PORT)" ||
		bad "vport show does not list the switch at $SW_V4_LATER"
	n p2 nft delete table inet old_switch
}

# No DNS server answers when the port starts (a laptop at boot): it waits,
# and joins once the name resolves.
check_name_not_yet() {
	local t0 from
	grep -Eq '^hosts:.*\bdns\b' /etc/nsswitch.conf || {
		note "SKIPPED: /etc/nsswitch.conf does not look names up in DNS"
		return 0
	}
	netns_file p2 hosts "127.0.0.1 localhost"
	netns_file p2 resolv.conf "nameserver $NO_DNS
options timeout:1 attempts:1"
	daemon_stop p2 || bad "p2's vport did not exit cleanly"
	from=$(log_lines p2)
	port_start p2 p2 "later.test:$SWITCH_PORT" sw --address "${OVL4[p2]}/24" || return 1
	sleep 3 # no readiness to poll for: the point is that it stays up
	daemon_running p2 || bad "p2's vport exited while its switch's name did not resolve"
	log_since p2 "$from" | grep -q "Temporary failure in name resolution; will keep trying" ||
		bad "p2 did not say it is waiting for the name"
	# Lookups now take 6 s each; the port must keep answering meanwhile.
	netns_file p2 resolv.conf "nameserver $NO_DNS
options timeout:3 attempts:2"
	local k unanswered=0
	for k in 1 2 3 4 5 6; do
		timeout 3 "$VPORT" show --control "$TMP/p2.sock" >/dev/null ||
			unanswered=$((unanswered + 1))
		sleep 1
	done
	((unanswered == 0)) ||
		bad "vport show went unanswered $unanswered times of 6 while the name was looked up"
	netns_file p2 hosts "$SW_V4 later.test"
	t0=$(now)
	wait_for 20 ping_ok p1 "${OVL4[p2]}" || bad "p2 did not join within 20 s of its name resolving"
	note "p2 joined $(elapsed "$t0") s after later.test resolved"
}

check_vanished_port() {
	local pid=${DAEMON_PID[p2]:-} t0 took
	switch_has_port sw p2 || bad "p2 is not connected to begin with"
	[[ -n $pid ]] || return 1
	kill -KILL "$pid"
	reap "$pid" 5 || true
	unset "DAEMON_PID[p2]"
	t0=$(now)
	wait_for 40 p2_expired || bad "the switch still lists p2 as connected 40 s after it vanished"
	took=$(elapsed "$t0")
	note "the switch expired p2 after $took s"
	awk -v t="$took" 'BEGIN { exit !(t >= 25 && t <= 35) }' ||
		bad "expiry after $took s, expected about 30 s"
	if switch_show sw | grep -Eq '^  ([0-9a-f]{2}:){5}[0-9a-f]{2}  port p2 '; then
		bad "p2's MAC addresses are still in the table"
	fi
	start_port p2 || return 1
	wait_for 15 ping_ok p1 "${OVL4[p2]}" || bad "p2 did not come back after a restart"
}

# ---------------------------------------------------------------- setup

T_START=$(now)
[[ -x $VSWITCH && -x $VPORT ]] || {
	echo "missing binaries: build with make build/san/vswitch build/san/vport" >&2
	exit 1
}
command -v nft >/dev/null || {
	echo "roam.sh needs nft (nftables) for the NAT router" >&2
	exit 1
}

echo "=== setup: namespaces, underlay, NAT router, keys, switch and three ports (temp dir $TMP)"
inet_create inet
ns_create sw
inet_attach inet sw "$SW_V4/24"
ns_create p1
inet_attach inet p1 "$P1_OLD/24"
# Deleting a primary address deletes its subnet's secondaries too, unless
# they are promoted: P1_NEW must survive losing P1_OLD.
n p1 sysctl -qw net.ipv4.conf.wan0.promote_secondaries=1
ns_create p2
inet_attach inet p2 192.0.2.12/24
ns_create nat
inet_attach inet nat "$NAT_V4/24"
n nat sysctl -qw net.ipv4.ip_forward=1
ns_create p3
n nat ip link add lan0 type veth peer name wan0 netns "$(ns p3)"
n nat ip addr add 10.0.3.1/24 dev lan0
nq nat ip link set lan0 up
n p3 ip addr add 10.0.3.2/24 dev wan0
nq p3 ip link set wan0 up
n p3 ip route add default via 10.0.3.1
nat_map 1 40001
# IPv4 only in the overlay: with IPv6 off, a vs0 coming up sends nothing on
# its own (no DAD, MLD or router solicitation), so check d can tell whether
# p2 spoke before p1 did. Set before any vs0 exists.
for p in "${PORTS[@]}"; do n "$p" sysctl -qw net.ipv6.conf.default.disable_ipv6=1; done
for k in sw "${PORTS[@]}"; do key_new "$k"; done
lan_up "${PORTS[@]}"
echo "setup done in $(elapsed "$T_START") s"

check a "ping between all ports; the switch sees p3 through the NAT" check_ping_all
check b "p1 changes its underlay address and is back within 20 s" check_address_roam
check c "NAT rebinding: the switch follows p3's new source port" check_nat_rebind
check d "a restarted port keeps its MAC; p1 reaches it without p2 speaking first" check_stable_mac
check e "a port started without a route to the switch joins once the network is up" check_no_network_yet
check f "a port that vanishes is expired by the switch within about 30 s" check_vanished_port
check g "a port follows its switch's name to a new address" check_switch_moves
check h "a port whose switch's name does not resolve yet joins once it does" check_name_not_yet
check i "clean exit: TAPs removed, status 0, no sanitizer reports" check_clean_exit

checks_summary
