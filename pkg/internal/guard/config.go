package guard

import (
	"github.com/sqsonce/sqsonce/pkg/idempotency"

	"errors"
	"fmt"
	"time"
)

const (
	// CacheSizeDefault is the default Config.CacheSize: completed keys kept
	// in memory per process.
	CacheSizeDefault = 1024
	// LeaseMarginDefault is added to the remaining time of the context when
	// the lease is derived from its deadline.
	LeaseMarginDefault = 5 * time.Second
	// LeaseWithoutDeadlineDefault is the lease when the context has no
	// deadline and Config.Lease is zero.
	LeaseWithoutDeadlineDefault = 5 * time.Minute
	// MinLeaseDefault is the shortest lease ever written, so a context with no
	// time left still writes a valid lease.
	MinLeaseDefault = time.Second
	// FinishTimeoutDefault is how long Complete and Release may run after
	// the function's context has ended.
	// It is shorter than sqsonce.SafetyMarginDefault, so a completion that
	// starts when the batch processor cancels its handlers still ends before
	// the Lambda deadline.
	FinishTimeoutDefault = time.Second
	// LambdaTimeoutMax is the longest timeout a Lambda function can have: a
	// lease derived from an invocation's deadline is at most this plus
	// LeaseMargin.
	LambdaTimeoutMax = 15 * time.Minute
)

// Config configures a Guard. The zero value of every field but KeyPrefix
// takes the default noted.
type Config struct {
	// KeyPrefix namespaces the keys of one use (for example "payments").
	// Required. Choose a stable name: never derive it from the function's
	// name, because a rename would then reset idempotency.
	KeyPrefix string

	// TTL is how long a completed key is remembered and replayed. Default
	// TTLDefault (336h, 14 days: the longest SQS retention, so any redrive
	// from a DLQ is covered). It must exceed the longest time a duplicate can
	// arrive (the retention of the queue and of its DLQ, producer retry
	// windows), and it may not
	// be shorter than the longest lease (see MaxLease): a record that expired
	// while its claim was live would let a second worker run the effect.
	TTL time.Duration

	// Lease is a fixed lease for each claim. Zero derives it from the
	// context: its remaining time until the deadline (the Lambda's remaining
	// time) plus LeaseMargin, or LeaseWithoutDeadlineDefault without a
	// deadline. Either way the lease is at least MinLease.
	Lease time.Duration

	// LeaseMargin is added to the remaining time of the context. Default
	// LeaseMarginDefault (5s).
	LeaseMargin time.Duration

	// MinLease is the floor of every lease. Default MinLeaseDefault (1s).
	MinLease time.Duration

	// SkipPayloadValidation turns off the check that a key is reused with the
	// same payload. Validation is on by default.
	SkipPayloadValidation bool

	// CacheSize bounds a local cache of completed keys, so a duplicate seen by
	// the same process costs no store request. Default CacheSizeDefault;
	// negative disables the cache. Entries honour the record's TTL.
	CacheSize int

	// Clock returns the current time. Default time.Now.
	Clock func() time.Time

	// FinishTimeout is how long Complete and Release may still run after the
	// function's context has ended (the Lambda deadline, a cancellation), so
	// finished work is recorded and failed work released; while the context
	// lives they run under it. Keep it below the time the batch processor
	// leaves before the deadline (sqsonce.Config.SafetyMargin). Default
	// FinishTimeoutDefault (1s).
	FinishTimeout time.Duration
}

// WithDefaults returns a copy of c with defaults applied to zero fields.
func (c Config) WithDefaults() Config {
	if c.TTL == 0 {
		c.TTL = idempotency.TTLDefault
	}
	if c.LeaseMargin == 0 {
		c.LeaseMargin = LeaseMarginDefault
	}
	if c.MinLease == 0 {
		c.MinLease = MinLeaseDefault
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.FinishTimeout == 0 {
		c.FinishTimeout = FinishTimeoutDefault
	}
	if c.CacheSize == 0 {
		c.CacheSize = CacheSizeDefault
	}
	return c
}

// MaxLease is the longest lease a Guard with this config writes in a Lambda
// invocation: Lease when it is fixed, else Lambda's longest timeout plus
// LeaseMargin (or LeaseWithoutDeadlineDefault, if longer), and never less
// than MinLease.
func (c Config) MaxLease() time.Duration {
	lease := c.Lease
	if lease == 0 {
		lease = max(LambdaTimeoutMax+c.LeaseMargin, LeaseWithoutDeadlineDefault)
	}
	return max(lease, c.MinLease)
}

// Validate reports the first invalid field as a *ConfigError naming it.
func (c Config) Validate() error {
	switch {
	case c.KeyPrefix == "":
		return configError("KeyPrefix", `required: choose a stable name such as "payments" (never the function's name, a rename would reset idempotency)`)
	case c.TTL < time.Second:
		return configError("TTL", "must be at least 1s, got %s", c.TTL)
	case c.Lease < 0:
		return configError("Lease", "must not be negative, got %s", c.Lease)
	case c.LeaseMargin < 0:
		return configError("LeaseMargin", "must not be negative, got %s", c.LeaseMargin)
	case c.MinLease < time.Millisecond:
		return configError("MinLease", "must be at least 1ms, got %s", c.MinLease)
	case c.TTL < c.MaxLease():
		return configError("TTL", "%s is shorter than the longest lease, %s (%s): a record would expire while its claim is live and a second worker would run the effect again; raise TTL to at least %s, or set a shorter fixed Lease",
			c.TTL, c.MaxLease(), c.leaseOrigin(), c.MaxLease())
	case c.FinishTimeout < 0:
		return configError("FinishTimeout", "must not be negative, got %s", c.FinishTimeout)
	}
	return nil
}

// leaseOrigin says where MaxLease comes from, for error messages.
func (c Config) leaseOrigin() string {
	if c.Lease > 0 {
		return "Config.Lease"
	}
	return fmt.Sprintf("Lambda's longest timeout %s plus LeaseMargin %s", LambdaTimeoutMax, c.LeaseMargin)
}

// ErrInvalidConfig is matched (errors.Is) by every *ConfigError.
var ErrInvalidConfig = errors.New("idempotency: invalid config")

// ConfigError names the Config field that is invalid and why.
type ConfigError struct {
	Field   string
	Problem string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("idempotency: Config.%s: %s", e.Field, e.Problem)
}

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

func configError(field, format string, args ...any) error {
	return &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
}
