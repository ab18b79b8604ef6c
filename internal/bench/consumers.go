package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// Consumer is a consumer under measurement.
type Consumer string

const (
	// Baseline applies each event with one TransactWriteItems (the entry put
	// and the balance update, ledger.ApplyOnce) and no idempotency record:
	// what exactly-once is measured against.
	Baseline Consumer = "baseline"
	// Default is the consumer function: sqsonce.NewDynamoDB with
	// ledger.Apply, each event committed with its record, many per
	// transaction.
	Default Consumer = "default"
	// AnyEffect is sqsonce.New with ledger.ApplyOnce as the effect: the
	// batch claimed ahead, then one write and one completion per event.
	AnyEffect Consumer = "any-effect"
)

// Consumers are those measured, in report order.
var Consumers = []Consumer{Baseline, Default, AnyEffect}

// Tables are the tables a consumer writes.
type Tables struct{ Idempotency, Ledger string }

// Handler is a Lambda SQS handler.
type Handler interface {
	Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)
}

// NewConsumer returns the Lambda handler of consumer c over db, as the
// consumer function wires it, with a local cache of cacheSize completed
// keys (0: none), logging nowhere.
func NewConsumer(c Consumer, db dynamostore.API, tables Tables, cacheSize int) (Handler, error) {
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if cacheSize == 0 {
		cacheSize = -1
	}
	cfg := sqsonce.Config{KeyPrefix: consumer.KeyPrefixDefault, CacheSize: cacheSize, Logger: quiet}
	msg := ledger.Message(sqskey.Source{Kind: sqskey.BodyField})
	switch c {
	case Baseline:
		return baseline(func(ctx context.Context, m events.SQSMessage) error {
			ev, err := ledger.Decode([]byte(m.Body))
			if err != nil {
				return err
			}
			_, err = ledger.ApplyOnce(ctx, db, tables.Ledger, ev)
			return err
		}), nil
	case Default, AnyEffect:
		store, err := dynamostore.New(db, tables.Idempotency)
		if err != nil {
			return nil, err
		}
		if c == Default {
			return sqsonce.NewDynamoDB(store, msg, func(_ context.Context, e ledger.Event) (sqsonce.Effect[ledger.Receipt], error) {
				return ledger.Apply(tables.Ledger, e), nil
			}, cfg)
		}
		return sqsonce.New(store, msg, func(ctx context.Context, e ledger.Event) (ledger.Receipt, error) {
			return ledger.ApplyOnce(ctx, db, tables.Ledger, e)
		}, cfg)
	}
	return nil, fmt.Errorf("bench: unknown consumer %q", c)
}

// baseline is a consumer without idempotency: apply runs on every record of
// a batch, sqsonce.ConcurrencyDefault at a time as sqsonce runs them, and the
// records that failed are reported. No claim, no record, no breaker.
type baseline func(ctx context.Context, m events.SQSMessage) error

// Handle runs a batch.
func (apply baseline) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, sqsonce.ConcurrencyDefault)
	for _, m := range ev.Records {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := apply(ctx, m); err != nil {
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return resp, nil
}
