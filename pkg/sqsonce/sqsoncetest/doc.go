// Package sqsoncetest helps test a Lambda consumer built with sqsonce
// without AWS or an emulator: [Event] and [FIFOEvent] build the SQS events
// Lambda delivers (message IDs, receive counts, message attributes, FIFO
// message groups and deduplication IDs, the queue's ARN), and [NewStore] is
// an in-memory idempotency store, so that a handler made with
// [github.com/sqsonce/sqsonce/pkg/sqsonce.New] or a
// [github.com/sqsonce/sqsonce/pkg/sqsonce.Once] runs in a table test.
//
// The in-memory store keeps the protocol of the DynamoDB store (claims,
// leases, fenced completions, expiry) within one process; it does not model
// DynamoDB's limits or failures. Test those against DynamoDB (or a local
// emulator of it), as the library's own tests do.
package sqsoncetest
