package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
)

// Consumer is a consumer under measurement: a ledger mode, or Baseline.
type Consumer string

// Baseline applies each event with one TransactWriteItems of ledger.Writes
// and no idempotency record: what exactly-once is measured against.
const Baseline Consumer = "baseline"

// TxAhead is the tx mode with the batch's keys claimed ahead in one
// request (ledger.Consumer.ClaimAhead), as the consumer function runs it by
// default; "tx" alone is the mode with CLAIM_AHEAD=false.
const TxAhead Consumer = "tx+ahead"

// Consumers are those measured, in report order.
var Consumers = []Consumer{Baseline, Consumer(ledger.ModePlain), Consumer(ledger.ModeTx), TxAhead, Consumer(ledger.ModeBatch)}

// Tables are the tables a consumer writes.
type Tables struct{ Idempotency, Ledger string }

// NewConsumer returns the Lambda handler of consumer c over db, as the
// consumer function wires it (sqsbatch's default record concurrency, 8),
// with a local cache of cacheSize completed keys, logging nowhere.
func NewConsumer(c Consumer, db dynamostore.API, tables Tables, cacheSize int) (ledger.Handler, error) {
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	report := sqsbatch.Config{IsOutage: ledger.IsOutage, Logger: quiet}
	switch c {
	case Baseline:
		return sqsbatch.New(func(ctx context.Context, msg events.SQSMessage) error {
			ev, err := ledger.Decode([]byte(msg.Body))
			if err != nil {
				return sqsbatch.Permanent(err)
			}
			_, err = db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ledger.Writes(tables.Ledger, ev)})
			return err
		}, report)
	case Consumer(ledger.ModeBatch):
		return ledger.NewBatchConsumer(ledger.BatchConfig{
			DB: db, IdempotencyTable: tables.Idempotency, Table: tables.Ledger, KeyPrefix: "payments", Logger: quiet, Report: report,
		})
	case Consumer(ledger.ModeTx), Consumer(ledger.ModePlain), TxAhead:
		mode := ledger.Mode(c)
		if c == TxAhead {
			mode = ledger.ModeTx
		}
		store, err := dynamostore.New(db, tables.Idempotency)
		if err != nil {
			return nil, err
		}
		guard, err := idempotency.NewGuard(store, idempotency.Config{KeyPrefix: "payments", CacheSize: cacheSize})
		if err != nil {
			return nil, err
		}
		consumer, err := ledger.NewConsumer(ledger.ConsumerConfig{Guard: guard, DB: db, Table: tables.Ledger, Mode: mode, Logger: quiet})
		if err != nil {
			return nil, err
		}
		proc, err := sqsbatch.New(consumer.Handle, report)
		if err != nil || c != TxAhead {
			return proc, err
		}
		return consumer.ClaimAhead(proc), nil
	}
	return nil, fmt.Errorf("bench: unknown consumer %q", c)
}
