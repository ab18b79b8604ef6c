package redrive

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Method is how messages are moved.
type Method int

const (
	// MethodAuto tries StartMessageMoveTask and falls back to
	// MethodReceiveSend where the endpoint does not implement it.
	MethodAuto Method = iota
	// MethodMoveTask uses only StartMessageMoveTask.
	MethodMoveTask
	// MethodReceiveSend uses only the receive, send, delete loop.
	MethodReceiveSend
)

func (m Method) String() string {
	switch m {
	case MethodAuto:
		return "auto"
	case MethodMoveTask:
		return "StartMessageMoveTask"
	case MethodReceiveSend:
		return "receive-send-delete"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// Defaults for Options fields left at their zero value.
const (
	TaskPollIntervalDefault  = time.Second
	VisibilityTimeoutDefault = 30 // seconds
	WaitTimeSecondsDefault   = 1
)

// Options configures Redrive. The zero value is ready to use.
type Options struct {
	// Method chooses the path. Default MethodAuto.
	Method Method

	// MaxNumberOfMessagesPerSecond limits a move task's rate. Default 0:
	// SQS chooses. The fallback loop ignores it.
	MaxNumberOfMessagesPerSecond int32

	// Progress, if set, is called with the running totals after each batch
	// of the loop and each poll of a move task, from Redrive's goroutine.
	Progress func(Progress)

	// TaskPollInterval is how often a move task's status is read. Default
	// TaskPollIntervalDefault (1s).
	TaskPollInterval time.Duration

	// VisibilityTimeout hides a received DLQ message from others while it is
	// copied, in seconds. Default VisibilityTimeoutDefault (30).
	VisibilityTimeout int32

	// WaitTimeSeconds is the loop's long-poll wait; the loop ends when a
	// receive returns nothing. Default WaitTimeSecondsDefault (1), 1..20.
	WaitTimeSeconds int32

	// Logger receives what Redrive does. Default: discarded.
	Logger *slog.Logger

	// MaxAge, when positive, leaves in the DLQ every message first sent
	// (see FirstSent) more than MaxAge ago, and counts it in
	// Progress.TooOld: set it to the idempotency records' TTL, since a
	// record may have expired by then and a redriven copy would run its
	// effect again. A move task moves every message whatever its age, so
	// with MaxAge, MethodAuto runs the loop and MethodMoveTask is refused.
	// Default 0: every message is moved, whatever its age.
	MaxAge time.Duration

	// Now is the clock a message's age is measured on. Default time.Now.
	Now func() time.Time
}

// Progress is the running count of a redrive.
type Progress struct {
	// Moved is the number of messages copied to the destination.
	Moved int64
	// Failed is the number of messages that could not be copied; they are
	// still in the DLQ.
	Failed int64
	// TooOld is the number of messages left in the DLQ because they were
	// first sent more than Options.MaxAge ago.
	TooOld int64
	// OldestTooOld is the age of the oldest of them.
	OldestTooOld time.Duration
}

// Result is what a redrive did.
type Result struct {
	Progress
	// Method is the path that ran: MethodMoveTask or MethodReceiveSend.
	Method Method
	// DeleteFailed is the number of messages copied but not deleted from the
	// DLQ: they are in both queues, and a later redrive moves them again.
	DeleteFailed int64
	// TaskHandle identifies the move task, if one ran.
	TaskHandle string
}

// WithDefaults returns a copy of o with zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.TaskPollInterval == 0 {
		o.TaskPollInterval = TaskPollIntervalDefault
	}
	if o.VisibilityTimeout == 0 {
		o.VisibilityTimeout = VisibilityTimeoutDefault
	}
	if o.WaitTimeSeconds == 0 {
		o.WaitTimeSeconds = WaitTimeSecondsDefault
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = func(Progress) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// ErrInvalidOptions is wrapped by every validation error from Redrive.
var ErrInvalidOptions = errors.New("invalid redrive options")

func (o Options) validate() error {
	switch {
	case o.Method < MethodAuto || o.Method > MethodReceiveSend:
		return fmt.Errorf("%w: Method %v is unknown", ErrInvalidOptions, o.Method)
	case o.MaxNumberOfMessagesPerSecond < 0:
		return fmt.Errorf("%w: MaxNumberOfMessagesPerSecond %d is negative", ErrInvalidOptions, o.MaxNumberOfMessagesPerSecond)
	case o.TaskPollInterval < 0:
		return fmt.Errorf("%w: TaskPollInterval %v is negative", ErrInvalidOptions, o.TaskPollInterval)
	case o.VisibilityTimeout < 1 || o.VisibilityTimeout > 43200:
		return fmt.Errorf("%w: VisibilityTimeout %d is not within 1..43200 seconds", ErrInvalidOptions, o.VisibilityTimeout)
	case o.WaitTimeSeconds < 1 || o.WaitTimeSeconds > 20:
		return fmt.Errorf("%w: WaitTimeSeconds %d is not within 1..20", ErrInvalidOptions, o.WaitTimeSeconds)
	case o.MaxAge > 0 && o.Method == MethodMoveTask:
		return fmt.Errorf("%w: Method %v with MaxAge %v: a move task moves every message, whatever its age", ErrInvalidOptions, o.Method, o.MaxAge)
	}
	return nil
}
