// Package consumer is the consumer function's wiring: its configuration
// from the environment (LoadConfig) and its handler (New), ledger events
// applied exactly once through pkg/sqsonce with the store the configuration
// names. functions/consumer/main.go builds the clients and starts it; the
// tests here and in internal/reliability run the same wiring in process.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/redis/go-redis/v9"

	"github.com/sqsonce/sqsonce/internal/telemetry"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/redisstore"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// Clients are the AWS clients the consumer uses; main builds them once
// per execution environment.
type Clients struct {
	DynamoDB *dynamodb.Client
	// Redis is the idempotency store's client when Config.Store is
	// StoreRedis (redisstore.Dial).
	Redis redis.UniversalClient
	// DLQ sends permanent failures when Config.PermanentDLQURL or
	// PermanentFIFODLQ is set.
	DLQ sqsonce.Sender
	// Queues hides records failed by the store for longer at each receive
	// (sqsonce.Backoff), when set.
	Queues sqsonce.VisibilityAPI
	// Lambda pauses and resumes the function's event source mappings when
	// Config.PauseOnStoreOutage is set.
	Lambda sqsonce.LambdaAPI
	// Tracing makes the handler's spans (telemetry.New); nil makes none.
	Tracing *telemetry.Tracing
}

// redisCheckTimeout bounds redisstore.New's check of the server at start.
const redisCheckTimeout = 5 * time.Second

// New is the consumer function's handler: ledger events applied
// exactly once. With the DynamoDB store (the default) it is
// sqsonce.NewDynamoDB: each event's writes commit with its idempotency
// record, many events per transaction. With Valkey/Redis, which cannot
// commit with DynamoDB, it is sqsonce.New with ledger.ApplyOnce as the effect.
// Logs and metrics (Embedded Metric Format) go to out.
func New(cfg Config, clients Clients, out io.Writer) (*sqsonce.Handler[ledger.Receipt], error) {
	if clients.DynamoDB == nil {
		return nil, errors.New("consumer: Clients.DynamoDB is required")
	}
	logger := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: cfg.LogLevel, ReplaceAttr: lambdaLogKeys}))
	sc := sqsonce.Config{
		KeyPrefix:  cfg.KeyPrefix,
		TTL:        cfg.TTL,
		CacheSize:  cfg.CacheSize,
		BreakAfter: cfg.BreakAfter,
		Logger:     logger,
		Metrics:    &sqsonce.EMF{Writer: out, Level: cfg.LogLevel}, // LOG_LEVEL is the ApplicationLogLevel: the metrics pass Lambda's filter
		Tracing:    clients.Tracing.Library(),
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
	if clients.Queues != nil {
		sc.Backoff = &sqsonce.Backoff{SQS: clients.Queues}
	}
	if cfg.PauseOnStoreOutage {
		if clients.Lambda == nil {
			return nil, errors.New("consumer: PAUSE_ON_STORE_OUTAGE is set but no Lambda client was given")
		}
		sc.Pause = &sqsonce.Pause{Lambda: clients.Lambda, FunctionName: cfg.FunctionName, After: cfg.PauseAfter}
	}
	if cfg.PermanentDLQURL != "" || cfg.PermanentFIFODLQ != "" {
		if clients.DLQ == nil {
			return nil, errors.New("consumer: PERMANENT_DLQ_URL or PERMANENT_FIFO_DLQ_URL is set but no SQS client was given")
		}
		sc.DLQ = &sqsonce.DLQ{Client: clients.DLQ, QueueURL: cfg.PermanentDLQURL, FIFOQueueURL: cfg.PermanentFIFODLQ}
	}
	if cfg.Store == StoreRedis {
		if clients.Redis == nil {
			return nil, errors.New("consumer: IDEMPOTENCY_STORE=redis but no Redis client was given")
		}
		// New checks the server cannot evict records (maxmemory-policy).
		ctx, cancel := context.WithTimeout(context.Background(), redisCheckTimeout)
		store, err := redisstore.New(ctx, clients.Redis, redisstore.WithWaitReplicas(cfg.RedisWaitReplicas, cfg.RedisWaitTimeout))
		cancel()
		if err != nil {
			return nil, fmt.Errorf("consumer: idempotency store: %w", err)
		}
		sc.Concurrency = cfg.Concurrency
		return sqsonce.New(store, ledger.Message(cfg.Keys), func(ctx context.Context, e ledger.Event) (ledger.Receipt, error) {
			return ledger.ApplyOnce(ctx, clients.DynamoDB, cfg.LedgerTable, e)
		}, sc)
	}
	store, err := dynamostore.New(clients.DynamoDB, cfg.IdempotencyTable,
		dynamostore.WithLayout(cfg.Layout), dynamostore.WithTxConcurrency(cfg.Concurrency))
	if err != nil {
		return nil, err
	}
	return sqsonce.NewDynamoDB(store, ledger.Message(cfg.Keys), func(_ context.Context, e ledger.Event) (sqsonce.Effect[ledger.Receipt], error) {
		return cfg.Notify.effect(cfg.LedgerTable, e), nil
	}, cfg.Notify.config(sc))
}

// lambdaLogKeys names a record's time "timestamp", the key Lambda reads
// (RFC 3339) when it filters JSON logs by level: a line without it counts
// as INFO, and would be dropped at WARN or ERROR.
func lambdaLogKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		a.Key = "timestamp"
	}
	return a
}
