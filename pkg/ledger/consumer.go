package ledger

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/redis/go-redis/v9"

	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/redisstore"
	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// AppClients are the AWS clients the consumer uses; main builds them once
// per execution environment.
type AppClients struct {
	DynamoDB *dynamodb.Client
	// Redis is the idempotency store's client when AppConfig.Store is
	// StoreRedis (redisstore.Dial).
	Redis redis.UniversalClient
	// DLQ sends permanent failures when AppConfig.PermanentDLQURL or
	// PermanentFIFODLQ is set.
	DLQ sqsbatch.Sender
}

// NewConsumer is the consumer function's handler: ledger events applied
// exactly once. With the DynamoDB store (the default) it is
// sqsonce.NewDynamoDB: each event's writes commit with its idempotency
// record, many events per transaction. With Valkey/Redis, which cannot
// commit with DynamoDB, it is sqsonce.New with ApplyOnce as the effect.
// Logs and metrics (Embedded Metric Format) go to out.
func NewConsumer(cfg AppConfig, clients AppClients, out io.Writer) (*sqsonce.Handler, error) {
	if clients.DynamoDB == nil {
		return nil, errors.New("ledger: AppClients.DynamoDB is required")
	}
	logger := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: cfg.LogLevel}))
	sc := sqsonce.Config{
		KeyPrefix:  cfg.KeyPrefix,
		TTL:        cfg.TTL,
		CacheSize:  cfg.CacheSize,
		BreakAfter: cfg.BreakAfter,
		Logger:     logger,
		Metrics:    &sqsbatch.EMF{Writer: out},
	}
	if cfg.FunctionName != "" {
		sc.Metrics.Dimensions = map[string]string{"FunctionName": cfg.FunctionName}
	}
	if cfg.CacheSize == 0 {
		sc.CacheSize = -1
	}
	if cfg.BreakAfter == 0 {
		sc.BreakAfter = -1
	}
	if cfg.PermanentDLQURL != "" || cfg.PermanentFIFODLQ != "" {
		if clients.DLQ == nil {
			return nil, errors.New("ledger: PERMANENT_DLQ_URL or PERMANENT_FIFO_DLQ_URL is set but no SQS client was given")
		}
		sc.DLQ = &sqsbatch.DLQ{Client: clients.DLQ, QueueURL: cfg.PermanentDLQURL, FIFOQueueURL: cfg.PermanentFIFODLQ}
	}
	if cfg.Store == StoreRedis {
		if clients.Redis == nil {
			return nil, errors.New("ledger: IDEMPOTENCY_STORE=redis but no Redis client was given")
		}
		store, err := redisstore.New(clients.Redis)
		if err != nil {
			return nil, err
		}
		sc.Concurrency = cfg.Concurrency
		return sqsonce.New(store, Message(cfg.Keys), func(ctx context.Context, e Event) ([]byte, error) {
			return ApplyOnce(ctx, clients.DynamoDB, cfg.LedgerTable, e)
		}, sc)
	}
	store, err := dynamostore.New(clients.DynamoDB, cfg.IdempotencyTable,
		dynamostore.WithLayout(cfg.Layout), dynamostore.WithTxConcurrency(cfg.Concurrency))
	if err != nil {
		return nil, err
	}
	return sqsonce.NewDynamoDB(store, Message(cfg.Keys), func(_ context.Context, e Event) (sqsonce.Effect, error) {
		return Apply(cfg.LedgerTable, e), nil
	}, sc)
}

// Message reads ledger events for sqsonce: Decode validates them, keys come
// from keys (the event id for sqskey.BodyField), and the payload whose hash
// is checked is the event's canonical encoding.
func Message(keys sqskey.Source) sqsonce.Message[Event] {
	return sqsonce.Message[Event]{
		Decode:  Decode,
		Key:     sqsonce.SourceKey(keys, func(e Event) string { return e.ID }),
		Payload: func(_ events.SQSMessage, e Event) []byte { return e.Canonical() },
	}
}
