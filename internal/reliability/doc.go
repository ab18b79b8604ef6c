// Package reliability is sqsonce's reliability suite: tests that break the
// pipeline on purpose (duplicate storms while workers are SIGKILLed, an
// idempotency store outage behind a fault proxy, leases that expire under a
// slow handler, hostile input, secrets in bodies) and count what survives.
//
// The tests run the real consumer: its bootstrap (functions/consumer) under
// aws-lambda-rie, fed by the local event source mapping (internal/local/esm), or
// the same wiring in process (internal/consumer.New, or sqsonce.New and
// NewDynamoDB with the ledger's effects), on per-test DynamoDB tables and
// SQS queues of the local AWS (scripts/with-local-aws.sh). `make test` runs
// them at small sizes; `make chaos` (scripts/chaos.sh) sets
// SQSONCE_CHAOS_SCALE=large and runs the same code at large sizes.
//
// What the suite proves and the figures it measured are in
// docs/RELIABILITY.md. The package holds no library code.
package reliability
