# shellcheck shell=bash
# lib-bench.sh — helpers for bench/run.sh: run in a namespace, poll, read
# iperf3's JSON, read CPU and memory counters from /proc, and summarise runs.
# Plain bash and awk (mawk is enough), so the bench needs no other package.
# Sourced, not run. The caller sets -euo pipefail.

# Log progress to stderr; stdout carries only the table.
say() { printf '%s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# in_ns NS CMD... — run CMD in namespace NS. BENCH_VERBOSE=1 echoes it first.
in_ns() {
	local ns=$1
	shift
	[ "${BENCH_VERBOSE:-0}" = 1 ] && printf '[%s] %s\n' "$ns" "$*" >&2
	ip netns exec "$ns" "$@"
}

# wait_until SECONDS DESC CMD... — poll CMD every 0.1 s until it succeeds;
# readiness is polled, never slept for.
wait_until() {
	local tries=$(($1 * 10)) desc=$2
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || { say "bench: timed out waiting for $desc"; return 1; }
		sleep 0.1
	done
}

# json_get FILE DOTTED.PATH — print one scalar from iperf3's -J output, e.g.
# "end.sum_received.bytes". iperf3 (cJSON) prints one member per line and
# opens arrays of objects as `[{`, so tracking the open keys line by line is
# enough; array elements get the name "[]". Fails if the path is absent.
json_get() {
	awk -v want="$2" '
	function key(line) { sub(/^"/, "", line); sub(/".*/, "", line); return line }
	function path(k,   i, p) {
		p = ""
		for (i = 1; i <= depth; i++) p = p stack[i] "."
		return p k
	}
	{ sub(/^[ \t]+/, "") }
	/^"[^"]*":[ \t]*\[\{$/ { stack[++depth] = key($0); stack[++depth] = "[]"; next }
	/^"[^"]*":[ \t]*\{$/   { stack[++depth] = key($0); next }
	/^\}, \{$/             { next }
	/^\}\],?$/             { depth -= 2; next }
	/^\},?$/               { depth--; next }
	/^"[^"]*":/ {
		if (path(key($0)) != want) next
		v = $0
		sub(/^"[^"]*":[ \t]*/, "", v); sub(/,$/, "", v); gsub(/^"|"$/, "", v)
		print v; found = 1; exit
	}
	END { exit !found }' "$1"
}

# proc_cpu_ticks PID — utime + stime of the whole process, in clock ticks.
# The command name may hold spaces, so cut after its closing parenthesis; then
# utime and stime are the 12th and 13th fields (14 and 15 of proc(5)).
proc_cpu_ticks() {
	local stat
	stat=$(<"/proc/$1/stat")
	stat=${stat##*) }
	# shellcheck disable=SC2086 # the fields are numbers and one state letter
	set -- $stat
	echo $((${12} + ${13}))
}

# host_busy_ticks — busy jiffies of all CPUs together, from /proc/stat's
# aggregate line: user nice system irq softirq steal (guest time is already in
# user and nice; idle and iowait are not busy).
host_busy_ticks() {
	awk '$1 == "cpu" { printf "%.0f\n", $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# proc_peak_rss_kib PID — VmHWM, the peak resident set, in KiB.
proc_peak_rss_kib() {
	awk '$1 == "VmHWM:" { print $2; found = 1 } END { exit !found }' "/proc/$1/status"
}

# ping_stats FILE — "AVG P99" in ms from ping's per-reply "time=" lines. The
# 99th percentile is the nearest-rank value: the ceil(0.99 n)-th smallest.
ping_stats() {
	sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$1" | sort -g | awk '
	{ v[NR] = $1; sum += $1 }
	END {
		if (NR == 0) exit 1
		r = int(0.99 * NR); if (r < 0.99 * NR) r++
		printf "%.4f %.4f\n", sum / NR, v[r]
	}'
}

# calc EXPR — evaluate a floating-point expression with awk.
calc() { awk "BEGIN { printf \"%.6g\n\", $1 }"; }

# median N... / min_max N... — of numbers (the scale rows, the targets); "-" for none.
median() {
	[ $# -gt 0 ] || { echo -; return; }
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.10g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
min_max() {
	[ $# -gt 0 ] || { echo -; return; }
	printf '%s\n' "$@" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'
}

# render_table METRICS RESULTS PATHS... — the summary. METRICS has one metric
# per line: "key|label|unit|printf format". RESULTS has "run path key value"
# lines, and "run path key FAIL" for a measurement that did not complete.
# Prints, per metric and path with data: the median over runs, the min–max,
# and the median divided by underlay's and by vxlan's median of the same metric
# (the first and second PATHS).
render_table() {
	local metrics=$1 results=$2
	shift 2
	awk -F'|' -v paths="$*" '
	function sort_values(n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && vals[j - 1] > vals[j]; j--) {
				t = vals[j]; vals[j] = vals[j - 1]; vals[j - 1] = t
			}
	}
	function ratio(x, ref) {
		if (ref == "" || ref == 0) return "-"
		x /= ref
		if (x >= 100) return sprintf("%.0f", x)
		if (x >= 0.1) return sprintf("%.2f", x)
		return sprintf("%.2g", x)
	}
	FNR == NR { order[++nm] = $1; label[$1] = $2; unit[$1] = $3; fmt[$1] = $4; next }
	{
		split($0, f, " ")
		k = f[2] SUBSEP f[3]
		if (f[4] == "FAIL") { failed[k]++; next }
		list[k] = list[k] " " f[4]
	}
	END {
		np = split(paths, p, " ")
		for (m = 1; m <= nm; m++)
			for (i = 1; i <= np; i++) {
				k = p[i] SUBSEP order[m]
				n = split(list[k], vals, " ")
				for (j = 1; j <= n; j++) vals[j] += 0
				if (n == 0) continue
				sort_values(n)
				med[k] = (n % 2) ? vals[(n + 1) / 2] : (vals[n / 2] + vals[n / 2 + 1]) / 2
				lo[k] = vals[1]; hi[k] = vals[n]; cnt[k] = n
			}
		printf "%-30s %-9s %-9s %10s %21s %10s %8s\n", "metric", "unit", "path", "median",
			"min-max", "x underlay", "x vxlan"
		for (m = 1; m <= nm; m++) {
			key = order[m]; form = fmt[key]
			for (i = 1; i <= np; i++) {
				k = p[i] SUBSEP key
				if (!(k in med)) {
					if (k in failed) printf "%-30s %-9s %-9s %10s\n", label[key], unit[key], p[i], "FAILED"
					continue
				}
				range = sprintf(form "-" form, lo[k], hi[k])
				note = (k in failed) ? sprintf("  (%d run(s) failed)", failed[k]) : ""
				printf "%-30s %-9s %-9s %10s %21s %10s %8s%s\n", label[key], unit[key], p[i],
					sprintf(form, med[k]), range,
					ratio(med[k], med[p[1] SUBSEP key]), ratio(med[k], med[p[2] SUBSEP key]), note
			}
		}
	}' "$metrics" "$results"
}

# proc_state PID — the one-letter state from /proc/PID/stat (Z: exited, not
# yet reaped). Fails if there is no such process.
proc_state() {
	local stat
	stat=$(<"/proc/$1/stat") || return 1
	stat=${stat##*) }
	echo "${stat%% *}"
}

# is_running PID — the process exists and has not exited; kill -0 alone would
# also accept a zombie child.
is_running() {
	local state
	state=$(proc_state "$1" 2>/dev/null) && [ "$state" != Z ]
}

# udp_rcvbuf_errors NS — datagrams NS's kernel dropped because a UDP socket's
# receive buffer was full (RcvbufErrors in NS's /proc/net/snmp).
udp_rcvbuf_errors() {
	# shellcheck disable=SC2016 # $6 is awk's
	in_ns "$1" awk '$1 == "Udp:" && $2 ~ /^[0-9]/ { print $6 }' /proc/net/snmp
}

# socket_drops NS SS_FILTER... — datagrams dropped by the UDP sockets in NS
# that match an ss(8) filter: the d counter in their skmem.
socket_drops() {
	local ns=$1
	shift
	in_ns "$ns" ss -Huanm "$@" | awk '
	match($0, /,d[0-9]+\)/) { n += substr($0, RSTART + 2, RLENGTH - 3) }
	END { print n + 0 }'
}
