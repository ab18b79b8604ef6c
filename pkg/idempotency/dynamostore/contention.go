package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/backoff"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// A transaction cancelled for contention wrote nothing and may be sent
// again; the SDK's retryer does not retry it. DynamoDB gives these reasons:
// TransactionConflict (another transaction on one of the items, such as a
// hot counter), ThrottlingError and ProvisionedThroughputExceeded (no
// capacity). They are retried with jittered exponential backoff while the
// context lives, at most contentionAttempts times.
const (
	contentionAttempts   = 8
	contentionBackoff    = 10 * time.Millisecond
	contentionBackoffMax = time.Second
)

// isContention reports whether a cancellation reason code is contention.
func isContention(code string) bool {
	switch code {
	case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded":
		return true
	}
	return false
}

// cancellation returns the reasons of a cancelled transaction, or ok false.
func cancellation(err error) (reasons []types.CancellationReason, ok bool) {
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) {
		return nil, false
	}
	return canceled.CancellationReasons, true
}

// contended reports whether any reason of a cancelled transaction is
// contention.
func contended(reasons []types.CancellationReason) bool {
	for _, r := range reasons {
		if isContention(aws.ToString(r.Code)) {
			return true
		}
	}
	return false
}

// retries paces the retries of one contended transaction.
type retries struct {
	sleep    func(ctx context.Context, d time.Duration) error
	next     time.Duration
	attempts int
}

func (s *Store) retries() *retries {
	return &retries{sleep: s.sleep, next: contentionBackoff}
}

// wait sleeps before the next attempt, between half and all of the current
// backoff, which then doubles up to contentionBackoffMax. It returns an
// error matching idempotency.ErrContended once the attempts are spent or
// ctx ends first.
func (b *retries) wait(ctx context.Context, cause error) error {
	b.attempts++
	if b.attempts >= contentionAttempts {
		return fmt.Errorf("%w: %d attempts: %w", idempotency.ErrContended, b.attempts, cause)
	}
	d := backoff.Jitter(b.next)
	b.next = min(2*b.next, contentionBackoffMax)
	if err := b.sleep(ctx, d); err != nil {
		return fmt.Errorf("%w: backing off after %d attempts: %w (cause: %w)", idempotency.ErrContended, b.attempts, err, cause)
	}
	return nil
}

// sleepFor is the Store's default sleep.
func sleepFor(ctx context.Context, d time.Duration) error { return backoff.Sleep(ctx, d) }
