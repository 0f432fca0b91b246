#!/usr/bin/env bash
# What `make test` runs after building: unit tests, a short fuzz of every
# parser, the namespace integration tests. Prints one closing line,
# "suites: N passed, M failed".
set -uo pipefail
: "${UNIT:?}" "${FUZZ:?}"
cd "$(dirname "$0")/.."
passed=0
failed=0
run() {
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
run scripts/run-unit.sh $UNIT
run scripts/run-fuzz.sh "${FUZZ_SMOKE_SECONDS:-10}" $FUZZ
run scripts/run-netns.sh build/san
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
