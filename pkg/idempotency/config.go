package idempotency

import (
	"errors"
	"fmt"
	"time"
)

const (
	// TTLDefault is how long a completed key is remembered.
	TTLDefault = time.Hour
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
	// It is shorter than sqsbatch.SafetyMarginDefault, so a completion that
	// starts when the batch processor cancels its handlers still ends before
	// the Lambda deadline.
	FinishTimeoutDefault = time.Second
)

// Config configures a Guard. The zero value of every field but KeyPrefix
// takes the default noted.
type Config struct {
	// KeyPrefix namespaces the keys of one use (for example "payments").
	// Required. Choose a stable name: never derive it from the function's
	// name, because a rename would then reset idempotency.
	KeyPrefix string

	// TTL is how long a completed key is remembered and replayed. Default
	// TTLDefault (1h). It must exceed the longest time a duplicate can arrive
	// (SQS retention of the queue, producer retry windows).
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
	// the same process costs no store request. Zero disables the cache.
	// Entries honour the record's TTL.
	CacheSize int

	// Clock returns the current time. Default time.Now.
	Clock func() time.Time

	// FinishTimeout is how long Complete and Release may still run after the
	// function's context has ended (the Lambda deadline, a cancellation), so
	// finished work is recorded and failed work released; while the context
	// lives they run under it. Keep it below the time the batch processor
	// leaves before the deadline (sqsbatch.Config.SafetyMargin). Default
	// FinishTimeoutDefault (1s).
	FinishTimeout time.Duration
}

// WithDefaults returns a copy of c with defaults applied to zero fields.
func (c Config) WithDefaults() Config {
	if c.TTL == 0 {
		c.TTL = TTLDefault
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
	return c
}

// Validate reports the first invalid field, naming it.
func (c Config) Validate() error {
	switch {
	case c.KeyPrefix == "":
		return errors.New(`idempotency: Config.KeyPrefix is required: choose a stable name such as "payments" (never the function's name, a rename would reset idempotency)`)
	case c.TTL < time.Second:
		return fmt.Errorf("idempotency: Config.TTL must be at least 1s, got %s", c.TTL)
	case c.Lease < 0:
		return fmt.Errorf("idempotency: Config.Lease must not be negative, got %s", c.Lease)
	case c.LeaseMargin < 0:
		return fmt.Errorf("idempotency: Config.LeaseMargin must not be negative, got %s", c.LeaseMargin)
	case c.MinLease < time.Millisecond:
		return fmt.Errorf("idempotency: Config.MinLease must be at least 1ms, got %s", c.MinLease)
	case c.CacheSize < 0:
		return fmt.Errorf("idempotency: Config.CacheSize must not be negative, got %d", c.CacheSize)
	case c.FinishTimeout < 0:
		return fmt.Errorf("idempotency: Config.FinishTimeout must not be negative, got %s", c.FinishTimeout)
	}
	return nil
}
