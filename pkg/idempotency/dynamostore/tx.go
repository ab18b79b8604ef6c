package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/internal/sleep"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// MaxTxWrites is how many caller writes CompleteTx accepts: DynamoDB's 100
// actions per transaction, less the completion itself.
const MaxTxWrites = 99

// WriteCanceledError reports that a transaction was cancelled because of one
// of the caller's writes (its own condition failed, or it conflicted), not
// because the lease was lost. Nothing was written.
type WriteCanceledError struct {
	Index   int    // index of the write in the caller's slice
	Code    string // DynamoDB's cancellation reason code, e.g. ConditionalCheckFailed
	Message string
}

func (e *WriteCanceledError) Error() string {
	return fmt.Sprintf("dynamostore: transaction cancelled by write %d: %s: %s", e.Index, e.Code, e.Message)
}

// CompleteTx implements idempotency.TxCompleter: it commits writes and the
// completion of key in one TransactWriteItems. If the record no longer holds
// token, nothing is written and the error is idempotency.ErrLeaseLost. If one
// of the writes cancels the transaction, the error is a *WriteCanceledError.
func (s *Store) CompleteTx(ctx context.Context, key, token string, result []byte, expiresAt time.Time, writes []types.TransactWriteItem) error {
	if len(writes) > MaxTxWrites {
		return fmt.Errorf("complete-tx %s: %d writes, at most %d fit in one transaction with the completion", key, len(writes), MaxTxWrites)
	}
	items := make([]types.TransactWriteItem, 0, len(writes)+1)
	items = append(items, types.TransactWriteItem{Update: s.completeUpdate(key, token, result, expiresAt)})
	items = append(items, writes...)
	var err error
	backoff := conflictBackoff
	for attempt := 1; ; attempt++ {
		_, err = s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if attempt == conflictAttempts || !isTransactionConflict(err) {
			break
		}
		if werr := sleepJittered(ctx, backoff); werr != nil {
			return fmt.Errorf("complete-tx %s: %w (while backing off: %w)", key, err, werr)
		}
		backoff *= 2
	}
	var canceled *types.TransactionCanceledException
	if err == nil || !errors.As(err, &canceled) {
		return fenced("complete-tx", key, err)
	}
	for i, r := range canceled.CancellationReasons {
		code := aws.ToString(r.Code)
		switch {
		case code == "" || code == "None":
			continue
		case i == 0 && code == "ConditionalCheckFailed" && completedBy(r.Item, token):
			return nil // a retried request whose first attempt committed it all
		case i == 0 && code == "ConditionalCheckFailed":
			return fmt.Errorf("complete-tx %s: %w", key, idempotency.ErrLeaseLost)
		case i > 0:
			return fmt.Errorf("complete-tx %s: %w", key, &WriteCanceledError{Index: i - 1, Code: code, Message: aws.ToString(r.Message)})
		}
	}
	return fmt.Errorf("complete-tx %s: %w", key, err)
}

// A transaction cancelled by a TransactionConflict (another transaction on
// the same item, such as a hot balance) wrote nothing and may be retried at
// once; the SDK's retryer does not retry it.
const (
	conflictAttempts = 5
	conflictBackoff  = 5 * time.Millisecond
)

func isTransactionConflict(err error) bool {
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) {
		return false
	}
	for _, r := range canceled.CancellationReasons {
		if aws.ToString(r.Code) == "TransactionConflict" {
			return true
		}
	}
	return false
}

// sleepJittered waits between d/2 and d, or until ctx ends.
func sleepJittered(ctx context.Context, d time.Duration) error {
	return sleep.For(ctx, d/2+rand.N(d/2+1))
}
