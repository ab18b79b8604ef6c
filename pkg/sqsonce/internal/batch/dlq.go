package batch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Message attributes added to a record sent to the DLQ.
const (
	// AttrError holds the error text, truncated to MaxErrorAttrBytes.
	AttrError = "sqsonce-error"
	// AttrErrorClass holds the error class (see ClassOf).
	AttrErrorClass = "sqsonce-error-class"
	// AttrSourceMessageID holds the original message ID, when the message
	// has room for it (SQS allows 10 attributes).
	AttrSourceMessageID = "sqsonce-source-message-id"
	// AttrFirstSentAt holds when the message was first sent (a Number,
	// epoch milliseconds: its SentTimestamp, or the value it carried
	// already), when the message has room for it, so that its age survives
	// the send to the DLQ (sqsonce redrive refuses messages older than the
	// idempotency TTL).
	AttrFirstSentAt = "sqsonce-first-sent-at"

	// MaxErrorAttrBytes bounds the AttrError value.
	MaxErrorAttrBytes = 1024

	maxMessageAttributes = 10
)

// Sender is the one SQS call the DLQ option makes. *sqs.Client implements it;
// tests can wrap it to count calls or inject faults.
type Sender interface {
	SendMessage(ctx context.Context, params *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// DLQ sends records that failed with a Permanent error straight to a
// dead-letter queue, with the original body and message attributes plus
// AttrError, AttrErrorClass and (room permitting) AttrSourceMessageID.
//
// A record with more than 8 message attributes, or one that the extra
// attributes push over SQS's size limit, is rejected by SQS: the record is
// then reported failed (OutcomeDLQFailed) and the queue's own redrive policy
// takes over, so nothing is lost.
//
// A record goes to the DLQ of its own kind of queue: records of a FIFO queue
// (an event source ARN ending in ".fifo") to FIFOQueueURL, keeping their
// MessageGroupId and using the original message ID as deduplication ID;
// other records to QueueURL. A record whose kind has no DLQ configured is
// reported failed (OutcomeDLQFailed), so the queue's redrive policy takes
// over: one consumer can serve a standard and a FIFO queue.
type DLQ struct {
	// Client sends the message. Required.
	Client Sender
	// QueueURL is the dead-letter queue of standard-queue records. At least
	// one of QueueURL and FIFOQueueURL is required.
	QueueURL string
	// FIFOQueueURL is the dead-letter queue (a FIFO queue) of FIFO records.
	FIFOQueueURL string
}

// errNoDLQ is the cause of OutcomeDLQFailed for a record whose kind of queue
// has no DLQ configured.
var errNoDLQ = errors.New("no DLQ configured for this kind of queue")

// send forwards msg to the DLQ with its error.
func (d *DLQ) send(ctx context.Context, msg events.SQSMessage, cause error) error {
	attrs := make(map[string]types.MessageAttributeValue, len(msg.MessageAttributes)+3)
	for name, a := range msg.MessageAttributes {
		attrs[name] = types.MessageAttributeValue{
			DataType:    aws.String(a.DataType),
			StringValue: a.StringValue,
			BinaryValue: a.BinaryValue,
		}
	}
	attrs[AttrError] = stringAttr(errorText(cause))
	attrs[AttrErrorClass] = stringAttr(ClassOf(cause))
	if sent := msg.Attributes["SentTimestamp"]; sent != "" && len(attrs) < maxMessageAttributes {
		if _, ok := attrs[AttrFirstSentAt]; !ok {
			attrs[AttrFirstSentAt] = types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(sent)}
		}
	}
	if len(attrs) < maxMessageAttributes {
		attrs[AttrSourceMessageID] = stringAttr(msg.MessageId)
	}
	fifo := isFIFORecord(&msg)
	url := d.QueueURL
	if fifo {
		url = d.FIFOQueueURL
	}
	if url == "" {
		return fmt.Errorf("send message %s to DLQ: %w", msg.MessageId, errNoDLQ)
	}
	in := &sqs.SendMessageInput{
		QueueUrl:          aws.String(url),
		MessageBody:       aws.String(msg.Body),
		MessageAttributes: attrs,
	}
	if trace := msg.Attributes["AWSTraceHeader"]; trace != "" { // the producer's X-Ray context goes with the message
		in.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String(trace)}}
	}
	if fifo {
		group := msg.Attributes[attrMessageGroupID]
		if group == "" {
			group = msg.MessageId
		}
		in.MessageGroupId = aws.String(group)
		in.MessageDeduplicationId = aws.String(msg.MessageId)
	}
	if _, err := d.Client.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("send message %s to DLQ: %w", msg.MessageId, err)
	}
	return nil
}

func stringAttr(s string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(s)}
}

// errorText returns err's text made valid for an SQS attribute: characters
// SQS refuses become U+FFFD, and the text is cut to MaxErrorAttrBytes.
func errorText(err error) string {
	s := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) ||
			(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF) {
			return r
		}
		return utf8.RuneError
	}, strings.ToValidUTF8(err.Error(), string(utf8.RuneError)))
	if len(s) <= MaxErrorAttrBytes {
		return s
	}
	cut := MaxErrorAttrBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
