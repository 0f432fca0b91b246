#!/usr/bin/env bash
# Run each unit test binary (sanitized); a failure or a sanitizer report fails the run.
set -uo pipefail
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for t in "$@"; do
	echo "== unit: $(basename "$t")"
	if ! "$t"; then
		echo "FAILED: $t" >&2
		failed=$((failed + 1))
	fi
done
echo "unit: $# binaries, $failed failed"
[ "$failed" -eq 0 ]
