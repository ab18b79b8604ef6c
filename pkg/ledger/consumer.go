package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
)

// Mode is how the consumer completes an event.
type Mode string

const (
	// ModeTx commits the ledger writes with the idempotency completion in one
	// transaction (dynamostore.Store.CompleteTx). The default.
	ModeTx Mode = "tx"
	// ModePlain claims, writes the ledger, then completes: the general pattern
	// for downstreams that are not DynamoDB.
	ModePlain Mode = "plain"
	// ModeBatch writes each event's completed idempotency record with its
	// ledger writes, many events per transaction, without a separate claim
	// (BatchConsumer).
	ModeBatch Mode = "batch"
)

// ParseMode reads a mode as configured in the environment ("" is ModeTx).
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", ModeTx:
		return ModeTx, nil
	case ModePlain, ModeBatch:
		return Mode(s), nil
	}
	return "", fmt.Errorf(`ledger: unknown completion mode %q: use "tx", "plain" or "batch"`, s)
}

// TransactWriter is the DynamoDB call the plain mode makes.
type TransactWriter interface {
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// ConsumerConfig configures a Consumer.
type ConsumerConfig struct {
	// Guard runs each event once. Required; for ModeTx its store must be a
	// *dynamostore.Store.
	Guard *idempotency.Guard
	// DB writes the ledger in ModePlain. Required in ModePlain.
	DB TransactWriter
	// Table is the ledger table. Required.
	Table string
	// Mode is ModeTx (default) or ModePlain.
	Mode Mode
	// Keys is where the idempotency key comes from. Default: the body's id.
	Keys sqskey.Source
	// Logger receives one line per event with its idempotency outcome.
	// Default slog.Default().
	Logger *slog.Logger
}

// Stats counts what a Consumer did, cumulatively.
type Stats struct {
	Executed       int64 // events applied under this consumer's claim
	Replayed       int64 // duplicates suppressed (the stored result replayed)
	AlreadyApplied int64 // the ledger already held the entry (the idempotency record had expired)
	Invalid        int64 // bodies or keys that can never be processed
	Mismatched     int64 // keys reused with a different payload
	Retryable      int64 // failures left for a redelivery (in progress, store down, lease lost)
}

// Consumer applies ledger events from SQS exactly once.
type Consumer struct {
	cfg   ConsumerConfig
	stats struct{ executed, replayed, already, invalid, mismatched, retryable atomic.Int64 }
}

// NewConsumer checks cfg and returns a Consumer.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	if cfg.Mode == "" {
		cfg.Mode = ModeTx
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	switch {
	case cfg.Guard == nil:
		return nil, errors.New("ledger: ConsumerConfig.Guard is required")
	case cfg.Table == "":
		return nil, errors.New("ledger: ConsumerConfig.Table is required (the ledger table, e.g. from LEDGER_TABLE)")
	case cfg.Mode == ModePlain && cfg.DB == nil:
		return nil, errors.New("ledger: ConsumerConfig.DB is required in plain mode")
	case cfg.Mode != ModeTx && cfg.Mode != ModePlain:
		return nil, fmt.Errorf("ledger: ConsumerConfig.Mode %q is not tx or plain", cfg.Mode)
	}
	return &Consumer{cfg: cfg}, nil
}

// Stats returns the counts so far.
func (c *Consumer) Stats() Stats {
	return Stats{
		Executed: c.stats.executed.Load(), Replayed: c.stats.replayed.Load(), AlreadyApplied: c.stats.already.Load(),
		Invalid: c.stats.invalid.Load(), Mismatched: c.stats.mismatched.Load(), Retryable: c.stats.retryable.Load(),
	}
}

// Handle applies one message; it is an sqsbatch.Handler. Invalid bodies,
// missing keys and reused keys are sqsbatch.Permanent errors; everything else
// that fails is left for a redelivery.
func (c *Consumer) Handle(ctx context.Context, msg events.SQSMessage) error {
	ev, err := Decode([]byte(msg.Body))
	if err != nil {
		c.stats.invalid.Add(1)
		return sqsbatch.Permanent(fmt.Errorf("message %s: %w", msg.MessageId, err))
	}
	key, err := c.cfg.Keys.Key(msg, ev.ID)
	if err != nil {
		c.stats.invalid.Add(1)
		return sqsbatch.Permanent(fmt.Errorf("message %s: %w", msg.MessageId, err))
	}
	res, already, err := c.apply(ctx, key, ev)
	return c.judge(ctx, msg, res, already, err)
}

// apply runs the event under the guard. already reports that the ledger held
// the entry before (its idempotency record had expired, or the key source
// missed a duplicate): nothing was written again.
func (c *Consumer) apply(ctx context.Context, key string, ev Event) (res idempotency.Result, already bool, err error) {
	if c.cfg.Mode == ModeTx {
		res, err = idempotency.DoTx(ctx, c.cfg.Guard, key, ev.Canonical(), func(context.Context) ([]byte, []types.TransactWriteItem, error) {
			return Result(ev), Writes(c.cfg.Table, ev), nil
		})
		if entryExists(err, 0) {
			return res, true, nil
		}
		return res, false, err
	}
	res, err = c.cfg.Guard.Do(ctx, key, ev.Canonical(), func(ctx context.Context) ([]byte, error) {
		_, err := c.cfg.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: Writes(c.cfg.Table, ev)})
		if entryExists(err, 0) {
			already = true
			return Result(ev), nil
		}
		return Result(ev), err
	})
	return res, already, err
}

// entryExists reports whether err is a transaction cancelled because the
// entry put at index already existed.
func entryExists(err error, index int) bool {
	var wc *dynamostore.WriteCanceledError
	if errors.As(err, &wc) {
		return wc.Index == index && wc.Code == "ConditionalCheckFailed"
	}
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) && len(tc.CancellationReasons) > index {
		return aws.ToString(tc.CancellationReasons[index].Code) == "ConditionalCheckFailed"
	}
	return false
}

// Error classes of the consumer's failures, for logs and metrics.
const (
	ClassPayloadMismatch = "payload-mismatch"
	ClassInProgress      = "in-progress"
	ClassStoreFailed     = "store-failed"
	ClassLeaseLost       = "lease-lost"
	ClassDownstream      = "downstream"
)

// judge counts and logs an outcome and turns it into the handler's error.
func (c *Consumer) judge(ctx context.Context, msg events.SQSMessage, res idempotency.Result, already bool, err error) error {
	log := c.cfg.Logger.With("message_id", msg.MessageId)
	switch {
	case err == nil && already:
		c.stats.already.Add(1)
		log.InfoContext(ctx, "ledger: entry already applied", "idempotency", "already-applied")
		return nil
	case err == nil && res.Outcome == idempotency.OutcomeReplayed:
		c.stats.replayed.Add(1)
		log.InfoContext(ctx, "ledger: duplicate suppressed", "idempotency", "replayed", "from_cache", res.FromCache)
		return nil
	case err == nil:
		c.stats.executed.Add(1)
		log.InfoContext(ctx, "ledger: event applied", "idempotency", "executed")
		return nil
	case errors.Is(err, idempotency.ErrPayloadMismatch):
		c.stats.mismatched.Add(1)
		return sqsbatch.Permanent(sqsbatch.WithClass(fmt.Errorf("message %s: %w", msg.MessageId, err), ClassPayloadMismatch))
	}
	c.stats.retryable.Add(1)
	class := ClassDownstream
	switch {
	case errors.Is(err, idempotency.ErrInProgress):
		class = ClassInProgress
	case errors.Is(err, idempotency.ErrLeaseLost):
		class = ClassLeaseLost
	case errors.Is(err, idempotency.ErrStoreFailed):
		class = ClassStoreFailed
	}
	return sqsbatch.WithClass(fmt.Errorf("message %s: %w", msg.MessageId, err), class)
}

// IsOutage says whether a handler error means the idempotency store is
// failing, for sqsbatch.Config.IsOutage: the breaker then fails the rest of
// the batch at once instead of burning the function's time.
func IsOutage(err error) bool { return errors.Is(err, idempotency.ErrStoreFailed) }
