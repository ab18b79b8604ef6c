package esm

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults and limits of Config fields, Lambda's where Lambda has one.
const (
	// BatchSizeDefault is Lambda's default batch size for SQS.
	BatchSizeDefault = 10
	// BatchSizeMax is Lambda's maximum for a standard queue.
	BatchSizeMax = 10000
	// WaitTimeSecondsDefault is the long-poll wait; Lambda uses 20.
	WaitTimeSecondsDefault = 20
	// ReceiveErrorBackoffDefault is the pause after a failed ReceiveMessage.
	ReceiveErrorBackoffDefault = time.Second
	// DrainCheckIntervalDefault is how often RunUntilDrained reads the
	// queue's approximate counts.
	DrainCheckIntervalDefault = 250 * time.Millisecond
	// StateCheckIntervalDefault is how often a mapping's state is read from
	// the Lambda API (Config.Lambda).
	StateCheckIntervalDefault = 500 * time.Millisecond

	// maxReceivePerCall is SQS's limit on MaxNumberOfMessages.
	maxReceivePerCall = 10
	// maxWaitTimeSeconds is SQS's limit on WaitTimeSeconds.
	maxWaitTimeSeconds = 20
	// maxBatchingWindow is Lambda's limit on MaximumBatchingWindow.
	maxBatchingWindow = 300 * time.Second
)

// Config configures a Mapping.
type Config struct {
	// QueueURL is the queue to poll. Required.
	QueueURL string

	// Client talks to SQS. Required.
	Client SQSClient

	// Invokers runs the function: one poller per Invoker, each calling only
	// its own, since an emulator serves one invocation at a time. Required,
	// at least one.
	Invokers []Invoker

	// BatchSize is the most records in one invocation. A receive returns at
	// most 10, so larger batches are gathered over several receives within
	// MaximumBatchingWindow, as Lambda does. Default BatchSizeDefault (10),
	// at most BatchSizeMax; above 10 a MaximumBatchingWindow is required.
	BatchSize int

	// MaximumBatchingWindow is how long a poller keeps gathering a batch
	// after its first message, unless the batch fills first. Default 0: the
	// messages of one receive make the batch. At most 300s.
	MaximumBatchingWindow time.Duration

	// WaitTimeSeconds is the long-poll wait of each receive. Default
	// WaitTimeSecondsDefault (20); 0..20; set a negative value for short
	// polling (0 seconds).
	WaitTimeSeconds int32

	// Region is the event's awsRegion. Default: the region in the queue's
	// ARN.
	Region string

	// Logger receives the mapping's events (batches, failures, errors).
	// Default: discarded.
	Logger *slog.Logger

	// Now tells the time, for the batching window and drain detection.
	// Default time.Now.
	Now func() time.Time

	// ReceiveErrorBackoff is the pause after a failed ReceiveMessage.
	// Default ReceiveErrorBackoffDefault (1s).
	ReceiveErrorBackoff time.Duration

	// DrainCheckInterval is how often RunUntilDrained reads the queue's
	// approximate counts. Default DrainCheckIntervalDefault (250ms).
	DrainCheckInterval time.Duration

	// Lambda and MappingUUID, when set, name the Lambda event source
	// mapping this one stands for (created on a local Lambda API, such as
	// moto's): pollers receive only while its state is Enabled (or
	// Enabling, Updating), as Lambda stops polling a disabled mapping, so
	// that a function that pauses its own mapping (sqsonce.Pause) is
	// obeyed. The state is read every StateCheckInterval; a failed read
	// keeps the last state. Default: always enabled.
	Lambda      LambdaClient
	MappingUUID string
	// StateCheckInterval is how often the mapping's state is read. Default
	// StateCheckIntervalDefault (500ms).
	StateCheckInterval time.Duration
}

// WithDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.BatchSize == 0 {
		c.BatchSize = BatchSizeDefault
	}
	switch {
	case c.WaitTimeSeconds == 0:
		c.WaitTimeSeconds = WaitTimeSecondsDefault
	case c.WaitTimeSeconds < 0:
		c.WaitTimeSeconds = 0
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ReceiveErrorBackoff == 0 {
		c.ReceiveErrorBackoff = ReceiveErrorBackoffDefault
	}
	if c.DrainCheckInterval == 0 {
		c.DrainCheckInterval = DrainCheckIntervalDefault
	}
	if c.StateCheckInterval == 0 {
		c.StateCheckInterval = StateCheckIntervalDefault
	}
	return c
}

// ErrInvalidConfig is wrapped by every validation error from New.
var ErrInvalidConfig = errors.New("invalid event source mapping config")

func (c Config) validate() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.QueueURL == "":
		return fail("QueueURL is required")
	case c.Client == nil:
		return fail("Client is required")
	case len(c.Invokers) == 0:
		return fail("Invokers needs at least one Invoker")
	case c.BatchSize < 1 || c.BatchSize > BatchSizeMax:
		return fail("BatchSize %d is not within 1..%d", c.BatchSize, BatchSizeMax)
	case c.BatchSize > maxReceivePerCall && c.MaximumBatchingWindow <= 0:
		return fail("BatchSize %d above %d needs a MaximumBatchingWindow", c.BatchSize, maxReceivePerCall)
	case c.MaximumBatchingWindow < 0 || c.MaximumBatchingWindow > maxBatchingWindow:
		return fail("MaximumBatchingWindow %v is not within 0..%v", c.MaximumBatchingWindow, maxBatchingWindow)
	case c.WaitTimeSeconds > maxWaitTimeSeconds:
		return fail("WaitTimeSeconds %d is above %d", c.WaitTimeSeconds, maxWaitTimeSeconds)
	case c.ReceiveErrorBackoff < 0:
		return fail("ReceiveErrorBackoff %v is negative", c.ReceiveErrorBackoff)
	case c.DrainCheckInterval < 0:
		return fail("DrainCheckInterval %v is negative", c.DrainCheckInterval)
	case (c.Lambda == nil) != (c.MappingUUID == ""):
		return fail("Lambda and MappingUUID go together: give both, or neither")
	case c.StateCheckInterval < 0:
		return fail("StateCheckInterval %v is negative", c.StateCheckInterval)
	}
	for i, inv := range c.Invokers {
		if inv == nil {
			return fail("Invokers[%d] is nil", i)
		}
	}
	return nil
}
