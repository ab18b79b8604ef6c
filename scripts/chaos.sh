#!/usr/bin/env bash
# Run the reliability suite at large sizes (5,000-event duplicate storm with
# SIGKILLed workers, a longer store outage, ...) against a local moto.
# Same tests as `make test`, bigger numbers: SQSONCE_CHAOS_SCALE=large.
# The figures each test prints (lines starting FIGURES) go in
# docs/RELIABILITY.md. Extra arguments go to `go test` (e.g. -run Storm).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-tools.sh moto rie
export SQSONCE_CHAOS_SCALE=large
exec scripts/with-local-aws.sh go test -race -count=1 -timeout "${CHAOS_TIMEOUT:-90m}" -v "$@" \
	./internal/reliability/... ./internal/faultproxy/...
