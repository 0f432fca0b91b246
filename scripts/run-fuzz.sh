#!/usr/bin/env bash
# run-fuzz.sh SECONDS TARGET... — run each libFuzzer target for SECONDS on its
# seed corpus (tests/fuzz/corpus/NAME). New inputs go to a scratch directory,
# so the committed corpus stays as it is. A crash, leak or sanitizer report
# fails the run and leaves the reproducer in build/fuzz/crashes/.
set -uo pipefail
seconds=$1
shift
failed=0
mkdir -p build/fuzz/crashes
for t in "$@"; do
	name=$(basename "$t")
	name=${name#fuzz_}
	scratch=$(mktemp -d)
	echo "== fuzz: $name for ${seconds}s"
	if ! "$t" -max_total_time="$seconds" -print_final_stats=0 \
		-artifact_prefix="build/fuzz/crashes/$name-" \
		"$scratch" "tests/fuzz/corpus/$name" >"build/fuzz/$name.log" 2>&1; then
		echo "FAILED: fuzz target $name (log: build/fuzz/$name.log)" >&2
		tail -n 30 "build/fuzz/$name.log" >&2
		failed=$((failed + 1))
	else
		grep -E '^#[0-9]+.*DONE' "build/fuzz/$name.log" | tail -n 1
	fi
	rm -rf "$scratch"
done
echo "fuzz: $# targets, $failed failed"
[ "$failed" -eq 0 ]
