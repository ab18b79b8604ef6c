package sqsonce

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
	"github.com/sqsonce/sqsonce/pkg/outbox"
	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// Defaults of Config.
const (
	// BreakAfterDefault is how many consecutive store failures open the
	// breaker, which then fails the rest of the batch without running it.
	BreakAfterDefault = batch.BreakAfterDefault
	// CacheSizeDefault is how many completed keys are kept in memory per
	// execution environment.
	CacheSizeDefault = guard.CacheSizeDefault
	// ConcurrencyDefault is how many records (or FIFO message groups) New
	// runs at once.
	ConcurrencyDefault = batch.ConcurrencyDefault
	// SafetyMarginDefault is how long before the Lambda deadline no new work
	// starts.
	SafetyMarginDefault = batch.SafetyMarginDefault
	// TTLMin is the shortest TTL accepted (Config.TTL, OnceConfig.TTL):
	// Lambda's longest timeout plus the lease margin, the longest a claim
	// lives, so that no record expires while its claim is live.
	TTLMin = guard.LambdaTimeoutMax + guard.LeaseMarginDefault
)

// Config configures a Handler. KeyPrefix is required; every other field's
// zero value takes the default noted.
type Config struct {
	// KeyPrefix namespaces the keys of one use (for example "payments").
	// Required; never derived from the function's name, which may change.
	KeyPrefix string
	// TTL is how long a completed key is remembered. Default
	// idempotency.TTLDefault (336h, 14 days). Keep it at least as long as the queue's
	// retention period: a message can be redelivered, or redriven from the
	// DLQ, for that long.
	TTL time.Duration
	// CacheSize bounds the completed keys kept in memory, so a repeated
	// duplicate costs no request. Default CacheSizeDefault; negative
	// disables the cache.
	CacheSize int
	// Concurrency is how many records (or FIFO message groups) New runs at
	// once. Default ConcurrencyDefault (8). A record holds its slot until
	// its effect returns: waiting for its completion, which it shares with
	// the records that ran beside it, it holds none. NewDynamoDB hands its
	// records over in waves; the store bounds the transactions of a wave in
	// flight (dynamostore.WithTxConcurrency).
	Concurrency int
	// BreakAfter is how many consecutive store failures (errors matching
	// idempotency.ErrStoreFailed) open the breaker for the rest of the
	// invocation. Default BreakAfterDefault; negative disables it.
	BreakAfter int
	// SafetyMargin is how long before the Lambda deadline no new work
	// starts and running work is cancelled. Default
	// SafetyMarginDefault (2s), capped at a quarter of the time
	// left.
	SafetyMargin time.Duration
	// FinishTimeout is how long a completion may still run once its
	// record's context ended, never past the point where the invocation
	// returns. It must be shorter than SafetyMargin. Default 1s.
	FinishTimeout time.Duration
	// DLQ, when set, sends permanent failures to a dead-letter queue at once
	// instead of leaving them to the queue's redrive policy.
	DLQ *DLQ
	// Logger receives one line per record. Default slog.Default().
	Logger *slog.Logger
	// Metrics, when set, receives each invocation's Counts as one line of
	// Embedded Metric Format.
	Metrics *EMF
	// Codec encodes effects' results for the store and decodes the results
	// replayed to duplicates. Default JSONCodec.
	Codec Codec
	// Pause, when set, stops consumption while the idempotency store is
	// down: the function's event source mapping is disabled, and
	// Handler.Probe enables it again once the store answers. Default nil:
	// consumption never pauses, and a store outage longer than the queue's
	// visibility timeout times its maxReceiveCount dead-letters messages.
	Pause *Pause
	// Backoff, when set, hides records that failed because the store did
	// for longer at each receive, so that they spend their receives slowly.
	// Default nil: they come back after the queue's visibility timeout.
	Backoff *Backoff
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Tracing, when set, makes OpenTelemetry spans of invocations and
	// records, and puts trace_id and span_id on records' log lines. Default
	// nil: no spans, at no cost.
	Tracing *Tracing
	// Outbox is where NewDynamoDB writes the events effects publish
	// (Effect.Publish). Default nil: an effect that publishes fails.
	Outbox *outbox.Table
}

// WithDefaults returns a copy of c with defaults applied to zero fields.
func (c Config) WithDefaults() Config {
	if c.TTL == 0 {
		c.TTL = idempotency.TTLDefault
	}
	if c.CacheSize == 0 {
		c.CacheSize = CacheSizeDefault
	}
	if c.Concurrency == 0 {
		c.Concurrency = batch.ConcurrencyDefault
	}
	if c.BreakAfter == 0 {
		c.BreakAfter = BreakAfterDefault
	}
	if c.SafetyMargin == 0 {
		c.SafetyMargin = batch.SafetyMarginDefault
	}
	if c.FinishTimeout == 0 {
		c.FinishTimeout = guard.FinishTimeoutDefault
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Tracing = c.Tracing.withDefaults()
	c.Logger = c.Tracing.tracedLogger(c.Logger)
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Codec == nil {
		c.Codec = JSONCodec{}
	}
	if c.Pause != nil {
		p := c.Pause.withDefaults()
		c.Pause = &p
	}
	return c
}

// ErrInvalidConfig is matched (errors.Is) by every *ConfigError.
var ErrInvalidConfig = errors.New("sqsonce: invalid config")

// ConfigError names what is invalid and why: a field as the caller writes
// it ("Config.FinishTimeout", "OnceConfig.TTL", "Message.Key") or an
// argument ("store", "fn").
type ConfigError struct {
	Field   string
	Problem string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("sqsonce: %s: %s", e.Field, e.Problem)
}

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

func (c Config) validate() error {
	switch {
	case c.FinishTimeout >= c.SafetyMargin:
		return &ConfigError{"Config.FinishTimeout", fmt.Sprintf("%s must be shorter than SafetyMargin %s, or a completion could outlive the invocation", c.FinishTimeout, c.SafetyMargin)}
	case c.Concurrency < 0:
		return &ConfigError{"Config.Concurrency", "must not be negative"}
	case c.Metrics != nil && c.Metrics.Writer == nil:
		return &ConfigError{"Config.Metrics.Writer", "required when Metrics is set"}
	}
	if err := c.validateOutbox(); err != nil {
		return err
	}
	if c.Pause != nil {
		if err := c.Pause.validate(); err != nil {
			return err
		}
	}
	if c.Backoff != nil {
		return c.Backoff.validate()
	}
	return nil
}

// guard builds the idempotency guard of c.
func (c Config) guard(store idempotency.Store) (*guard.Guard, error) {
	if store == nil {
		return nil, &ConfigError{"store", "nil: give an idempotency store (dynamostore.New)"}
	}
	g, err := guard.NewGuard(store, guard.Config{
		KeyPrefix:     c.KeyPrefix,
		TTL:           c.TTL,
		CacheSize:     c.CacheSize,
		FinishTimeout: c.FinishTimeout,
		Clock:         c.Clock,
	})
	return g, fromGuard(err, "Config")
}

// batch is the batch processor's configuration of c.
func (c Config) batch() batch.Config {
	return batch.Config{
		Concurrency:  c.Concurrency,
		SafetyMargin: c.SafetyMargin,
		DLQ:          c.DLQ.batchDLQ(),
		BreakAfter:   c.BreakAfter,
		IsOutage:     func(err error) bool { return errors.Is(err, idempotency.ErrStoreFailed) },
		Logger:       c.Logger,
		Now:          c.Clock,
	}
}

// fromBatch makes the batch processor's configuration error one of this
// package's, naming the Config field the caller set.
func fromBatch(err error) error {
	if ce := (*batch.ConfigError)(nil); errors.As(err, &ce) {
		return &ConfigError{"Config." + ce.Field, ce.Problem}
	}
	return err
}

// fromGuard makes the guard's configuration error one of this package's,
// naming the field of owner (Config, OnceConfig) the caller set.
func fromGuard(err error, owner string) error {
	if ce := (*guard.ConfigError)(nil); errors.As(err, &ce) {
		return &ConfigError{owner + "." + ce.Field, ce.Problem}
	}
	return err
}
