package ledger

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
)

// Handler is the consumer function's Lambda handler, as NewApp returns it:
// a *sqsbatch.Processor over Consumer.Handle in ModeTx and ModePlain, a
// *BatchConsumer in ModeBatch.
type Handler interface {
	Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)
}

var (
	_ Handler = (*sqsbatch.Processor)(nil)
	_ Handler = (*BatchConsumer)(nil)
)

// newBatchApp is NewApp's ModeBatch: the same tables, key prefix, TTL, key
// source and reporting. The local cache of completed keys does not apply: a
// duplicate costs its share of one transaction.
func newBatchApp(cfg AppConfig, clients AppClients, logger *slog.Logger, report sqsbatch.Config) (*BatchConsumer, error) {
	if clients.DynamoDB == nil {
		return nil, errors.New("ledger: AppClients.DynamoDB is required")
	}
	return NewBatchConsumer(BatchConfig{
		DB:               clients.DynamoDB,
		IdempotencyTable: cfg.IdempotencyTable,
		Table:            cfg.LedgerTable,
		KeyPrefix:        cfg.KeyPrefix,
		TTL:              cfg.TTL,
		Keys:             cfg.Keys,
		Logger:           logger,
		Report:           report,
	})
}
