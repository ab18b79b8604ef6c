#!/usr/bin/env bash
# Run the reliability suite at large sizes (5,000-event duplicate storm with
# workers SIGKILLed every 1-3 s, 2,000-event storms on Valkey/Redis and on a
# FIFO queue, 1,500-event store outages with a 10 s cut, 1,500-event store
# outages of 100 s that pause consumption, ...)
# against a local moto, or against AWS_ENDPOINT_URL when it is set
# (LocalStack, a test account). Same tests as `make test`, bigger numbers:
# SQSONCE_CHAOS_SCALE=large. The figures each test prints (lines starting
# FIGURES) go in docs/RELIABILITY.md. Extra arguments go to `go test`
# (e.g. -run Storm).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-tools.sh moto redis rie
export SQSONCE_CHAOS_SCALE=large
exec scripts/with-local-aws.sh go test -race -count=1 -timeout "${CHAOS_TIMEOUT:-90m}" -v "$@" \
	./internal/reliability/... ./internal/testenv/faultproxy/...
