package batch_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

const (
	standardARN = "arn:aws:sqs:us-east-1:123456789012:orders"
	fifoARN     = "arn:aws:sqs:us-east-1:123456789012:orders.fifo"
)

// quiet is a JSON logger that discards its output.
func quiet() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

// standard returns a standard-queue batch; each record's body is its ID.
func standard(ids ...string) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(ids))}
	for _, id := range ids {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: id, Body: id, EventSource: "aws:sqs", EventSourceARN: standardARN, AWSRegion: "us-east-1",
		})
	}
	return ev
}

// fifo returns a FIFO batch of records named group+sequence ("A1", "B2"):
// the group is the name without its last character.
func fifo(ids ...string) events.SQSEvent {
	ev := standard(ids...)
	for i := range ev.Records {
		ev.Records[i].EventSourceARN = fifoARN
		ev.Records[i].Attributes = map[string]string{"MessageGroupId": ids[i][:len(ids[i])-1]}
	}
	return ev
}

// newProcessor builds a processor, with a quiet logger unless one is set.
func newProcessor(t testing.TB, h func(context.Context, events.SQSMessage) error, cfg batch.Config) processor {
	t.Helper()
	return processor{Processor: processorOf(t, cfg), h: func(ctx context.Context, msg events.SQSMessage, _ *batch.Slot) error { return h(ctx, msg) }}
}

// newBatchProcessor returns a processor that runs its batches in waves
// through h.
func newBatchProcessor(t testing.TB, h batch.BatchHandler, cfg batch.Config) processor {
	t.Helper()
	return processor{Processor: processorOf(t, cfg), bh: h}
}

func processorOf(t testing.TB, cfg batch.Config) *batch.Processor {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	p, err := batch.NewProcessor(cfg)
	require.NoError(t, err)
	return p
}

// processor runs every batch with one handler, as a Lambda function does.
type processor struct {
	*batch.Processor
	h  batch.SlotHandler
	bh batch.BatchHandler
}

func (p processor) Process(ctx context.Context, ev events.SQSEvent) (batch.Report, error) {
	return p.Run(ctx, ev, p.h, p.bh)
}

func (p processor) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	r, err := p.Process(ctx, ev)
	return r.Response, err
}

// failed lists the IDs of a response's failures, in order.
func failed(resp events.SQSEventResponse) []string {
	ids := make([]string, 0, len(resp.BatchItemFailures))
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// errBoom is an ordinary handler error.
var errBoom = errors.New("boom")

// scripted is a handler whose behaviour follows the body: a body starting
// with "fail" returns errBoom, "perm" a permanent error, "panic" panics,
// anything else succeeds. It records the bodies it ran, in order.
type scripted struct {
	mu  sync.Mutex
	ran []string
}

func (s *scripted) handle(_ context.Context, msg events.SQSMessage) error {
	s.mu.Lock()
	s.ran = append(s.ran, msg.Body)
	s.mu.Unlock()
	switch {
	case strings.HasPrefix(msg.Body, "fail"):
		return errBoom
	case strings.HasPrefix(msg.Body, "perm"):
		return batch.Permanent(errors.New("malformed body"))
	case strings.HasPrefix(msg.Body, "panic"):
		panic("handler bug")
	}
	return nil
}

func (s *scripted) runs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ran...)
}
