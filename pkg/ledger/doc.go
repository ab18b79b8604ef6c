// Package ledger is sqsonce's example domain: a payments ledger whose events
// must be applied exactly once, or a balance is wrong.
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
// Applying an event writes, in DynamoDB, an entry item (account, entry = the
// event id) and adds the amount to the account's balance item (entry =
// "#balance"). The entry is put only if it does not exist, in the same
// transaction as the balance update: even past the idempotency record's TTL,
// an event id is applied to a balance at most once.
//
// Consumer combines this with idempotency.Guard and sqsbatch. In ModeTx (the
// default) the ledger writes commit in one transaction with the idempotency
// completion, so a worker that stalls past its lease writes nothing. ModePlain
// claims, writes, then completes, the general pattern for downstreams that are
// not DynamoDB.
package ledger
