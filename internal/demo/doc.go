// Package demo runs sqsonce's whole pipeline locally and checks that its
// effects happened exactly once: `sqsonce demo` (and so `make demo`) and the
// end-to-end test both call Run.
//
// Run creates a fresh set of resources with localstack/init/ready.d/10-sqsonce.sh
// (the same script LocalStack runs, under a unique PREFIX), builds the
// consumer's bootstrap from functions/consumer, runs it under aws-lambda-rie
// (internal/local/rie, one emulator per worker), publishes a workload through
// pkg/producer (unique valid events, producer retries of some of them as new
// messages with the same event id, and a few invalid bodies), feeds the
// function from the queue with the local event source mapping (internal/local/esm)
// until the queue is drained, and then reads what happened: the mapping's
// counters, the idempotency outcome of every record from the function's own
// log lines, the dead-letter queue's depth and the ledger table. It deletes
// what it created unless told to keep it.
//
// By default it runs a second stage too (Options.SingleStage turns it off):
// the consumer publishes a BalanceChanged notification of each event it
// applies through the transactional outbox (pkg/outbox), the relay
// (functions/relay, under aws-lambda-rie, fed by the local DynamoDB Streams
// mapping) sends them to a FIFO queue, twice (Options.RelayPasses, as a
// relay that died before marking its items sent would), and the same
// consumer, as a second function keyed by the outbox's event IDs, applies
// them to a second ledger; the Report checks that each event caused exactly
// one notification, sent, applied once, and that the second ledger's
// balances equal the producer's sums.
//
// What the Report guarantees: each invariant is checked against the stores,
// not against the function's claims alone (the ledger table is scanned, the
// DLQ counted). What it does not: the figures are from one run against a
// local emulation (moto serves one request at a time), so timings say nothing
// about throughput on AWS; and the queues' visibility timeout is lowered from
// the template's 185 s (through the init script's VISIBILITY_TIMEOUT) so
// retried records come back quickly.
package demo
