#!/usr/bin/env bash
# bench/run.sh BUILD_DIR — measure vswitch against the bare underlay and kernel
# VXLAN on one machine, in network namespaces. Run as root; `make bench` does.
#
#                         inet-$$: bridge br0 plays the Internet
#              ┌──────────────────────┼──────────────────────┐
#          veth│                  veth│                  veth│   underlay 192.0.2.0/24, MTU 1500
#    ┌─────────┴────────┐   ┌─────────┴────────┐   ┌─────────┴────────┐
#    │ sw-$$            │   │ a-$$             │   │ b-$$             │
#    │ eth0 192.0.2.1   │   │ eth0 192.0.2.2   │   │ eth0 192.0.2.3   │
#    │ vswitch :51820   │   │ vx0  10.77.0.1   │   │ vx0  10.77.0.2   │  VXLAN id 42, MTU 1450
#    │                  │   │ vs0  10.99.0.1   │   │ vs0  10.99.0.2   │  vport TAP, default MTU
#    └──────────────────┘   └──────────────────┘   └──────────────────┘
#                         a runs the iperf3 and ping clients, b the iperf3 server.
#
# Each run measures the three paths a -> b in turn (underlay, vxlan, vswitch);
# the vswitch and vport daemons are started fresh for every run. Afterwards,
# if build/tools/loadgen exists, the switch alone is loaded in scale-$$:
#
#    ┌───────────────────────────────────────────┐
#    │ scale-$$: lo only                         │
#    │ vswitch 127.0.0.1:51820 <── loadgen N ports │
#    └───────────────────────────────────────────┘
#
# Last, build/tools/aeadspeed times the cipher alone by message size, and
# build/tools/relaychain the round trip through user-space hops alone.
#
# Environment: BENCH_RUNS (default 3), BENCH_QUICK=1 (one run of 2 s tests),
# BENCH_VERBOSE=1 (echo every namespaced command). The summary goes to stdout
# and to bench/results/bench-YYYYmmdd-HHMMSS.txt; progress goes to stderr.
# docs/performance.md explains every figure.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib-bench.sh
. "$repo/bench/lib-bench.sh"

[ $# -eq 1 ] || die "usage: bench/run.sh BUILD_DIR"
[ -d "$1" ] || die "no build directory '$1' (run make all)"
bin=$(cd "$1" && pwd)
for d in vswitch vport; do
	[ -x "$bin/$d" ] || die "no $bin/$d (run make all)"
done
[ "$(id -u)" -eq 0 ] || die "needs root: namespaces, veth, bridge and TAP devices"
for c in ip iperf3 ping ss awk sort timeout getconf; do
	command -v "$c" >/dev/null || die "missing command '$c' (run make deps)"
done

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	runs=1 tcp_seconds=2 udp_seconds=2 scale_seconds=2
else
	runs=${BENCH_RUNS:-3} tcp_seconds=8 udp_seconds=5 scale_seconds=5
fi
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$runs'"
readonly ping_count=200 ping_interval=0.01 udp_len=64
readonly switch_port=51820 iperf_port=5201
readonly paths=(underlay vxlan vswitch)
clk_tck=$(getconf CLK_TCK)
started=$SECONDS

ns_inet=inet-$$ ns_sw=sw-$$ ns_a=a-$$ ns_b=b-$$ ns_scale=scale-$$
tmp=$(mktemp -d /tmp/vswitch-bench.XXXXXX)
namespaces=()
pids=()
declare -A daemon_pid=()

# stop_pid PID — SIGTERM, up to 2 s to exit, then SIGKILL; reap it. Only
# ever our own children, by PID.
stop_pid() {
	local pid=$1 i state
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 20; i++)); do
		state=$(proc_state "$pid" 2>/dev/null) || break
		[ "$state" = Z ] && break
		sleep 0.1
	done
	[ "${state:-}" = Z ] || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	local kept=()
	for i in "${pids[@]}"; do [ "$i" = "$pid" ] || kept+=("$i"); done
	pids=(${kept[@]+"${kept[@]}"})
}

cleanup() {
	local pid ns
	set +e
	for pid in ${pids[@]+"${pids[@]}"}; do stop_pid "$pid"; done
	for ns in ${namespaces[@]+"${namespaces[@]}"}; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# spawn NAME NS CMD... — start CMD in NS in the background, output to
# $tmp/NAME.log, and remember its PID. Not through in_ns: a backgrounded
# function is a subshell, and its PID is not CMD's. A backgrounded simple
# command is exec'd by the forked shell, and `ip netns exec` execs CMD, so $!
# is CMD's own PID: the one /proc is read for and the one we stop.
spawn() {
	local name=$1 ns=$2
	shift 2
	[ "${BENCH_VERBOSE:-0}" = 1 ] && printf '[%s] %s &\n' "$ns" "$*" >&2
	ip netns exec "$ns" "$@" >"$tmp/$name.log" 2>&1 &
	pids+=($!)
	spawned=$!
}

show_log() { say "--- $1 log:"; tail -n 20 "$tmp/$1.log" >&2 || true; }

# expect_comm PID NAME — PID really is NAME (not a shell around it), so its
# /proc counters are the daemon's own.
expect_comm() {
	[ "$(<"/proc/$1/comm")" = "$2" ] || die "PID $1 is not $2 but $(<"/proc/$1/comm")"
}

# --- topology ---------------------------------------------------------------

add_ns() {
	ip netns add "$1"
	namespaces+=("$1")
	in_ns "$1" ip link set lo up
}

# attach NS NAME ADDR — a veth from NS's eth0 to the bridge, port NAME.
attach() {
	local ns=$1 name=$2 addr=$3
	in_ns "$ns_inet" ip link add name "$name" type veth peer name eth0 netns "$ns"
	in_ns "$ns_inet" ip link set dev "$name" master br0 up
	in_ns "$ns" ip addr add "$addr/24" dev eth0
	in_ns "$ns" ip link set eth0 up
}

# vxlan NS LOCAL REMOTE OVERLAY — a point-to-point VXLAN L2 tunnel, no
# encryption. 1450 = 1500 - 20 (IPv4) - 8 (UDP) - 8 (VXLAN) - 14 (Ethernet).
vxlan() {
	local ns=$1 local_addr=$2 remote=$3 overlay=$4
	in_ns "$ns" ip link add name vx0 type vxlan id 42 local "$local_addr" remote "$remote" \
		dstport 4789 dev eth0
	in_ns "$ns" ip link set vx0 mtu 1450 up
	in_ns "$ns" ip addr add "$overlay/24" dev vx0
}

setup_topology() {
	add_ns "$ns_inet"
	add_ns "$ns_sw"
	add_ns "$ns_a"
	add_ns "$ns_b"
	in_ns "$ns_inet" ip link add name br0 type bridge
	in_ns "$ns_inet" ip link set br0 up
	attach "$ns_sw" to-sw 192.0.2.1
	attach "$ns_a" to-a 192.0.2.2
	attach "$ns_b" to-b 192.0.2.3
	vxlan "$ns_a" 192.0.2.2 192.0.2.3 10.77.0.1
	vxlan "$ns_b" 192.0.2.3 192.0.2.2 10.77.0.2
}

make_keys() {
	local who
	(
		umask 077
		for who in sw a b; do "$bin/vport" genkey >"$tmp/$who.key"; done
	)
	for who in sw a b; do
		"$bin/vport" pubkey <"$tmp/$who.key" >"$tmp/$who.pub"
	done
	printf '%s port-a\n%s port-b\n' "$(<"$tmp/a.pub")" "$(<"$tmp/b.pub")" >"$tmp/members"
}

# --- the vswitch path's daemons ---------------------------------------------

switch_up() { "$bin/vswitch" show --control "$1"; }
port_connected() { [[ $("$bin/vport" show --control "$1" 2>/dev/null) == *"state: connected"* ]]; }

start_daemons() {
	spawn vswitch "$ns_sw" "$bin/vswitch" --listen "192.0.2.1:$switch_port" \
		--key "$tmp/sw.key" --members "$tmp/members" --control "$tmp/sw.sock"
	daemon_pid[switch]=$spawned
	wait_until 5 "vswitch's control socket" switch_up "$tmp/sw.sock" ||
		{ show_log vswitch; die "vswitch did not start"; }
	expect_comm "${daemon_pid[switch]}" vswitch
	local side ns addr
	for side in a b; do
		if [ "$side" = a ]; then ns=$ns_a addr=10.99.0.1; else ns=$ns_b addr=10.99.0.2; fi
		spawn "vport-$side" "$ns" "$bin/vport" \
			--switch "192.0.2.1:$switch_port" --switch-pubkey "$(<"$tmp/sw.pub")" \
			--key "$tmp/$side.key" --tap vs0 --address "$addr/24" --control "$tmp/$side.sock"
		daemon_pid[port_$side]=$spawned
	done
	for side in a b; do
		wait_until 15 "vport $side to connect" port_connected "$tmp/$side.sock" ||
			{ show_log "vport-$side"; show_log vswitch; die "vport $side did not connect"; }
		expect_comm "${daemon_pid[port_$side]}" vport
	done
	[ -n "$version" ] || version=$("$bin/vswitch" show --control "$tmp/sw.sock" |
		awk '$1 == "version:" && !seen++ { print $2 }')
}

check_daemons_alive() {
	local role
	for role in switch port_a port_b; do
		is_running "${daemon_pid[$role]}" && continue
		show_log vswitch
		show_log vport-a
		show_log vport-b
		die "the $role daemon (PID ${daemon_pid[$role]}) died during the run"
	done
}

# stop_daemons RUN — record each daemon's peak RSS, then stop them.
stop_daemons() {
	local run=$1 role
	check_daemons_alive
	for role in switch port_a port_b; do
		record "$run" vswitch "rss_$role" \
			"$(calc "$(proc_peak_rss_kib "${daemon_pid[$role]}") / 1024")"
	done
	"$bin/vswitch" show --control "$tmp/sw.sock" >"$tmp/switch-show.txt" 2>&1 || true
	for role in port_a port_b switch; do stop_pid "${daemon_pid[$role]}"; done
}

# --- measurements -------------------------------------------------------------

record() { echo "$1 $2 $3 $4" >>"$tmp/results"; }

# cpu_snapshot PATH — "HOST SWITCH PORT_A PORT_B" ticks; daemons only on the
# vswitch path.
cpu_snapshot() {
	local out role
	out=$(host_busy_ticks)
	if [ "$1" = vswitch ]; then
		for role in switch port_a port_b; do out+=" $(proc_cpu_ticks "${daemon_pid[$role]}")"; done
	fi
	echo "$out"
}

# iperf RUN PATH TEST DST SRC ARGS... — one iperf3 test from a to DST, its JSON
# in $tmp/RUN-PATH-TEST.json, and its name in $json. On failure, says why
# and returns 1; the caller records the FAIL.
iperf() {
	local run=$1 path=$2 test=$3 dst=$4 src=$5
	shift 5
	json=$tmp/$run-$path-$test.json
	if in_ns "$ns_a" timeout 60 iperf3 -c "$dst" -B "$src" -p "$iperf_port" -J "$@" >"$json"; then
		return 0
	fi
	say "bench: run $run $path $test: iperf3 failed: $(json_get "$json" error || echo 'no output')"
	return 1
}

# tcp_test RUN PATH TEST STREAMS DST SRC — receiver's throughput; CPU per
# byte moved, from the CPU ticks spent while the test ran.
tcp_test() {
	local run=$1 path=$2 test=$3 streams=$4 dst=$5 src=$6 before after bytes gbps
	read -ra before <<<"$(cpu_snapshot "$path")"
	if ! iperf "$run" "$path" "$test" "$dst" "$src" -t "$tcp_seconds" -P "$streams"; then
		record "$run" "$path" "$test" FAIL
		return 0
	fi
	read -ra after <<<"$(cpu_snapshot "$path")"
	bytes=$(json_get "$json" end.sum_received.bytes)
	gbps=$(calc "$(json_get "$json" end.sum_received.bits_per_second) / 1e9")
	record "$run" "$path" "$test" "$gbps"
	say "  $path $test: $gbps Gbit/s"
	[ "$test" = tcp1 ] && record "$run" "$path" host_cpu_tcp1 \
		"$(calc "(${after[0]} - ${before[0]}) / $clk_tck / ($bytes * 8 / 1e9)")"
	[ "$path" = vswitch ] || return 0
	local i=1 role
	for role in switch port_a port_b; do
		record "$run" "$path" "cpu_${role}_$test" \
			"$(calc "(${after[i]} - ${before[i]}) / $clk_tck / ($bytes / 1e9)")"
		i=$((i + 1))
	done
}

# loss_snapshot — counters of the places the vswitch path can drop a frame
# below iperf3: "VS0_A SWITCH PORT_B B_ALL PORT_A". vs0's tx_dropped counts
# frames the TAP's queue refused because vport a did not read them in time;
# the others are socket receive-buffer drops, B_ALL for all of b's sockets
# (vport b's and iperf3's).
loss_snapshot() {
	local to_switch="dst 192.0.2.1:$switch_port"
	# shellcheck disable=SC2086 # the filter is several words
	echo "$(in_ns "$ns_a" cat /sys/class/net/vs0/statistics/tx_dropped)" \
		"$(socket_drops "$ns_sw" sport = ":$switch_port")" \
		"$(socket_drops "$ns_b" $to_switch)" "$(udp_rcvbuf_errors "$ns_b")" \
		"$(socket_drops "$ns_a" $to_switch)"
}

# note_udp_loss RUN BEFORE AFTER — where the vswitch path's UDP test lost its
# frames; the last run's line goes into the report.
note_udp_loss() {
	local run=$1
	local -a b a
	read -ra b <<<"$2"
	read -ra a <<<"$3"
	printf 'run %s: iperf3 sent %s, receiver counted %s lost; dropped by: vs0 queue in a %s,' \
		"$run" "$(json_get "$json" end.sum_sent.packets)" \
		"$(json_get "$json" end.sum_received.lost_packets)" $((a[0] - b[0])) >"$tmp/udp-loss.txt"
	printf ' switch socket %s, port b socket %s, iperf3 socket in b %s, port a socket %s\n' \
		$((a[1] - b[1])) $((a[2] - b[2])) $((a[3] - b[3] - (a[2] - b[2]))) \
		$((a[4] - b[4])) >>"$tmp/udp-loss.txt"
}

# udp_test RUN PATH DST SRC — small frames as fast as the sender can make
# them (-b 0): frames per second that arrived, and the share that did not.
udp_test() {
	local run=$1 path=$2 dst=$3 src=$4 packets lost seconds kfps
	local drops_before=
	[ "$path" = vswitch ] && drops_before=$(loss_snapshot)
	if ! iperf "$run" "$path" udp64 "$dst" "$src" -u -l "$udp_len" -b 0 -t "$udp_seconds"; then
		record "$run" "$path" udp64_kfps FAIL
		return 0
	fi
	packets=$(json_get "$json" end.sum_received.packets)
	lost=$(json_get "$json" end.sum_received.lost_packets)
	seconds=$(json_get "$json" end.sum_received.seconds)
	kfps=$(calc "($packets - $lost) / $seconds / 1000")
	record "$run" "$path" udp64_kfps "$kfps"
	record "$run" "$path" udp64_loss "$(json_get "$json" end.sum_received.lost_percent)"
	say "  $path udp64: $kfps kframes/s delivered"
	[ -z "$drops_before" ] || note_udp_loss "$run" "$drops_before" "$(loss_snapshot)"
}

# ping_test RUN PATH DST — RTT average and 99th percentile of the replies.
ping_test() {
	local run=$1 path=$2 dst=$3 out=$tmp/$1-$2-ping.txt line stats
	in_ns "$ns_a" ping -n -c "$ping_count" -i "$ping_interval" -W 1 "$dst" >"$out" || true
	if ! line=$(ping_stats "$out"); then
		say "bench: run $run $path: no ping replies"
		record "$run" "$path" rtt_avg FAIL
		return 0
	fi
	read -ra stats <<<"$line"
	record "$run" "$path" rtt_avg "${stats[0]}"
	record "$run" "$path" rtt_p99 "${stats[1]}"
	say "  $path ping: avg ${stats[0]} ms, p99 ${stats[1]} ms"
}

iperf_listening() { [ -n "$(in_ns "$ns_b" ss -Hltn "( sport = :$iperf_port )")" ]; }

# measure_path RUN PATH SRC DST — the whole set for one path, a -> b. The
# iperf3 server in b binds DST, the overlay address of the path under test.
measure_path() {
	local run=$1 path=$2 src=$3 dst=$4 server
	wait_until 15 "$path: a reaching $dst" in_ns "$ns_a" ping -n -c 1 -W 1 "$dst" ||
		die "$path path does not carry traffic from a to b"
	spawn "iperf3-$path" "$ns_b" iperf3 -s -B "$dst" -p "$iperf_port"
	server=$spawned
	wait_until 5 "iperf3 server on $dst" iperf_listening || { show_log "iperf3-$path"; die "no iperf3 server"; }
	expect_comm "$server" iperf3
	ping_test "$run" "$path" "$dst"
	tcp_test "$run" "$path" tcp1 1 "$dst" "$src"
	tcp_test "$run" "$path" tcp4 4 "$dst" "$src"
	udp_test "$run" "$path" "$dst" "$src"
	stop_pid "$server"
}

one_run() {
	local run=$1
	say "run $run of $runs"
	measure_path "$run" underlay 192.0.2.2 192.0.2.3
	measure_path "$run" vxlan 10.77.0.1 10.77.0.2
	start_daemons
	measure_path "$run" vswitch 10.99.0.1 10.99.0.2
	stop_daemons "$run"
}

# --- scale: one switch, many sessions -------------------------------------------

# Rows of "PORTS MACS_PER_PORT": 10, 100 and 1,000 ports, then 1,000 ports with
# 10,000 and 100,000 MACs (within the switch's default caps: 1024 per port,
# 131072 in all), so the last three rows show the rate against table size.
readonly scale_rows=("10 1" "100 1" "1000 1" "1000 10" "1000 100")
readonly scale_keys=1000

# scale_once LOADGEN PORTS MACS_PER_PORT — a fresh switch (so its peak RSS is
# this run's) loaded by loadgen; prints "fps rss_mib macs_learned note...",
# fps "-" if loadgen failed.
scale_once() {
	local loadgen=$1 ports=$2 per_port=$3 pid out fps=- note='' rss macs
	spawn scale-switch "$ns_scale" "$bin/vswitch" --listen "127.0.0.1:$switch_port" \
		--key "$tmp/sw.key" --members "$tmp/scale-members" --control "$tmp/scale.sock"
	pid=$spawned
	wait_until 5 "the scale switch's control socket" switch_up "$tmp/scale.sock" ||
		{ show_log scale-switch; die "vswitch did not start for the scale test"; }
	expect_comm "$pid" vswitch
	if out=$(in_ns "$ns_scale" timeout $((scale_seconds + 180)) "$loadgen" run \
		--switch "127.0.0.1:$switch_port" --switch-pubkey "$(<"$tmp/sw.pub")" \
		--keys "$tmp/scale-keys" --ports "$ports" --macs-per-port "$per_port" \
		--seconds "$scale_seconds" --learn once 2>"$tmp/loadgen.log"); then
		fps=$(awk '{ for (i = 1; i <= NF; i++) if (sub(/^frames_per_sec=/, "", $i)) print $i }' <<<"$out")
	else
		note="loadgen failed: $(tail -n 1 "$tmp/loadgen.log")"
	fi
	is_running "$pid" || { show_log scale-switch; die "vswitch died under loadgen ($ports ports)"; }
	rss=$(calc "$(proc_peak_rss_kib "$pid") / 1024")
	macs=$("$bin/vswitch" show --control "$tmp/scale.sock" | awk '$1 == "mac" && $2 == "table:" { print $3 }')
	stop_pid "$pid"
	echo "${fps:--} $rss ${macs:-?} $note"
}

# scale_row LOADGEN PORTS MACS_PER_PORT — the row measured $runs times:
# frames/s as median and min-max, the largest RSS, the last MAC count.
# scale_print PORTS PER_PORT "FPS..." RSS MACS NOTE — one row of the scale table.
scale_print() {
	local fps
	read -r -a fps <<<"$3"
	printf '%6s %8s %10s %17s %16.1f %12s  %s\n' "$1" "$(($1 * $2))" \
		"$(median "${fps[@]}")" "$(min_max "${fps[@]}")" "$4" "$5" "$6"
}

# run_scale — loadgen (bench/loadgen.c, built as BUILD_DIR/tools/loadgen)
# plays many ports at one switch alone in a namespace with only loopback, each
# row $runs times, the rows in turn; then tablespeed times the table work alone.
run_scale() {
	local loadgen=$bin/tools/loadgen row_ports row_macs
	if [ ! -x "$loadgen" ]; then
		echo "scale: loadgen not built"
		return 0
	fi
	add_ns "$ns_scale"
	"$loadgen" keys --ports "$scale_keys" --members-out "$tmp/scale-members" \
		--keys-out "$tmp/scale-keys" 2>"$tmp/loadgen.log" ||
		{ show_log loadgen; die "loadgen could not make keys"; }
	echo "scale: one switch on loopback, loadgen --learn once, 64 B frames, $scale_seconds s each, $runs runs"
	printf '%6s %8s %10s %17s %16s %12s\n' ports MACs "frames/s" "min-max" "switch RSS MiB" \
		"MACs learned"
	# The rows take turns, run after run, so that the VM's drift over the
	# minutes this takes falls on every row alike, not on the last ones.
	local r i f m k n fps=() rss=() macs=() note=()
	for ((r = 1; r <= runs; r++)); do
		for i in "${!scale_rows[@]}"; do
			read -r row_ports row_macs <<<"${scale_rows[i]}"
			say "  scale: $row_ports ports x $row_macs MACs, run $r"
			read -r f m k n <<<"$(scale_once "$loadgen" "$row_ports" "$row_macs")"
			[ "$f" = - ] || fps[i]+=" $f"
			rss[i]=$(calc "($m > ${rss[i]:-0}) ? $m : ${rss[i]:-0}")
			macs[i]=$k
			[ -n "$n" ] && note[i]=$n
		done
	done
	for i in "${!scale_rows[@]}"; do
		read -r row_ports row_macs <<<"${scale_rows[i]}"
		scale_print "$row_ports" "$row_macs" "${fps[i]:-}" "${rss[i]}" "${macs[i]}" \
			"${note[i]:-}"
	done
	echo
	if [ -x "$bin/tools/tablespeed" ]; then
		"$bin/tools/tablespeed" || echo "tablespeed failed"
	fi
}

# The cipher alone, one core, no network: what each frame's four seals and
# opens through the switch cost at least.
# run_relaychain — the round-trip time of user-space hops alone (loopback, no
# cipher, no TAP), pings as far apart as the ping test's: the floor under
# vswitch's RTT on this machine (bench/relaychain.c).
run_relaychain() {
	local interval_us
	interval_us=$(awk -v s="$ping_interval" 'BEGIN { printf "%d", s * 1e6 }')
	echo "user-space hops alone: UDP round trips on loopback through plain relay processes to an"
	echo "echo process, $ping_count every $ping_interval s (2 relays wake as many processes as a ping through vswitch)"
	if [ -x "$bin/tools/relaychain" ]; then
		"$bin/tools/relaychain" "$ping_count" "$interval_us" || echo "relaychain failed"
	else
		echo "relaychain not built"
	fi
}

run_aeadspeed() {
	if [ -x "$bin/tools/aeadspeed" ]; then
		"$bin/tools/aeadspeed" || echo "aeadspeed failed"
	else
		echo "cipher: aeadspeed not built"
	fi
}

# --- report ---------------------------------------------------------------------

write_metrics() {
	cat >"$tmp/metrics" <<-'EOF'
	rtt_avg|ping RTT, average|ms|%.3f
	rtt_p99|ping RTT, 99th percentile|ms|%.3f
	tcp1|TCP, 1 stream|Gbit/s|%.3f
	tcp4|TCP, 4 streams|Gbit/s|%.3f
	udp64_kfps|UDP 64 B, delivered|kframe/s|%.1f
	udp64_loss|UDP 64 B, lost|%|%.1f
	host_cpu_tcp1|machine CPU, TCP 1 stream|s/Gbit|%.3f
	cpu_switch_tcp1|switch CPU, TCP 1 stream|s/GB|%.2f
	cpu_port_a_tcp1|port a CPU, TCP 1 stream|s/GB|%.2f
	cpu_port_b_tcp1|port b CPU, TCP 1 stream|s/GB|%.2f
	cpu_switch_tcp4|switch CPU, TCP 4 streams|s/GB|%.2f
	cpu_port_a_tcp4|port a CPU, TCP 4 streams|s/GB|%.2f
	cpu_port_b_tcp4|port b CPU, TCP 4 streams|s/GB|%.2f
	rss_switch|switch peak RSS|MiB|%.1f
	rss_port_a|port a peak RSS|MiB|%.1f
	rss_port_b|port b peak RSS|MiB|%.1f
	EOF
}

# path_median PATH KEY — this run's median of one metric ("" if none).
path_median() {
	local -a v
	mapfile -t v < <(awk -v p="$1" -v k="$2" '$2 == p && $3 == k && $4 != "FAIL" { print $4 }' \
		"$tmp/results")
	[ ${#v[@]} -eq 0 ] || median "${v[@]}"
}

# verdict GOOD — "met" or "not met", GOOD being an awk condition.
verdict() { awk "BEGIN { print ($1) ? \"met\" : \"not met\" }"; }

# targets — issue 3's targets against this run's medians (docs/performance.md).
targets() {
	local tcp_vs tcp_vx cpu cpu_u rtt_u rtt_x rtt_s added allowed fps1k fps100k rss100k
	local mtu seal open cipher
	tcp_vs=$(path_median vswitch tcp1) tcp_vx=$(path_median vxlan tcp1)
	cpu=$(path_median vswitch host_cpu_tcp1) cpu_u=$(path_median underlay host_cpu_tcp1)
	rtt_u=$(path_median underlay rtt_avg) rtt_x=$(path_median vxlan rtt_avg)
	rtt_s=$(path_median vswitch rtt_avg)
	fps1k=$(awk '$1 == 1000 && $2 == 1000 { print $3 }' "$tmp/scale.txt")
	read -r fps100k rss100k < <(awk '$1 == 1000 && $2 == 100000 { print $3, $5 }' \
		"$tmp/scale.txt") || true
	echo "targets (issue 3), this run's medians:"
	if [[ -n $tcp_vs && -n $tcp_vx ]]; then
		printf '  %-52s %-28s %s\n' "through the switch, 1 TCP stream >= 0.15 x vxlan" \
			"$(calc "$tcp_vs / $tcp_vx" | xargs printf '%.2f x vxlan')" \
			"$(verdict "$tcp_vs >= 0.15 * $tcp_vx")"
	fi
	printf '  %-52s %-28s %s\n' "a direct path >= 0.30 x vxlan" "-" "no direct paths yet"
	if [[ -n $cpu ]]; then
		printf '  %-52s %-28s %s\n' "whole machine <= 0.5 CPU-s per Gbit" \
			"$(printf '%.3f s/Gbit' "$cpu")" "$(verdict "$cpu <= 0.5")"
	fi
	if [[ -n $rtt_u && -n $rtt_x && -n $rtt_s ]]; then
		added=$(calc "$rtt_s - $rtt_u") allowed=$(calc "2 * ($rtt_x - $rtt_u)")
		printf '  %-52s %-28s %s\n' "added RTT <= 2 x vxlan's added RTT" \
			"$(printf '%.3f ms, allowed %.3f' "$added" "$allowed")" \
			"$(verdict "$added <= $allowed")"
	fi
	if [[ $fps1k =~ ^[0-9.]+$ && $fps100k =~ ^[0-9.]+$ && -n $rss100k ]]; then
		printf '  %-52s %-28s %s\n' "switch, 1,000 ports and 100,000 MACs: RSS < 64 MiB" \
			"$rss100k MiB" "$(verdict "$rss100k < 64")"
		# Flat: within the 20% the same row moves between runs on this VM.
		printf '  %-52s %-28s %s\n' "  ... forwarding rate flat (100,000 vs 1,000 MACs)" \
			"$(calc "$fps100k / $fps1k" | xargs printf '%.2f x')" \
			"$(verdict "$fps100k >= 0.8 * $fps1k")"
	fi
	# The goal behind the targets: the cipher's own cost and nothing more.
	# Through the switch a frame is sealed and opened twice (aeadspeed's last
	# two columns are the daemons' own path, here at 1,434 bytes); one TCP
	# stream's frames carry MTU - 52 bytes (IPv4, TCP with timestamps). TCP's
	# own cost is the underlay's.
	mtu=$(awk '$1 == "mtu:" { print $2; exit }' "$tmp/switch-show.txt" 2>/dev/null)
	read -r seal open < <(awk '$1 == 1434 { print $(NF - 1), $NF }' "$tmp/aead.txt") || true
	if [[ $mtu =~ ^[0-9]+$ && $seal =~ ^[0-9.]+$ && $open =~ ^[0-9.]+$ && -n $cpu && -n $cpu_u ]]
	then
		cipher=$(calc "2 * ($seal + $open) / (8 * ($mtu - 52))")
		printf '  %-52s %-28s %s\n' "the goal: the cipher's own cost, and TCP's" \
			"$(printf '%.3f + %.3f s/Gbit' "$cipher" "$cpu_u")" \
			"$(printf 'measured %.3f: %.3f above' "$cpu" "$(calc "$cpu - $cipher - $cpu_u")")"
	fi
}

report() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "vswitch bench $(date '+%Y-%m-%d %H:%M:%S'), vswitch version ${version:-unknown}"
	echo "host: Linux $(uname -r), $(nproc) CPUs (${cpu:-unknown}); the daemons, iperf3 and ping share them"
	echo "runs: $runs; TCP ${tcp_seconds} s; UDP ${udp_len} B at -b 0 for ${udp_seconds} s;" \
		"$ping_count pings every ${ping_interval} s"
	echo "median over the runs, min-max, and median / underlay's and / vxlan's (docs/performance.md)"
	echo
	render_table "$tmp/metrics" "$tmp/results" "${paths[@]}"
	echo
	targets
	echo
	cat "$tmp/scale.txt"
	echo
	cat "$tmp/aead.txt"
	echo
	cat "$tmp/relaychain.txt"
	echo
	echo "switch counters at the end of the last run (vswitch show, without the MAC table):"
	sed -n '/^mac table:/q; /^$/d; s/^/  /p' "$tmp/switch-show.txt"
	echo "the vswitch path's UDP test, last run:"
	sed 's/^/  /' "$tmp/udp-loss.txt" 2>/dev/null || echo '  (not measured)'
	echo
	echo "wall time: $((SECONDS - started)) s"
}

main() {
	version=
	: >"$tmp/results"
	write_metrics
	setup_topology
	make_keys
	local run out
	for ((run = 1; run <= runs; run++)); do one_run "$run"; done
	run_scale >"$tmp/scale.txt"
	run_aeadspeed >"$tmp/aead.txt"
	run_relaychain >"$tmp/relaychain.txt"
	mkdir -p "$repo/bench/results"
	out=$repo/bench/results/bench-$(date +%Y%m%d-%H%M%S).txt
	report | tee "$out"
	say "saved $out"
}

main
