#!/usr/bin/env bash
# run-netns.sh BINDIR — run every tests/netns/*.sh test (not lib.sh) with the
# daemons from BINDIR. Needs root: namespaces, TAP devices and bridges.
set -uo pipefail
bindir=$1
if [ "$(id -u)" -ne 0 ]; then
	echo "netns: SKIPPED — these tests need root (namespaces, TAP, bridges); run 'make test' as root" >&2
	[ -n "${CI:-}" ] && exit 1
	exit 0
fi
failed=0
count=0
for t in tests/netns/*.sh; do
	[ "$(basename "$t")" = lib.sh ] && continue
	count=$((count + 1))
	echo "== netns: $(basename "$t")"
	if ! VSWITCH_BIN="$bindir" VSWITCH_TOOLS=build/tools bash "$t"; then
		echo "FAILED: $t" >&2
		failed=$((failed + 1))
	fi
done
echo "netns: $count scripts, $failed failed"
[ "$failed" -eq 0 ]
