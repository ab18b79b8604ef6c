package batch

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// FIFOMode chooses what a failed record on a FIFO queue does to the records
// after it.
type FIFOMode int

const (
	// FIFOSkipGroup reports the later records of the failed record's message
	// group as failed without running them; other groups go on. The default.
	FIFOSkipGroup FIFOMode = iota
	// FIFOStrict reports every later record of the batch as failed without
	// running it, whatever its group: the behaviour AWS documents for FIFO
	// queues. Records then run one at a time in batch order, because a record
	// of another group that ran in parallel could not be reported failed
	// without running it twice.
	FIFOStrict
)

const (
	// ConcurrencyDefault is the default Config.Concurrency.
	ConcurrencyDefault = 8
	// BreakAfterDefault is the default Config.BreakAfter.
	BreakAfterDefault = 3
	// SafetyMarginDefault is the default Config.SafetyMargin.
	SafetyMarginDefault = 2 * time.Second
	// MetricsNamespaceDefault is the default EMF.Namespace.
	MetricsNamespaceDefault = "sqsonce"
)

// Config configures a Processor. The zero value is valid: every field
// documents its default.
type Config struct {
	// Concurrency is the number of records (standard queues) or message
	// groups (FIFO queues) that run at once: each holds a slot until its
	// handler returns or releases it (SlotHandler). Default
	// ConcurrencyDefault; must not be negative.
	Concurrency int

	// FIFOMode is what a failure on a FIFO queue does to later records.
	// Default FIFOSkipGroup.
	FIFOMode FIFOMode

	// SafetyMargin is how long before the context's deadline the processor
	// stops starting records and cancels running handlers. It is capped at a
	// quarter of the time left when an invocation starts, so that a short
	// deadline still leaves time for work. Default SafetyMarginDefault; must
	// not be negative. Without a context deadline it has no effect.
	SafetyMargin time.Duration

	// DLQ, when set, sends records that failed with a Permanent error to a
	// dead-letter queue at once and reports them as succeeded. Default nil:
	// a permanent failure is reported like any other, and the queue's
	// redrive policy moves it after maxReceiveCount.
	DLQ *DLQ

	// BreakAfter opens a breaker after that many consecutive outage-class
	// failures within one invocation: records not yet started are then
	// reported failed without running. Default BreakAfterDefault; negative
	// disables the breaker.
	BreakAfter int

	// IsOutage says which handler errors count towards BreakAfter; a
	// success resets the count. Default: every error that is not Permanent
	// and not caused by the invocation's own deadline.
	IsOutage func(error) bool

	// ErrorOnAllFailed makes Run return ErrAllFailed (beside the full
	// response) when every record of a non-empty batch is reported failed.
	// Lambda then counts a function error, which slows the event source
	// mapping down. Default false: the failures are returned with a nil
	// error.
	ErrorOnAllFailed bool

	// Logger receives one line per record. Default slog.Default().
	Logger *slog.Logger

	// Now is the clock, used for durations and the time left before the
	// deadline. Default time.Now.
	Now func() time.Time

	// Metrics, when set, writes each invocation's Counts as one line of
	// CloudWatch Embedded Metric Format. Default nil: not written.
	Metrics *EMF
}

// WithDefaults returns a copy of c with every unset field set to its default.
func (c Config) WithDefaults() Config {
	if c.Concurrency == 0 {
		c.Concurrency = ConcurrencyDefault
	}
	if c.SafetyMargin == 0 {
		c.SafetyMargin = SafetyMarginDefault
	}
	if c.BreakAfter == 0 {
		c.BreakAfter = BreakAfterDefault
	}
	if c.IsOutage == nil {
		c.IsOutage = defaultIsOutage
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func defaultIsOutage(err error) bool { return !IsPermanent(err) }

// ErrInvalidConfig is matched (errors.Is) by every ConfigError.
var ErrInvalidConfig = errors.New("sqsbatch: invalid config")

// ConfigError names the Config field that is invalid and why.
type ConfigError struct {
	Field   string
	Problem string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("sqsbatch: Config.%s: %s", e.Field, e.Problem)
}

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

func (c Config) validate() error {
	switch {
	case c.Concurrency < 0:
		return &ConfigError{"Concurrency", "must not be negative"}
	case c.SafetyMargin < 0:
		return &ConfigError{"SafetyMargin", "must not be negative"}
	case c.FIFOMode != FIFOSkipGroup && c.FIFOMode != FIFOStrict:
		return &ConfigError{"FIFOMode", fmt.Sprintf("unknown mode %d", c.FIFOMode)}
	case c.Metrics != nil && c.Metrics.Writer == nil:
		return &ConfigError{"Metrics.Writer", "required when Metrics is set"}
	case c.DLQ != nil && c.DLQ.Client == nil:
		return &ConfigError{"DLQ.Client", "required when DLQ is set"}
	case c.DLQ != nil && c.DLQ.QueueURL == "" && c.DLQ.FIFOQueueURL == "":
		return &ConfigError{"DLQ.QueueURL", "required when DLQ is set (or DLQ.FIFOQueueURL for FIFO queues)"}
	case c.DLQ != nil && c.DLQ.QueueURL != "" && strings.HasSuffix(c.DLQ.QueueURL, ".fifo"):
		return &ConfigError{"DLQ.QueueURL", "is a FIFO queue: set it as DLQ.FIFOQueueURL (the DLQ of a FIFO queue must be FIFO)"}
	case c.DLQ != nil && c.DLQ.FIFOQueueURL != "" && !strings.HasSuffix(c.DLQ.FIFOQueueURL, ".fifo"):
		return &ConfigError{"DLQ.FIFOQueueURL", "is not a FIFO queue (its URL must end in .fifo)"}
	}
	return nil
}
