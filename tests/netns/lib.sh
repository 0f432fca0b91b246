# shellcheck shell=bash
#
# lib.sh — helpers for the vswitch network-namespace tests and the demo,
# modelled on WireGuard's tests/netns.sh. Source it; it defines functions and
# state, and installs an EXIT trap that cleans up everything it created.
#
# Everything lives in namespaces named vsw-NAME-$$: nothing is created in, and
# no packet leaves through, the namespace the script runs in. Daemons run in
# the background and log to files in a private temp dir; their control sockets
# are there too. Cleanup kills only the PIDs recorded here, by PID.
#
# Helpers that can fail return a status instead of relying on `set -e`, because
# bash ignores `set -e` inside a function called from `if` or `||`, which is
# how the checks run.

VSWITCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# A relative directory is taken from the current directory if it exists there,
# else from the source tree.
lib_resolve_dir() {
	if [[ -d $1 ]]; then
		(cd "$1" && pwd)
	elif [[ -d $VSWITCH_ROOT/$1 ]]; then
		(cd "$VSWITCH_ROOT/$1" && pwd)
	else
		echo "$1"
	fi
}
VSWITCH_BIN=$(lib_resolve_dir "${VSWITCH_BIN:-build/san}")
VSWITCH_TOOLS=$(lib_resolve_dir "${VSWITCH_TOOLS:-build/tools}")
VSWITCH=$VSWITCH_BIN/vswitch
VPORT=$VSWITCH_BIN/vport

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

SUFFIX=$$
SANITIZER_PATTERN='ERROR: AddressSanitizer|runtime error:|LeakSanitizer'
ECHO_CMDS=${ECHO_CMDS:-1}   # 0: run commands without echoing them first

# The script's own stdout and stderr, for cleanup: a signal trap can run while
# a command's output is redirected to a file. Background children close them.
exec {LIB_OUT}>&1 {LIB_ERR}>&2

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vswitch-netns.XXXXXX")
chmod 0700 "$TMP"

NAMESPACES=()           # short names, as created
declare -A DAEMON_PID   # daemon name -> PID while it runs
declare -A DAEMON_LOG   # daemon name -> log file (appended across restarts)
DAEMON_ORDER=()         # daemon names in start order
DAEMON_PROBLEMS=()      # one line per daemon that exited badly
AUX_PIDS=()             # tcpdump, iperf3 servers: killed at cleanup
declare -A AUX_PID      # capture/server name -> PID
LIB_FAILED=0            # set to 1 by the caller to print log tails at exit

# ---------------------------------------------------------------- commands

# Commands are echoed to stderr, so $(n NS CMD) captures only CMD's output.
pp() {
	[[ $ECHO_CMDS == 0 ]] || printf '[+] %s\n' "$*" >&2
	"$@"
}

ns() { echo "vsw-$1-$SUFFIX"; }

# n NS CMD...: run CMD in namespace NS (short name), echoing it first.
n() {
	local name=$1
	shift
	[[ $ECHO_CMDS == 0 ]] || printf '[+] %s: %s\n' "$name" "$*" >&2
	ip netns exec "$(ns "$name")" "$@"
}

# nq NS CMD...: the same without the echo, for polls and captured output.
nq() {
	local name=$1
	shift
	ip netns exec "$(ns "$name")" "$@"
}

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
	local deadline
	deadline=$(awk -v t="$1" -v n="$EPOCHREALTIME" 'BEGIN { printf "%.3f", n + t }')
	shift
	while true; do
		"$@" >/dev/null 2>&1 && return 0
		awk -v d="$deadline" -v n="$EPOCHREALTIME" 'BEGIN { exit !(n >= d) }' && return 1
		sleep 0.1
	done
}

# proc_state PID: the process's state letter (R, S, t, Z...), empty if gone.
proc_state() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }

# The process exists and is not a zombie waiting for us to reap it.
proc_alive() {
	local state
	state=$(proc_state "$1")
	[[ -n $state && $state != Z ]]
}

proc_gone() { ! proc_alive "$1"; }

# ---------------------------------------------------------------- topology

# ns_create NAME: a namespace with loopback up.
ns_create() {
	pp ip netns add "$(ns "$1")" || return 1
	NAMESPACES+=("$1")
	nq "$1" ip link set lo up
}

# inet_create NAME: the namespace playing the Internet, a bridge br0 inside.
inet_create() {
	ns_create "$1" || return 1
	n "$1" ip link add br0 type bridge || return 1
	nq "$1" ip link set br0 up
}

# inet_attach INET NAME CIDR...: a veth from namespace NAME into the bridge in
# INET; NAME's end is wan0, with the given addresses (IPv6 without DAD).
inet_attach() {
	local inet=$1 name=$2 cidr
	shift 2
	n "$inet" ip link add "$name" type veth peer name wan0 netns "$(ns "$name")" || return 1
	nq "$inet" ip link set "$name" master br0 up || return 1
	for cidr in "$@"; do
		if [[ $cidr == *:* ]]; then
			n "$name" ip addr add "$cidr" dev wan0 nodad || return 1
		else
			n "$name" ip addr add "$cidr" dev wan0 || return 1
		fi
	done
	nq "$name" ip link set wan0 up
}

# ---------------------------------------------------------------- keys

# key_new NAME: $TMP/NAME.key (mode 0600) and $TMP/NAME.pub.
key_new() {
	(umask 077 && "$VPORT" genkey >"$TMP/$1.key") || return 1
	"$VPORT" pubkey <"$TMP/$1.key" >"$TMP/$1.pub"
}
pubkey() { cat "$TMP/$1.pub"; }

# members_write NAME...: the switch's members file, atomically replaced so a
# SIGHUP never reads half a file.
members_write() {
	local name
	{
		echo "# vswitch members, written by lib.sh"
		for name in "$@"; do
			echo "$(pubkey "$name") $name"
		done
	} >"$TMP/members.new" || return 1
	mv "$TMP/members.new" "$TMP/members"
}

# ---------------------------------------------------------------- daemons

# daemon_start NAME NS CMD...: run CMD in namespace NS in the background,
# logging to $TMP/NAME.log. `ip netns exec` execs CMD, so $! is the daemon.
daemon_start() {
	local name=$1 where=$2
	shift 2
	if [[ -n ${DAEMON_PID[$name]:-} ]]; then
		echo "daemon_start: $name is already running" >&2
		return 1
	fi
	[[ $ECHO_CMDS == 0 ]] || printf '[+] %s: %s &\n' "$where" "$*" >&2
	DAEMON_LOG[$name]=$TMP/$name.log
	ip netns exec "$(ns "$where")" "$@" >>"${DAEMON_LOG[$name]}" 2>&1 {LIB_OUT}>&- {LIB_ERR}>&- &
	DAEMON_PID[$name]=$!
	DAEMON_ORDER+=("$name")
}

daemon_running() {
	[[ -n ${DAEMON_PID[$1]:-} ]] && proc_alive "${DAEMON_PID[$1]}"
}

# Wait up to SECONDS for PID to exit, then SIGKILL it; returns its status.
reap() {
	local pid=$1 timeout=$2 status=0
	if ! wait_for "$timeout" proc_gone "$pid"; then
		echo "  pid $pid did not exit within $timeout s: SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || status=$?
	return "$status"
}

sanitizer_clean() {
	! grep -Eq "$SANITIZER_PATTERN" "$1" 2>/dev/null
}

# daemon_stop NAME: SIGTERM, wait, and judge: the exit status must be 0 and
# the log must hold no sanitizer report. Problems go to DAEMON_PROBLEMS (the
# final check reads them) and make this return 1.
daemon_stop() {
	local name=$1 pid=${DAEMON_PID[$1]:-} status=0
	[[ -n $pid ]] || return 0
	[[ $ECHO_CMDS == 0 ]] || printf '[+] kill -TERM %s  (%s)\n' "$pid" "$name" >&2
	kill -TERM "$pid" 2>/dev/null
	reap "$pid" 10 || status=$?
	unset "DAEMON_PID[$name]"
	if ((status != 0)); then
		DAEMON_PROBLEMS+=("$name (pid $pid) exited with status $status")
	fi
	if ! sanitizer_clean "${DAEMON_LOG[$name]}"; then
		DAEMON_PROBLEMS+=("$name (pid $pid): sanitizer report in ${DAEMON_LOG[$name]##*/}")
		status=1
	fi
	((status == 0))
}

# switch_start NAME NS [ARGS...]: vswitch on port 51820 with $TMP/NAME.key and
# $TMP/members; control socket $TMP/NAME.sock. Waits until it answers.
SWITCH_PORT=51820
switch_start() {
	local name=$1 where=$2
	shift 2
	daemon_start "$name" "$where" "$VSWITCH" --listen "$SWITCH_PORT" --key "$TMP/$name.key" \
		--members "$TMP/members" --control "$TMP/$name.sock" "$@" || return 1
	wait_for 10 "$VSWITCH" show --control "$TMP/$name.sock" || {
		echo "switch $name did not come up" >&2
		return 1
	}
}

# port_start NAME NS SWITCH-ENDPOINT SWITCH-NAME [ARGS...]: vport with TAP vs0
# and $TMP/NAME.key; control socket $TMP/NAME.sock. Waits until the port
# answers on its control socket, which it opens once the TAP has its MAC,
# MTU and addresses and is up (the TAP alone exists before those are set).
port_start() {
	local name=$1 where=$2 endpoint=$3 sw=$4
	shift 4
	daemon_start "$name" "$where" "$VPORT" --switch "$endpoint" --switch-pubkey "$(pubkey "$sw")" \
		--key "$TMP/$name.key" --tap vs0 --control "$TMP/$name.sock" "$@" || return 1
	wait_for 10 "$VPORT" show --control "$TMP/$name.sock" || {
		echo "port $name: no answer on $TMP/$name.sock" >&2
		return 1
	}
}

switch_show() { "$VSWITCH" show --control "$TMP/$1.sock"; }
port_show() { "$VPORT" show --control "$TMP/$1.sock"; }

# switch_has_port SWITCH PORT: `vswitch show` lists PORT as connected.
switch_has_port() { switch_port_view "$1" "$2" | grep -qx '  state: connected'; }

# switch_lacks_port SWITCH PORT: the switch answers, and does not list PORT as
# connected.
switch_lacks_port() {
	local view
	view=$(switch_port_view "$1" "$2") || return 1
	! grep -qx '  state: connected' <<<"$view"
}

# switch_port_view SWITCH PORT: the lines of PORT's section in SWITCH's view;
# fails if the switch does not answer.
switch_port_view() {
	local view
	view=$(switch_show "$1") || return 1
	awk -v p="port $2" '$0 == p { inside = 1; next } /^[^ ]/ { inside = 0 } inside' <<<"$view"
}

# switch_drop SWITCH COUNTER: a switch-wide drop counter.
switch_drop() {
	switch_show "$1" | awk -v k="$2" '
		/^port / { exit }
		$1 == "drops:" { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }'
}

# tap_mac NS: the MAC of vs0 in NS.
tap_mac() { nq "$1" cat /sys/class/net/vs0/address; }

# ---------------------------------------------------------------- captures and helpers

# capture_start NAME NS TCPDUMP-ARGS...: tcpdump in the background, text to
# $TMP/NAME.txt (or a pcap, with -w -, to the same file); returns once it is
# listening.
capture_start() {
	local name=$1 where=$2
	shift 2
	[[ $ECHO_CMDS == 0 ]] || printf '[+] %s: tcpdump %s &\n' "$where" "$*" >&2
	# --immediate-mode: without it packets wait in the ring buffer for up to
	# a second, and stopping tcpdump early loses them.
	ip netns exec "$(ns "$where")" tcpdump -n -l -U --immediate-mode "$@" >"$TMP/$name.txt" 2>"$TMP/$name.err" \
		{LIB_OUT}>&- {LIB_ERR}>&- &
	AUX_PID[$name]=$!
	AUX_PIDS+=($!)
	wait_for 5 grep -q "listening on" "$TMP/$name.err" || {
		echo "tcpdump $name did not start:" >&2
		cat "$TMP/$name.err" >&2
		return 1
	}
}

# capture_stop NAME: stop tcpdump so its output is complete.
capture_stop() {
	local pid=${AUX_PID[$1]:-}
	[[ -n $pid ]] || return 0
	kill -INT "$pid" 2>/dev/null
	reap "$pid" 5 || true
	unset "AUX_PID[$1]"
}

# aux_start NAME NS CMD...: another background helper (an iperf3 server).
aux_start() {
	local name=$1 where=$2
	shift 2
	[[ $ECHO_CMDS == 0 ]] || printf '[+] %s: %s &\n' "$where" "$*" >&2
	ip netns exec "$(ns "$where")" "$@" >"$TMP/$name.out" 2>&1 {LIB_OUT}>&- {LIB_ERR}>&- &
	AUX_PID[$name]=$!
	AUX_PIDS+=($!)
}
aux_stop() { capture_stop "$1"; }

# ping_ok NS ADDR: one ping, one second.
ping_ok() { nq "$1" ping -n -c 1 -W 1 "$2" >/dev/null 2>&1; }

# ---------------------------------------------------------------- cleanup

print_logs() {
	local f
	for f in "$TMP"/*.log "$TMP"/*.err; do
		[[ -s $f ]] || continue
		echo "----- ${f##*/} (last 25 lines)"
		tail -n 25 "$f"
	done
}

# Runs on every exit, including a failed `set -e` command: stop what still
# runs (ours only, by PID), print logs on failure, delete namespaces and files.
cleanup() {
	local status=$? name pid i
	set +e
	# Finish even if signalled again, or if whoever reads our output is gone
	# (a write then fails with EPIPE instead of killing us halfway).
	trap - EXIT
	trap '' INT TERM HUP PIPE
	exec 1>&"$LIB_OUT" 2>&"$LIB_ERR"
	for name in "${DAEMON_ORDER[@]}"; do
		pid=${DAEMON_PID[$name]:-}
		[[ -n $pid ]] || continue
		kill -TERM "$pid" 2>/dev/null
	done
	for name in "${DAEMON_ORDER[@]}"; do
		pid=${DAEMON_PID[$name]:-}
		[[ -n $pid ]] || continue
		reap "$pid" 10
		unset "DAEMON_PID[$name]"
	done
	for pid in "${AUX_PIDS[@]}"; do
		proc_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${AUX_PIDS[@]}"; do
		reap "$pid" 5 2>/dev/null
	done
	if ((status != 0 || LIB_FAILED)); then
		echo "===== logs from $TMP"
		print_logs
	fi
	for ((i = ${#NAMESPACES[@]} - 1; i >= 0; i--)); do
		ip netns del "$(ns "${NAMESPACES[i]}")" 2>/dev/null
		rm -rf "/etc/netns/$(ns "${NAMESPACES[i]}")"
	done
	rmdir /etc/netns 2>/dev/null # only if it is empty
	if [[ -n ${VSWITCH_KEEP_TMP:-} ]]; then
		echo "kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

# ---------------------------------------------------------------- checks
# check ID TITLE FUNCTION runs one numbered check and prints PASS or FAIL;
# inside it, bad WHAT marks a failed step (the check goes on, so one run shows
# every broken step) and note WHAT adds a line of detail. checks_summary
# prints the tally as "N passed, M failed" and fails the script if any did.

CHECKS_PASSED=0
CHECKS_FAILED=0
RESULTS=()
CHECK_BAD=0

# bad WHAT: a step of the current check failed; the check goes on, so one
# run shows every broken step.
bad() {
	echo "  FAIL: $*"
	CHECK_BAD=1
}
note() { echo "  $*"; }

check() {
	local id=$1 title=$2 fn=$3 t0 took verdict
	echo
	echo "=== $id. $title"
	CHECK_BAD=0
	t0=$(now)
	if $fn && ((CHECK_BAD == 0)); then
		verdict=PASS
		CHECKS_PASSED=$((CHECKS_PASSED + 1))
	else
		verdict=FAIL
		CHECKS_FAILED=$((CHECKS_FAILED + 1))
	fi
	took=$(elapsed "$t0")
	echo "$verdict $id. $title (${took} s)"
	RESULTS+=("$verdict $id. $title (${took} s)")
}

checks_summary() {
	echo
	echo "=== summary ($(elapsed "$T_START") s)"
	printf '%s\n' "${RESULTS[@]}"
	echo "$CHECKS_PASSED passed, $CHECKS_FAILED failed"
	if ((CHECKS_FAILED > 0)); then
		LIB_FAILED=1
		exit 1
	fi
}

# check_clean_exit: the last check of a script. SIGTERM to every port in
# PORTS and to the switch "sw": each must exit 0, remove its TAP, and leave no
# sanitizer report, nor may any earlier run of a daemon have.
check_clean_exit() {
	local p problem
	for p in "${PORTS[@]}"; do
		daemon_stop "$p" || true
		if nq "$p" ip link show vs0 >/dev/null 2>&1; then bad "$p's vs0 still exists after SIGTERM"; fi
	done
	daemon_stop sw || true
	for problem in "${DAEMON_PROBLEMS[@]}"; do
		bad "$problem"
	done
	note "${#DAEMON_ORDER[@]} daemon runs checked for exit status and sanitizer reports"
}

# lan_up PORT...: the switch "sw" with the members file, then each port
# (start_port is the calling script's), each waited for until the switch
# lists it as connected.
lan_up() {
	local p
	members_write "$@"
	switch_start sw sw
	for p in "$@"; do start_port "$p"; done
	for p in "$@"; do
		wait_for 10 switch_has_port sw "$p" || { echo "port $p did not connect" >&2; exit 1; }
	done
}
