// Package ledger is sqsonce's example domain: a payments ledger whose events
// must be applied exactly once, or a balance is wrong. It is built only on
// the public API of pkg/sqsonce, as a user's own consumer would be.
//
// An event is JSON:
//
//	{"id":"evt-1","account":"acc-1","amount":250,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}
//
// Decode validates it strictly (see Event) and returns a *ValidationError
// naming the field for anything wrong; such a message can never succeed and
// the consumer reports it as a permanent failure. Unknown fields are
// accepted and ignored (a tolerant reader lets producers add fields without
// poisoning the queue); they are not part of the payload that idempotency
// validates, which is the canonical encoding of the known fields.
//
// Applying an event (Apply) writes, in DynamoDB, an entry item (account,
// entry = the event id), put only if it does not exist, and adds the amount
// to the account's balance item (entry = "#balance"), a counter that
// sqsonce merges across the events of a batch; sqsonce.NewDynamoDB commits
// them with the event's idempotency record in one transaction. ApplyOnce is
// the same writes as one transaction of their own, the effect of sqsonce.New
// for a store that cannot commit with DynamoDB (Valkey/Redis).
// internal/consumer wires either into the consumer function.
// Even past the record's TTL, or with a key that is not the event id, an
// event id is applied to a balance at most once: an existing entry with the
// same amount, currency and time is "already applied", one that differs is a
// payload mismatch, sent to the DLQ.
package ledger
