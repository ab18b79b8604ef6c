package dynamostore

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// CompletedInput describes a record written COMPLETED at once, without a
// claim: for effects that are DynamoDB writes committed in the same
// transaction (see CompletedPut).
type CompletedInput struct {
	Key         string    // the stored key (idempotency.StoredKey)
	PayloadHash string    // idempotency.PayloadHash of the payload; empty skips validation
	Result      []byte    // replayed to duplicates
	Now         time.Time // evaluates the condition
	ExpiresAt   time.Time // the record's TTL
}

// CompletedPut returns the transaction action that writes a COMPLETED record
// on table, in the same format as Claim and Complete, so Get, Claim and the
// other modes see it as any completed record. Its condition is Claim's: the
// key is absent, its record expired, or it is an abandoned claim (INPROGRESS
// past its lease, whose owner's fenced completion then fails). A failed
// condition returns the existing item (ALL_OLD) in the cancellation reason:
// decode it with DecodeRecord and judge it with idempotency.JudgeConflict.
func CompletedPut(table string, in CompletedInput) *types.Put {
	item := map[string]types.AttributeValue{
		AttrKey:        str(in.Key),
		AttrStatus:     str(string(idempotency.StatusCompleted)),
		AttrExpiration: num(in.ExpiresAt.Unix()),
	}
	if in.PayloadHash != "" {
		item[AttrPayload] = str(in.PayloadHash)
	}
	if len(in.Result) > 0 {
		item[AttrResult] = resultValue(in.Result)
	}
	return (&Store{table: table}).claimPut(item, in.Now)
}

// DecodeRecord reads an idempotency record item, as a cancellation reason's
// Item or a GetItem returns it.
func DecodeRecord(item map[string]types.AttributeValue) (idempotency.Record, error) {
	return decodeRecord(item)
}

// SleepJittered waits between d/2 and d, or until ctx ends: the backoff
// after a TransactionConflict.
func SleepJittered(ctx context.Context, d time.Duration) error { return sleepJittered(ctx, d) }

// KeyOf is the primary key of a stored key's record.
func KeyOf(key string) map[string]types.AttributeValue { return keyOf(key) }
