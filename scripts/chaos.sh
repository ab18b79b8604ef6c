#!/usr/bin/env bash
# Run the reliability suite at large sizes (5,000-event duplicate storm with
# SIGKILLed workers, a longer store outage, ...) against a local moto.
# Same tests as `make test`, bigger numbers: SQSONCE_CHAOS_SCALE=large.
# The figures each test prints (lines starting FIGURES) go in
# docs/RELIABILITY.md. Extra arguments go to `go test` (e.g. -run Storm).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-tools.sh moto rie
# moto copies a whole table on every TransactWriteItems, so at the large
# sizes its DynamoDB process grew past 9 GB and did not finish in 20 minutes:
# on moto (no AWS_ENDPOINT_URL set) the default scale is medium (a quarter of
# the way from the make-test sizes); against LocalStack or a test account it
# is large. SQSONCE_CHAOS_SCALE overrides either.
if [[ -z "${SQSONCE_CHAOS_SCALE:-}" ]]; then
	if [[ -n "${AWS_ENDPOINT_URL:-}" || -n "${SQSONCE_REAL_AWS:-}" ]]; then
		SQSONCE_CHAOS_SCALE=large
	else
		SQSONCE_CHAOS_SCALE=medium
	fi
fi
export SQSONCE_CHAOS_SCALE
echo "chaos: scale $SQSONCE_CHAOS_SCALE" >&2
exec scripts/with-local-aws.sh go test -race -count=1 -timeout "${CHAOS_TIMEOUT:-90m}" -v "$@" \
	./internal/reliability/... ./internal/faultproxy/...
