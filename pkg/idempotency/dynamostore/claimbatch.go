package dynamostore

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

var _ idempotency.BatchClaimer = (*Store)(nil)

// MaxClaimsPerTx is how many claims ClaimBatch puts in one transaction:
// DynamoDB's limit of actions per TransactWriteItems.
const MaxClaimsPerTx = 100

// ClaimBatch implements idempotency.BatchClaimer: the claims go in
// TransactWriteItems of up to MaxClaimsPerTx conditional puts (Claim's
// condition). A transaction is all or nothing, so when keys conflict its
// cancellation reasons (with the existing items, ALL_OLD) tell which: those
// are judged as Claim judges them, and the rest are claimed again. A chunk
// that still fails after a few rounds (contention, a store error) leaves its
// inputs with an error outcome: their work then claims them one by one.
//
// Cost: a transactional write consumes twice the write units of a PutItem,
// so a claim costs 2 WRU instead of 1; in exchange a batch of 100 claims
// costs one round trip instead of 100.
func (s *Store) ClaimBatch(ctx context.Context, in []idempotency.ClaimInput) ([]idempotency.ClaimOutcome, error) {
	out := make([]idempotency.ClaimOutcome, len(in))
	sem := make(chan struct{}, s.txs)
	var wg sync.WaitGroup
	for start := 0; start < len(in); start += MaxClaimsPerTx {
		end := min(start+MaxClaimsPerTx, len(in))
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s.claimChunk(ctx, in[start:end], out[start:end])
		})
	}
	wg.Wait()
	return out, nil
}

// claimChunk claims up to MaxClaimsPerTx inputs, filling out. Claims whose
// condition failed are judged from the existing item and dropped, and the
// rest are sent again at once; a transaction cancelled for contention
// (conflicts, throttling) is sent again after a jittered backoff. Inputs
// still pending when that gives up, or after another error, get an error
// outcome: sqsonce then claims them again with the same owner token.
func (s *Store) claimChunk(ctx context.Context, in []idempotency.ClaimInput, out []idempotency.ClaimOutcome) {
	pending := make([]int, len(in))
	for i := range pending {
		pending[i] = i
	}
	retry := s.retries()
	var err error
	for len(pending) > 0 {
		items := make([]types.TransactWriteItem, len(pending))
		for j, i := range pending {
			items[j] = types.TransactWriteItem{Put: s.claimPut(s.l.claimItem(in[i]), in[i].Now)}
		}
		_, err = s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			for _, i := range pending {
				out[i].Record, out[i].Err = s.l.decode(s.l.claimItem(in[i]))
			}
			return
		}
		reasons, ok := cancellation(err)
		if !ok || len(reasons) != len(pending) {
			break
		}
		var rest []int
		for j, i := range pending {
			r := reasons[j]
			if aws.ToString(r.Code) != "ConditionalCheckFailed" {
				rest = append(rest, i)
				continue
			}
			if r.Item == nil { // the endpoint ignored ALL_OLD: let Claim read it
				out[i].Err = fmt.Errorf("claim %s: conflict without the existing record", in[i].Key)
				continue
			}
			rec, derr := s.l.decode(r.Item)
			if derr != nil {
				out[i].Err = fmt.Errorf("claim %s: decode existing record: %w", in[i].Key, derr)
				continue
			}
			out[i].Record, out[i].Err = rec, idempotency.JudgeConflict(rec, in[i])
		}
		if len(rest) == len(pending) { // no progress: only contention is worth another try
			if !contended(reasons) {
				break
			}
			if werr := retry.wait(ctx, err); werr != nil {
				err = werr
				break
			}
		}
		pending = rest
	}
	for _, i := range pending {
		out[i].Err = fmt.Errorf("claim %s in a batch: %w", in[i].Key, err)
	}
}
