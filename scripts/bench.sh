#!/usr/bin/env bash
# make bench: every benchmark of docs/BENCHMARKS.md, then its tables and
# chart rewritten from this run. The moto-backed parts run under
# scripts/with-local-aws.sh (a single-threaded moto for DynamoDB).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${BENCH_OUT:-$(mktemp -d)}"
mkdir -p "$out"
echo "bench: raw output in $out" >&2

{
	echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores ($(uname -m))"
	echo "- $(go version)"
	echo "- moto $(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null || echo '?'), DynamoDB served single-threaded by scripts/serve_moto.py (transactions journal the items they touch)"
	echo "- run on $(date -u +%Y-%m-%d)"
} >"$out/machine.md"

# 1. Requests per message (moto), 3. throughput on moto behind the latency
# proxy (ratios only), 5. cold start under the runtime emulator.
scripts/with-local-aws.sh bash -c "
	go test -count=1 -run TestRequestAccounting ./internal/bench -args -accounting.out='$out/accounting.md'
	go test -count=1 -run '^\$' -bench ThroughputMoto -benchtime=1x ./internal/bench | tee '$out/moto.txt'
	go test -count=1 -run '^\$' -bench ColdStart -benchtime=5x ./internal/bench | tee '$out/cold.txt'
	go test -count=1 -run '^\$' -bench Relay -benchtime=1x -count=3 ./internal/bench | tee '$out/relay.txt'
"
# 3. Throughput on the modelled store (10 ms per call, calls in parallel).
go test -count=1 -run '^$' -bench 'ThroughputModel|HotItem' -benchtime=1x -timeout 30m ./internal/bench | tee "$out/model.txt"
# The guard on each store in one run: DynamoDB (moto), Valkey/Redis (a real
# local redis-server), memstore.
scripts/ensure-tools.sh redis
scripts/with-local-aws.sh bash -c "
	go test -count=1 -run '^\$' -bench Store -benchtime=2000x ./internal/bench | tee '$out/stores.txt'
"
# 4. CPU and memory per message.
{
	go test -count=1 -run '^$' -bench Guard -benchmem ./internal/bench
	go test -count=1 -run '^$' -bench BenchmarkHandler -benchmem ./pkg/sqsonce/internal/batch
} | tee "$out/cpu.txt"
# 6. Tracing's CPU per message: off, spans made, spans exported over OTLP
# (5 runs each, interleaved; the report takes the medians).
go test -count=5 -run '^$' -bench Tracing -benchmem ./internal/bench | tee "$out/tracing.txt"
# 5. The stripped arm64 bootstrap.
GOARCH=arm64 GOOS=linux CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o "$out/bootstrap-arm64" ./functions/consumer
size=$(stat -c %s "$out/bootstrap-arm64")
echo "$size bytes ($(awk -v s="$size" 'BEGIN{printf "%.1f", s/1048576}') MiB)" >"$out/coldstart.md"

go run ./internal/bench/cmd/benchreport -dir "$out" -doc docs/BENCHMARKS.md -chart docs/throughput.png
echo "bench: docs/BENCHMARKS.md and docs/throughput.png rewritten" >&2
