// Package bench measures what sqsonce costs: DynamoDB requests per message
// by path and mode (against moto, through the real SDK), throughput of each
// consumer mode beside a consumer without idempotency, and the guard's CPU.
//
// Throughput has two set-ups, never mixed in one figure:
//
//   - moto behind LatencyProxy (5 ms each way): real requests, real
//     semantics, but moto serves one request at a time, so only the ratio
//     between consumers measured in the same run means anything;
//   - ModelDB, a modelled DynamoDB whose every call takes a fixed latency
//     and succeeds, with calls running in parallel: it shows what
//     concurrency buys given each mode's number of round trips, and nothing
//     about DynamoDB's own service time, throttling or conflicts.
//
// Speed is measured in benchmarks only (`make bench`, scripts/bench.sh),
// never asserted in a test.
package bench
