package sqsonce

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// Limits of SQS and Lambda that bound a Backoff.
const (
	// VisibilityMax is SQS's longest visibility timeout, counted from the
	// receive.
	VisibilityMax = 12 * time.Hour
	// batchingWindowMax is Lambda's longest batching window: a message can
	// have been received that long before its invocation started.
	batchingWindowMax = 5 * time.Minute
)

// Backoff makes records that failed because the idempotency store did (a
// store failure, or the breaker) come back later each time, instead of
// after the queue's fixed visibility timeout: it changes their visibility
// (ChangeMessageVisibilityBatch) to Base x 2^receives, receives being the
// message's ApproximateReceiveCount, capped at SQS's 12 hours from the
// receive. Receives, which SQS counts towards maxReceiveCount, are then
// spent slowly while a Pause takes effect. A record whose key a live claim
// holds (ErrInProgress) comes back when that claim's lease ends, never
// sooner than Base. Other failures keep the queue's visibility timeout.
//
// IAM: sqs:ChangeMessageVisibility on the queues, and sqs:GetQueueUrl and
// sqs:GetQueueAttributes (read once per queue and execution environment).
type Backoff struct {
	// SQS changes the visibility. Required; *sqs.Client satisfies it.
	SQS VisibilityAPI
	// Base is the first step. Default: the queue's visibility timeout
	// (so the first back-off doubles it).
	Base time.Duration
}

// VisibilityAPI is the part of the SQS API a Backoff calls.
type VisibilityAPI interface {
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

func (b Backoff) validate() error {
	switch {
	case b.SQS == nil:
		return &ConfigError{"Config.Backoff.SQS", "required: the SQS client that changes failed records' visibility"}
	case b.Base < 0:
		return &ConfigError{"Config.Backoff.Base", "must not be negative"}
	}
	return nil
}

// backoff hides outage-failed records of one execution environment's
// batches.
type backoff struct {
	cfg Backoff

	mu     sync.Mutex
	queues map[string]queueInfo // by queue ARN
}

type queueInfo struct {
	url  string
	base time.Duration
}

// outageFailed reports whether a record's failure is the store's: it is
// backed off.
func outageFailed(r batch.Report, id string) bool {
	switch r.Class(id) {
	case ClassStoreFailed, batch.ClassBreaker:
		return true
	}
	return false
}

// hide backs off the records of ev that failed by the store, and those a
// live claim held (heldUntil: its lease's end), at now, elapsed into the
// invocation. It returns how many it hid.
func (b *backoff) hide(ctx context.Context, ev events.SQSEvent, r batch.Report, heldUntil func(id string) (time.Time, bool), now time.Time, elapsed time.Duration) (int, error) {
	bySource := map[string][]types.ChangeMessageVisibilityBatchRequestEntry{}
	urls := map[string]string{}
	var order []string
	limit := VisibilityMax - batchingWindowMax - elapsed - time.Minute
	seen := map[string]bool{}
	for _, msg := range ev.Records {
		if seen[msg.MessageId] {
			continue
		}
		outage := outageFailed(r, msg.MessageId)
		until, held := heldUntil(msg.MessageId)
		if !outage && !held {
			continue
		}
		seen[msg.MessageId] = true
		q, err := b.queue(ctx, msg.EventSourceARN)
		if err != nil {
			return 0, err
		}
		var d time.Duration
		if outage {
			receives, _ := strconv.Atoi(msg.Attributes["ApproximateReceiveCount"])
			d = backoffFor(q.base, receives)
		} else { // back when the claim holding it can be taken over, never sooner than the queue would
			d = max(q.base, until.Sub(now).Truncate(time.Second)+time.Second)
		}
		d = min(d, limit)
		if _, ok := urls[msg.EventSourceARN]; !ok {
			order = append(order, msg.EventSourceARN)
			urls[msg.EventSourceARN] = q.url
		}
		bySource[msg.EventSourceARN] = append(bySource[msg.EventSourceARN], types.ChangeMessageVisibilityBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(len(bySource[msg.EventSourceARN]))),
			ReceiptHandle:     aws.String(msg.ReceiptHandle),
			VisibilityTimeout: int32(d / time.Second),
		})
	}
	hidden := 0
	var errs []error
	for _, arn := range order {
		entries := bySource[arn]
		for start := 0; start < len(entries); start += 10 {
			chunk := entries[start:min(start+10, len(entries))]
			out, err := b.cfg.SQS.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(urls[arn]), Entries: chunk})
			if err != nil {
				errs = append(errs, fmt.Errorf("back off %d records of %s: %w", len(chunk), arn, err))
				continue
			}
			hidden += len(out.Successful)
			for _, f := range out.Failed {
				errs = append(errs, fmt.Errorf("back off a record of %s: %s: %s", arn, aws.ToString(f.Code), aws.ToString(f.Message)))
			}
		}
	}
	return hidden, errors.Join(errs...)
}

// backoffFor is the visibility of a record received receives times: base
// doubled once per receive.
func backoffFor(base time.Duration, receives int) time.Duration {
	d := base
	for range max(receives, 1) {
		if d >= VisibilityMax {
			return VisibilityMax
		}
		d *= 2
	}
	return min(d, VisibilityMax)
}

// queue returns the URL and back-off base of the queue with the given ARN
// (arn:aws:sqs:region:account:name), asking SQS once.
func (b *backoff) queue(ctx context.Context, arn string) (queueInfo, error) {
	b.mu.Lock()
	q, ok := b.queues[arn]
	b.mu.Unlock()
	if ok {
		return q, nil
	}
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[2] != "sqs" {
		return q, fmt.Errorf("back off: %q is not the ARN of an SQS queue", arn)
	}
	out, err := b.cfg.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(parts[5]), QueueOwnerAWSAccountId: aws.String(parts[4])})
	if err != nil {
		return q, fmt.Errorf("back off: the URL of %s: %w", arn, err)
	}
	q = queueInfo{url: aws.ToString(out.QueueUrl), base: b.cfg.Base}
	if q.base == 0 {
		attrs, err := b.cfg.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: out.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameVisibilityTimeout},
		})
		if err != nil {
			return q, fmt.Errorf("back off: the visibility timeout of %s: %w", arn, err)
		}
		secs, err := strconv.Atoi(attrs.Attributes[string(types.QueueAttributeNameVisibilityTimeout)])
		if err != nil {
			return q, fmt.Errorf("back off: the visibility timeout of %s: %w", arn, err)
		}
		q.base = max(time.Duration(secs)*time.Second, time.Second)
	}
	b.mu.Lock()
	if b.queues == nil {
		b.queues = map[string]queueInfo{}
	}
	b.queues[arn] = q
	b.mu.Unlock()
	return q, nil
}
