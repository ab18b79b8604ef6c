package idempotency

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrInProgress means another worker holds a live claim on the key. Retry
	// the message later (report it as a batch item failure).
	ErrInProgress = errors.New("idempotency: key is being processed by another worker")

	// ErrPayloadMismatch means the key was completed with a different payload:
	// the producer reused an idempotency key for another event. The work is not
	// run; this is a permanent failure for the message.
	ErrPayloadMismatch = errors.New("idempotency: key reused with a different payload")

	// ErrLeaseLost means this claim no longer owns the record: its lease expired
	// and another worker took the key over (or completed it). Nothing was
	// written by the fenced operation.
	ErrLeaseLost = errors.New("idempotency: lease lost to another worker")

	// ErrAlreadyCompleted is returned by Store.Claim, with the completed
	// record, when the key has a live COMPLETED record. sqsonce turns it into
	// a replay; its callers never see it.
	ErrAlreadyCompleted = errors.New("idempotency: key already completed")

	// ErrNotFound is returned by Store.Get when the key has no record.
	ErrNotFound = errors.New("idempotency: record not found")

	// ErrStoreFailed matches every error caused by the store itself (network,
	// throttling, an outage) rather than by the protocol. The function did not
	// run unclaimed; retry the message later.
	ErrStoreFailed = errors.New("idempotency: store failed")

	// ErrTxUnsupported means the store cannot commit writes with the
	// completion (a Valkey/Redis store cannot be atomic with DynamoDB
	// writes): run such effects with sqsonce.New, not NewDynamoDB.
	ErrTxUnsupported = errors.New("idempotency: store does not support transactional completion")

	// ErrContended means the store refused a transaction for contention:
	// conflicts with concurrent transactions on the same items (a hot
	// counter), or throttling, for longer than the retries allowed. Nothing
	// was written. It is not a store outage (it does not match
	// ErrStoreFailed): the message is retried later; a hot item's write
	// rate is the limit (DynamoDB: about 1,000 writes a second per item).
	ErrContended = errors.New("idempotency: store contended (transaction conflicts or throttling outlasted the retries)")
)

// StoreError is a failure of the store during one operation. It matches
// ErrStoreFailed with errors.Is and unwraps to the store's own error (for
// example an SDK exception, to be inspected with errors.As).
type StoreError struct {
	Op  string // "claim", "complete", "release", "get"
	Key string // the stored (hashed) key
	Err error
}

func (e *StoreError) Error() string {
	return fmt.Sprintf("idempotency: %s %s: store failed: %v", e.Op, e.Key, e.Err)
}

func (e *StoreError) Unwrap() error { return e.Err }

// Is makes a StoreError match ErrStoreFailed.
func (e *StoreError) Is(target error) bool { return target == ErrStoreFailed }

// InProgressError is ErrInProgress with when the live claim's lease ends:
// a retry before then meets the same claim, so a caller can wait until
// LeaseUntil (sqsonce hides such a message until then).
type InProgressError struct {
	Key        string
	LeaseUntil time.Time
}

func (e *InProgressError) Error() string {
	return fmt.Sprintf("claim %s: %v until its lease ends at %s", e.Key, ErrInProgress, e.LeaseUntil.UTC().Format(time.RFC3339Nano))
}

// Is makes errors.Is(err, ErrInProgress) true.
func (e *InProgressError) Is(target error) bool { return target == ErrInProgress }
