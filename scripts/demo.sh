#!/bin/bash
#
# demo.sh BINDIR — a virtual Ethernet LAN in network namespaces, narrated.
# `make demo` runs `scripts/demo.sh build`. Needs root (namespaces, TAPs).
#
#                ┌────────── inet (bridge: the "Internet") ──────────┐
#                └───┬──────────┬──────────┬──────────┬──────────┬───┘
#            192.0.2.1      .11        .12        .13        .14
#          2001:db8::1     ::11       ::12       ::13       ::14
#              sw           p1         p2         p3      stranger
#            vswitch       vport      vport      vport      vport
#                          vs0        vs0        vs0        vs0
#                       10.99.0.1     .2         .3         .4
#                       fd00:99::1    ::2        ::3        ::4
#
# Nothing is created outside the namespaces, and everything is removed at the
# end, also after an error or Ctrl-C.

set -e
if [[ $# -gt 1 || $1 == -h || $1 == --help ]]; then
	echo "usage: $0 [BINDIR]   (default: build)" >&2
	exit 2
fi
if [[ $(id -u) != 0 ]]; then
	echo "demo.sh: needs root, to create network namespaces and TAP devices" >&2
	exit 1
fi
VSWITCH_BIN=${1:-build}
ECHO_CMDS=0
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/../tests/netns/lib.sh"

for tool in "$VSWITCH" "$VPORT"; do
	[[ -x $tool ]] || { echo "demo.sh: $tool not found: run 'make' first" >&2; exit 1; }
done

if [[ -t 1 ]]; then
	BOLD=$'\e[1m' DIM=$'\e[2m' GREEN=$'\e[32m' RED=$'\e[31m' OFF=$'\e[0m'
else
	BOLD='' DIM='' GREEN='' RED='' OFF=''
fi

step() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$OFF"; }
say() { printf '    %s\n' "$*"; }
# shown NS CMD...: print the command as a person would type it, run it in NS,
# and indent its output.
shown() {
	local where=$1
	shift
	printf '    %s%s# %s%s\n' "$DIM" "$where" "$*" "$OFF"
	nq "$where" "$@" 2>&1 | sed 's/^/      /'
	return "${PIPESTATUS[0]}"
}
good() { printf '    %s✔ %s%s\n' "$GREEN" "$*" "$OFF"; }
refused() { printf '    %s✘ %s%s\n' "$RED" "$*" "$OFF"; }

declare -A OVL4=([p1]=10.99.0.1 [p2]=10.99.0.2 [p3]=10.99.0.3 [stranger]=10.99.0.4)
declare -A OVL6=([p1]=fd00:99::1 [p2]=fd00:99::2 [p3]=fd00:99::3 [stranger]=fd00:99::4)
declare -A ENDPOINT=([p1]=192.0.2.1:$SWITCH_PORT [p2]=192.0.2.1:$SWITCH_PORT
	[p3]="[2001:db8::1]:$SWITCH_PORT" [stranger]=192.0.2.1:$SWITCH_PORT)

no_tentative() { [[ -z $(nq "$1" ip -6 addr show dev vs0 tentative) ]]; }

start_port() {
	port_start "$1" "$1" "${ENDPOINT[$1]}" sw \
		--address "${OVL4[$1]}/24" --address "${OVL6[$1]}/64"
}

T_START=$(now)
printf '%svswitch demo%s: one switch, three ports, one stranger, all in network namespaces.\n' \
	"$BOLD" "$OFF"

step "Building a small Internet"
say "A namespace 'inet' holds a bridge; the switch (sw), three machines (p1, p2,"
say "p3) and a stranger each get a cable into it, with addresses in 192.0.2.0/24"
say "and 2001:db8::/64."
inet_create inet
n_host=1
for host in sw p1 p2 p3 stranger; do
	ns_create "$host"
	inet_attach inet "$host" "192.0.2.$n_host/24" "2001:db8::$n_host/64"
	n_host=$((n_host == 1 ? 11 : n_host + 1))
done

step "Making keys"
for host in sw p1 p2 p3 stranger; do key_new "$host"; done
say "Each machine makes a key pair with 'vport genkey' and 'vport pubkey'."
say "The switch admits the keys in its members file:"
members_write p1 p2 p3
sed 's/^/      /' "$TMP/members"
say "The stranger's key ($(pubkey stranger | cut -c1-12)...) is not in it."

step "Starting the switch in sw, listening on UDP $SWITCH_PORT (IPv4 and IPv6)"
switch_start sw sw
sed 's/^/      /' "$TMP/sw.log"

step "Starting a port on p1, p2 and p3"
say "Each vport creates a TAP device vs0 and tunnels its Ethernet frames to the"
say "switch, authenticated (Noise IK) and encrypted (ChaCha20-Poly1305)."
say "p1 and p2 reach the switch over IPv4, p3 over IPv6."
for p in p1 p2 p3; do
	start_port "$p"
	wait_for 10 switch_has_port sw "$p" || { echo "port $p did not connect" >&2; exit 1; }
	good "$p connected: vs0 has ${OVL4[$p]} and ${OVL6[$p]}"
done

step "The three TAPs are one Ethernet LAN: ping across it"
wait_for 10 ping_ok p1 "${OVL4[p2]}"
shown p1 ping -n -c 2 "${OVL4[p2]}"
shown p2 ping -n -c 2 "${OVL4[p3]}"
say "IPv6 needs a moment for duplicate address detection..."
for p in p1 p2 p3; do
	wait_for 10 no_tentative "$p"
done
wait_for 10 ping_ok p1 "${OVL6[p3]}"
shown p1 ping -n -c 2 "${OVL6[p3]}"
say "p1 learned its neighbours' MAC addresses with ARP and IPv6 neighbour discovery:"
shown p1 ip neigh show dev vs0

step "What the switch sees: vswitch show"
switch_show sw | sed 's/^/      /'

step "What a port sees: vport show on p1"
port_show p1 | sed 's/^/      /'

step "A stranger tries to join with a key that is not a member"
before=$(switch_drop sw unknown_key)
start_port stranger
unknown_key_above() { (($(switch_drop sw unknown_key) > $1)); }
wait_for 10 unknown_key_above "$before" || true
if nq stranger ping -n -c 2 -W 1 "${OVL4[p1]}" >/dev/null 2>&1; then
	echo "demo.sh: the stranger reached p1: that should not happen" >&2
	exit 1
fi
refused "the stranger cannot ping p1 (${OVL4[p1]})"
say "The switch refused its handshakes (unknown_key $before -> $(switch_drop sw unknown_key)):"
grep -m 1 'not a member' "$TMP/sw.log" | sed 's/^/      /'
daemon_stop stranger || { printf 'demo.sh: %s\n' "${DAEMON_PROBLEMS[@]}" >&2; exit 1; }

step "Stopping everything"
for d in p1 p2 p3 sw; do
	daemon_stop "$d" || { printf 'demo.sh: %s\n' "${DAEMON_PROBLEMS[@]}" >&2; exit 1; }
done
for p in p1 p2 p3 stranger; do
	if nq "$p" ip link show vs0 >/dev/null 2>&1; then
		echo "demo.sh: $p's vs0 is still there after vport exited" >&2
		exit 1
	fi
done
good "every daemon exited cleanly; the TAPs are gone"
say "Deleting the namespaces and files."
printf '\n%sDone in %s s.%s\n' "$BOLD" "$(elapsed "$T_START")" "$OFF"
