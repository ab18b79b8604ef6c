package sqsonce_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// OnRecord sees every record of a batch with its outcome, class, key and
// result; OnBatchFailed turns a batch whose every record failed into a
// function error (so Lambda backs off), and is not called otherwise.
func TestHooks(t *testing.T) {
	t.Parallel()
	var seen []sqsonce.Record[int]
	var failedBatches int
	errBackOff := errors.New("back off")
	h, err := sqsonce.New(memstore.New(), byID, func(_ context.Context, o order) (int, error) { return int(o.Qty) * 10, nil },
		sqsonce.Config{KeyPrefix: "hooks", Logger: quiet()},
		sqsonce.OnRecord(func(_ context.Context, r sqsonce.Record[int]) { seen = append(seen, r) }),
		sqsonce.OnBatchFailed(func(_ context.Context, r sqsonce.Report[int]) error {
			failedBatches++
			require.Len(t, r.Response.BatchItemFailures, 2)
			return errBackOff
		}))
	require.NoError(t, err)

	_, err = h.Process(context.Background(), batch(standardARN, rec{msgID: "m1", o: order{"o1", "x", 1}}, rec{msgID: "m2", body: "{"}))
	require.NoError(t, err, "a batch with a success is answered with its failures")
	require.Zero(t, failedBatches)
	require.Len(t, seen, 2)
	require.Equal(t, sqsonce.Record[int]{MessageID: "m1", Key: "o1", Outcome: sqsonce.OutcomeSucceeded, Idempotency: sqsonce.IdempotencyExecuted, Result: 10}, seen[0])
	require.Equal(t, sqsonce.OutcomePermanent, seen[1].Outcome)
	require.Equal(t, sqsonce.ClassInvalid, seen[1].Class)
	require.Error(t, seen[1].Err)

	seen = nil
	report, err := h.Process(context.Background(), batch(standardARN, rec{msgID: "m3", body: "{"}, rec{msgID: "m4", o: order{"", "x", 1}}))
	require.ErrorIs(t, err, errBackOff, "every record failed: the hook's error fails the invocation")
	require.Equal(t, 1, failedBatches)
	require.Len(t, report.Response.BatchItemFailures, 2)
	require.Len(t, seen, 2)

	seen = nil
	report, err = h.Process(context.Background(), batch(standardARN, rec{msgID: "m5", o: order{"o1", "x", 1}}))
	require.NoError(t, err)
	require.Equal(t, sqsonce.Record[int]{MessageID: "m5", Key: "o1", Outcome: sqsonce.OutcomeSucceeded, Idempotency: sqsonce.IdempotencyReplayed, Result: 10, FromCache: true}, seen[0],
		"a duplicate's hook sees the replayed result")
	require.Equal(t, 1, report.Counts.Replayed)
}

// NewDynamoDB: a redelivered batch's records carry the result each stored
// with its record, decoded.
func TestDynamoDBReplayCarriesTheStoredResult(t *testing.T) {
	t.Parallel()
	o := newOrders(t, nil)
	h := o.handler(t, sqsonce.Config{CacheSize: -1})
	ev := batch(standardARN, rec{msgID: "m1", o: order{"o1", "x", 1}}, rec{msgID: "m2", o: order{"o2", "x", 2}})
	first, err := h.Process(context.Background(), ev)
	require.NoError(t, err)
	again, err := h.Process(context.Background(), ev)
	require.NoError(t, err)
	for i, id := range []string{"o1", "o2"} {
		require.Equal(t, sqsonce.IdempotencyExecuted, first.Records[i].Idempotency)
		require.Equal(t, orderReceipt{Order: id}, first.Records[i].Result)
		require.Equal(t, sqsonce.IdempotencyReplayed, again.Records[i].Idempotency)
		require.Equal(t, orderReceipt{Order: id}, again.Records[i].Result, "the duplicate gets the stored result, decoded")
		require.False(t, again.Records[i].FromCache)
	}
}
