#!/usr/bin/env bash
# Run every fuzz target of the module for FUZZTIME each (default 20000x: a
# count of executions, not a duration: a duration races the fuzzing
# engine's own deadline on a loaded machine and fails with "context
# deadline exceeded" and no input, golang/go#51484), one at
# a time (go test -fuzz takes one target per run). The seed corpora also run
# in every plain `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-20000x}"
for pkg in $(go list ./...); do
	dir="$(go list -f '{{.Dir}}' "$pkg")"
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "fuzz: $pkg $target for $fuzztime"
		if ! out="$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1)"; then
			echo "$out" >&2
			echo "fuzz: $target failed; the failing input is under $dir/testdata/fuzz/$target (commit it as a regression seed once fixed)" >&2
			exit 1
		fi
	done
done
