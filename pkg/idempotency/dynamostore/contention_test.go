package dynamostore_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
)

// refusing cancels the first n transactions for contention with code, as
// DynamoDB does for a hot item or a table without capacity, then passes
// them to the real client.
type refusing struct {
	dynamostore.API
	code  string
	n     int32
	calls atomic.Int32
}

func (r *refusing) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if r.calls.Add(1) > r.n {
		return r.API.TransactWriteItems(ctx, in, opts...)
	}
	reasons := make([]types.CancellationReason, len(in.TransactItems))
	for i := range reasons {
		reasons[i].Code = aws.String("None")
	}
	reasons[0].Code = aws.String(r.code)
	return nil, &types.TransactionCanceledException{Message: aws.String("cancelled"), CancellationReasons: reasons}
}

// sleeps records the backoffs instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

// Throttled and conflicting transactions are sent again after a growing,
// jittered backoff, for claims and for commits; what outlasts the retries
// is contention (idempotency.ErrContended), not a store failure.
func TestContentionIsRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	table := awstest.NewTable(t, client, awstest.IdempotencyTable)
	now := time.Now()
	for _, code := range []string{"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			for _, op := range []string{"claim", "commit"} {
				api := &refusing{API: client, code: code, n: 3}
				store, err := dynamostore.New(api, table)
				require.NoError(t, err)
				var s sleeps
				dynamostore.SetSleep(store, s.sleep)
				key := idempotency.StoredKey(code, op)
				var outcome error
				if op == "claim" {
					out, err := store.ClaimBatch(context.Background(), []idempotency.ClaimInput{{Key: key, Token: "t", Now: now, LeaseUntil: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour)}})
					require.NoError(t, err)
					outcome = out[0].Err
				} else {
					outcome = store.CommitBatch(context.Background(), []idempotency.CommitInput[dynamostore.Write]{{Key: key, Now: now, ExpiresAt: now.Add(time.Hour)}})[0].Err
				}
				require.NoError(t, outcome, op)
				require.EqualValues(t, 4, api.calls.Load(), "%s: three refusals, then success", op)
				require.Len(t, s.d, 3, op)
				for i, d := range s.d {
					max := 10 * time.Millisecond << i
					require.True(t, d >= max/2 && d <= max, "%s: backoff %d is %s, want between %s and %s", op, i, d, max/2, max)
				}
			}
		})
	}
	t.Run("outlasting the retries", func(t *testing.T) {
		t.Parallel()
		api := &refusing{API: client, code: "TransactionConflict", n: 1000}
		store, err := dynamostore.New(api, table)
		require.NoError(t, err)
		var s sleeps
		dynamostore.SetSleep(store, s.sleep)
		out := store.CommitBatch(context.Background(), []idempotency.CommitInput[dynamostore.Write]{{Key: "hot", Now: now, ExpiresAt: now.Add(time.Hour)}})
		require.ErrorIs(t, out[0].Err, idempotency.ErrContended)
		require.NotErrorIs(t, out[0].Err, idempotency.ErrStoreFailed)
		require.EqualValues(t, 8, api.calls.Load())
		require.Len(t, s.d, 7)
	})
}
