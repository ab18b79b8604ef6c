package sqsonce

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// DLQ sends records that failed permanently (bad input, a key reused with
// another payload, a [Permanent] error of the effect) straight to a
// dead-letter queue, so they are not retried maxReceiveCount times first
// (Config.DLQ). The message keeps its body and message attributes and gains
// [AttrError], [AttrErrorClass], [AttrFirstSentAt] and [AttrSourceMessageID]
// where SQS's limit of 10 attributes leaves room.
//
// A record goes to the DLQ of its own kind of queue: a FIFO queue's (its
// event source ARN ends in ".fifo") to FIFOQueueURL, keeping its message
// group and deduplicated by its message ID; others to QueueURL. A record
// whose kind has no DLQ, or that SQS refuses, is reported failed
// (OutcomeDLQFailed), so the queue's redrive policy takes over: nothing is
// lost.
type DLQ struct {
	// Client sends the message. Required; *sqs.Client satisfies it.
	Client Sender
	// QueueURL is the dead-letter queue of standard-queue records. At least
	// one of QueueURL and FIFOQueueURL is required.
	QueueURL string
	// FIFOQueueURL is the dead-letter queue (a FIFO queue) of FIFO records.
	FIFOQueueURL string
}

// Sender is the one SQS call a DLQ makes.
type Sender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Message attributes of a record sent to the DLQ (by Config.DLQ) that
// sqsonce's tools read (sqsonce dlq, sqsonce redrive).
const (
	// AttrError, "sqsonce-error", holds the error text, at most
	// MaxErrorAttrBytes (1,024).
	AttrError = batch.AttrError
	// AttrErrorClass, "sqsonce-error-class", holds the error class (see
	// ClassOf).
	AttrErrorClass = batch.AttrErrorClass
	// AttrSourceMessageID, "sqsonce-source-message-id", holds the original
	// message ID.
	AttrSourceMessageID = batch.AttrSourceMessageID
	// AttrFirstSentAt, "sqsonce-first-sent-at", holds when the message was
	// first sent (a Number, epoch milliseconds), so its age survives the
	// trip to the DLQ.
	AttrFirstSentAt = batch.AttrFirstSentAt
	// MaxErrorAttrBytes bounds the AttrError value.
	MaxErrorAttrBytes = batch.MaxErrorAttrBytes
)

// batchDLQ is d as the batch processor takes it.
func (d *DLQ) batchDLQ() *batch.DLQ {
	if d == nil {
		return nil
	}
	return &batch.DLQ{Client: d.Client, QueueURL: d.QueueURL, FIFOQueueURL: d.FIFOQueueURL}
}
