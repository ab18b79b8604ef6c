package esm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsonce/sqsonce/pkg/backoff"
)

// Mapping feeds a function from a queue. Create it with New; Run it once.
type Mapping struct {
	cfg      Config
	counters counters
	inFlight atomic.Int64 // batches received and not yet settled
	running  atomic.Bool

	stateMu   sync.Mutex
	enabled   bool      // the mapping's state, as last read
	stateRead time.Time // when; zero before the first read
}

// New validates cfg and returns a Mapping.
func New(cfg Config) (*Mapping, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Mapping{cfg: cfg}, nil
}

// ErrAlreadyRunning is returned by Run and RunUntilDrained when the Mapping
// is already running.
var ErrAlreadyRunning = errors.New("event source mapping already running")

// Stats returns the counters; it is safe to call while the Mapping runs.
func (m *Mapping) Stats() Stats { return m.counters.snapshot() }

// Run polls until ctx is cancelled, then lets the batches already received
// finish and returns nil. It returns an error only if it cannot start: the
// queue's ARN cannot be read.
func (m *Mapping) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer m.running.Store(false)
	arn, err := m.queueARN(ctx)
	if err != nil {
		return err
	}
	region := m.cfg.Region
	if region == "" {
		region = regionOf(arn)
	}
	var wg sync.WaitGroup
	for i, inv := range m.cfg.Invokers {
		p := &poller{m: m, id: i, invoker: inv, arn: arn, region: region,
			log: m.cfg.Logger.With("poller", i)}
		wg.Go(func() { p.run(ctx) })
	}
	wg.Wait()
	return nil
}

func (m *Mapping) queueARN(ctx context.Context) (string, error) {
	out, err := m.cfg.Client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(m.cfg.QueueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("get ARN of %s: %w", m.cfg.QueueURL, err)
	}
	arn := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", fmt.Errorf("get ARN of %s: no QueueArn attribute", m.cfg.QueueURL)
	}
	return arn, nil
}

// isEnabled reports whether the mapping may receive: always without
// Config.Lambda; otherwise its state as read at most StateCheckInterval ago.
func (m *Mapping) isEnabled(ctx context.Context) bool {
	if m.cfg.Lambda == nil {
		return true
	}
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	now := m.cfg.Now()
	if !m.stateRead.IsZero() && now.Sub(m.stateRead) < m.cfg.StateCheckInterval {
		return m.enabled
	}
	out, err := m.cfg.Lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(m.cfg.MappingUUID)})
	if err != nil {
		m.cfg.Logger.Warn("read the mapping's state; keeping the last one", "uuid", m.cfg.MappingUUID, "err", err)
		if m.stateRead.IsZero() {
			return true
		}
		return m.enabled
	}
	switch state := aws.ToString(out.State); state {
	case "Enabled", "Enabling", "Updating":
		m.enabled = true
	default:
		if m.enabled || m.stateRead.IsZero() {
			m.cfg.Logger.Info("mapping not enabled: polling stops", "uuid", m.cfg.MappingUUID, "state", state)
		}
		m.enabled = false
	}
	m.stateRead = now
	return m.enabled
}

// poller is one of a Mapping's concurrent consumers, with its own Invoker.
type poller struct {
	m       *Mapping
	id      int
	invoker Invoker
	arn     string
	region  string
	log     *slog.Logger
}

func (p *poller) run(ctx context.Context) {
	for ctx.Err() == nil {
		if !p.m.isEnabled(ctx) {
			p.m.counters.disabledChecks.Add(1)
			_ = backoff.Sleep(ctx, p.m.cfg.StateCheckInterval)
			continue
		}
		batch, err := p.gather(ctx)
		if len(batch) > 0 {
			// Settle what was received even if ctx ends meanwhile: the
			// messages are in flight and the invocation may have effects.
			p.settle(context.WithoutCancel(ctx), batch)
			p.m.inFlight.Add(-1)
		}
		if err != nil && ctx.Err() == nil {
			p.m.counters.receiveErrors.Add(1)
			p.log.Warn("receive failed", "err", err)
			_ = backoff.Sleep(ctx, p.m.cfg.ReceiveErrorBackoff)
		}
	}
}

// gather receives one batch: it long-polls until a message arrives, then,
// with a batching window, keeps receiving until the batch is full or the
// window has passed. A non-empty batch is counted in flight. An error comes
// with whatever was received before it.
func (p *poller) gather(ctx context.Context) ([]types.Message, error) {
	cfg := p.m.cfg
	var batch []types.Message
	var deadline time.Time
	for len(batch) < cfg.BatchSize {
		if len(batch) == 0 && !p.m.isEnabled(ctx) {
			return nil, nil // the run loop waits for the mapping
		}
		wait := cfg.WaitTimeSeconds
		if len(batch) > 0 {
			remaining := deadline.Sub(cfg.Now())
			if remaining <= 0 {
				break
			}
			// Whole seconds, rounded up: a short poll in a loop would
			// hammer the queue for the window's last fraction of a second.
			wait = min(wait, int32((remaining+time.Second-1)/time.Second))
		}
		msgs, err := p.receive(ctx, min(cfg.BatchSize-len(batch), maxReceivePerCall), wait)
		if len(msgs) > 0 && len(batch) == 0 {
			p.m.inFlight.Add(1)
			deadline = cfg.Now().Add(cfg.MaximumBatchingWindow)
		}
		batch = append(batch, msgs...)
		if err != nil {
			return batch, err
		}
		if len(batch) > 0 && cfg.MaximumBatchingWindow == 0 {
			break
		}
	}
	return batch, nil
}

func (p *poller) receive(ctx context.Context, n int, wait int32) ([]types.Message, error) {
	out, err := p.m.cfg.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(p.m.cfg.QueueURL),
		MaxNumberOfMessages:         int32(n),
		WaitTimeSeconds:             wait,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", p.m.cfg.QueueURL, err)
	}
	p.m.counters.received.Add(int64(len(out.Messages)))
	return out.Messages, nil
}

// settle invokes the function with the batch and deletes what succeeded.
func (p *poller) settle(ctx context.Context, batch []types.Message) {
	c := &p.m.counters
	c.batches.Add(1)
	payload, err := json.Marshal(newEvent(batch, p.arn, p.region))
	if err != nil { // cannot happen: the event holds only strings and bytes
		c.batchFailures.Add(1)
		p.log.Error("encode event", "err", err)
		return
	}
	inBatch := make(map[string]bool, len(batch))
	for _, msg := range batch {
		inBatch[aws.ToString(msg.MessageId)] = true
	}
	resp, err := p.invoker.Invoke(ctx, payload)
	var failed map[string]bool
	if err == nil {
		failed, err = failedRecords(resp, inBatch)
	}
	if err != nil {
		c.batchFailures.Add(1)
		p.log.Warn("batch failed as a whole; its messages will be delivered again",
			"records", len(batch), "err", err)
		return
	}
	c.reportedFailed.Add(int64(len(failed)))
	done := make([]types.Message, 0, len(batch)-len(failed))
	for _, msg := range batch {
		if !failed[aws.ToString(msg.MessageId)] {
			done = append(done, msg)
		}
	}
	p.log.Debug("batch settled", "records", len(batch), "failed", len(failed))
	p.delete(ctx, done)
}

// delete deletes msgs, ten per call, and counts what SQS did not delete.
func (p *poller) delete(ctx context.Context, msgs []types.Message) {
	c := &p.m.counters
	for start := 0; start < len(msgs); start += maxReceivePerCall {
		chunk := msgs[start:min(start+maxReceivePerCall, len(msgs))]
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		for i, msg := range chunk {
			entries[i] = types.DeleteMessageBatchRequestEntry{
				Id:            aws.String(fmt.Sprint(i)),
				ReceiptHandle: msg.ReceiptHandle,
			}
		}
		out, err := p.m.cfg.Client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{
			QueueUrl: aws.String(p.m.cfg.QueueURL),
			Entries:  entries,
		})
		if err != nil {
			c.deleteErrors.Add(int64(len(chunk)))
			p.log.Warn("delete failed; the messages will be delivered again", "messages", len(chunk), "err", err)
			continue
		}
		c.deleted.Add(int64(len(out.Successful)))
		if len(out.Failed) > 0 {
			c.deleteErrors.Add(int64(len(out.Failed)))
			p.log.Warn("delete failed for some messages; they will be delivered again",
				"failed", len(out.Failed), "first", aws.ToString(out.Failed[0].Message))
		}
	}
}
