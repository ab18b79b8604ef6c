package redrive

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// PeekClient is the part of the SQS API Peek calls; *sqs.Client satisfies it.
type PeekClient interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

// Peeked is a message Peek saw.
type Peeked struct {
	MessageID string
	Body      string
	// Attributes are the message attributes of type String.
	Attributes map[string]string
	// ReceiveCount is the receives before Peek's own.
	ReceiveCount int
	// SentAt is when the message was first sent (see FirstSent).
	SentAt time.Time
	// GroupID is the FIFO message group.
	GroupID string
}

// PeekHoldDefault is how long Peek hides the messages it has seen, so that
// it sees each once.
const PeekHoldDefault = 30 * time.Second

// Peek lists up to max messages of a queue (a DLQ) without consuming them:
// it receives them, hiding each for hold so the next receive returns others,
// then makes all of them visible again. It stops at the first empty long
// poll. SQS counts Peek's receive in each message's receive count, and a
// FIFO queue's groups are locked while Peek holds them.
func Peek(ctx context.Context, c PeekClient, queueURL string, max int, hold time.Duration) ([]Peeked, error) {
	if hold <= 0 {
		hold = PeekHoldDefault
	}
	var (
		out     []Peeked
		handles []string
		seen    = map[string]bool{}
		err     error
	)
	for len(out) < max {
		var got *sqs.ReceiveMessageOutput
		got, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(queueURL),
			MaxNumberOfMessages:         int32(min(10, max-len(out))),
			VisibilityTimeout:           int32((hold + time.Second - 1) / time.Second),
			WaitTimeSeconds:             1,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			err = fmt.Errorf("receive from %s: %w", queueURL, err)
			break
		}
		if len(got.Messages) == 0 {
			break
		}
		for _, m := range got.Messages {
			handles = append(handles, aws.ToString(m.ReceiptHandle))
			id := aws.ToString(m.MessageId)
			if seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, peeked(m))
		}
	}
	// Give every message back, also when interrupted.
	return out, errors.Join(err, release(context.WithoutCancel(ctx), c, queueURL, handles))
}

func peeked(m types.Message) Peeked {
	p := Peeked{MessageID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), Attributes: map[string]string{}}
	for k, v := range m.MessageAttributes {
		if v.StringValue != nil {
			p.Attributes[k] = *v.StringValue
		}
	}
	sys := m.Attributes
	if n, err := strconv.Atoi(sys[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
		p.ReceiveCount = n - 1 // not Peek's own
	}
	if sent, ok := FirstSent(m); ok {
		p.SentAt = sent
	}
	p.GroupID = sys[string(types.MessageSystemAttributeNameMessageGroupId)]
	return p
}

// release makes the received messages visible again.
func release(ctx context.Context, c PeekClient, queueURL string, handles []string) error {
	var errs []error
	for start := 0; start < len(handles); start += 10 {
		var entries []types.ChangeMessageVisibilityBatchRequestEntry
		for i, h := range handles[start:min(start+10, len(handles))] {
			entries = append(entries, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h), VisibilityTimeout: 0})
		}
		out, err := c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
		if err != nil {
			errs = append(errs, fmt.Errorf("make %d peeked messages visible again (they will be after their visibility timeout): %w", len(entries), err))
			continue
		}
		if len(out.Failed) > 0 {
			errs = append(errs, fmt.Errorf("make %d peeked messages visible again (they will be after their visibility timeout): %s", len(out.Failed), aws.ToString(out.Failed[0].Message)))
		}
	}
	return errors.Join(errs...)
}
