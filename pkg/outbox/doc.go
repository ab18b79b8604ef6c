// Package outbox publishes the events of an exactly-once effect through a
// transactional outbox, and relays them to SQS, SNS or EventBridge.
//
// # Writing: in the effect's transaction
//
// An effect of sqsonce.NewDynamoDB returns the events it publishes next to
// its writes (sqsonce.Effect.Publish). Each event becomes one outbox item
// (Table.Writes), put in the same TransactWriteItems as the effect's
// idempotency record and writes, so an event exists if and only if its
// effect committed: a duplicate, a crashed worker or a cancelled
// transaction writes none. The items count in the transaction's 100 actions
// and 4 MB like any write; an event that can never fit (an item over
// 400 KB, an effect over a transaction) fails its record alone, permanently.
//
// Each event has a stable ID, EventID(keyPrefix, key, position): the same
// for every delivery of the same key, so a relay that sends an event twice
// sends the same event, and a sqsonce consumer downstream that keys on it
// (sqsonce.AttributeKey(AttrEventID) for SQS and SNS with raw delivery)
// drops the second as a duplicate.
//
// # Relaying: at least once, in order per group
//
// Relay handles the outbox table's DynamoDB stream (NEW_IMAGE) in a Lambda
// function: it sends each pending item and marks it sent (a TTL then
// removes it), or, when the destination refuses it for good (a missing
// queue, an invalid message), marks it failed, where the operator sees it
// (sqsonce outbox) and can resend it. Anything else (throttling, a network
// error, a denied permission) is reported as a batch item failure and
// retried from the stream: nothing is skipped. Events of one group (an SQS
// or SNS FIFO message group) share the outbox partition, so their stream
// records come in commit order, and the relay sends them one after the
// other, stopping the group at its first failure.
//
// What holds: every committed event is sent at least once, with its stable
// ID; a group's events go out in commit order. What does not: exactly-once
// sending (a relay that dies after a send and before marking it sent sends
// it again: the downstream consumer drops it by its ID); order across
// groups; events of sqsonce.New (any effect, any store), which has no
// transaction to put them in: such an effect publishes by itself, after its
// work and before its completion, so it can publish again when it runs
// again after a crash (at least once); with EventID it publishes the same
// IDs, and a sqsonce consumer downstream still applies each event once.
//
// # IAM permissions
//
// The relay's role: on the outbox table, dynamodb:UpdateItem (marking items
// sent or failed; dynamodb:DeleteItem too with a negative
// Table.SentRetention); on its stream, what Lambda's mapping reads
// (dynamodb:DescribeStream, GetShardIterator, GetRecords, and ListStreams,
// which takes no resource); on each destination, sqs:SendMessage,
// sns:Publish or events:PutEvents. Inspect needs dynamodb:Scan and Resend
// dynamodb:UpdateItem: an operator's, not the relay's.
package outbox
