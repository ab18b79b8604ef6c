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

var _ idempotency.BatchCompleter = (*Store)(nil)

// CompleteBatch implements idempotency.BatchCompleter: the completions go
// in TransactWriteItems of up to MaxActionsPerTx updates (and MaxTxSize
// estimated bytes), each Complete's fenced update (the record INPROGRESS
// under the input's token). A transaction is all or nothing, so when one
// condition fails its cancellation reasons (with the existing items,
// ALL_OLD) tell which: those are judged as Complete judges them (a record
// already COMPLETED under the token was completed by an earlier attempt;
// otherwise ErrLeaseLost), an update DynamoDB refuses as invalid fails
// alone, and the rest are sent again at once. A transaction cancelled for
// contention is sent again after a jittered backoff; one that fails
// otherwise, or still after a few rounds, leaves its inputs with that
// error. A single completion left goes as Complete's UpdateItem.
//
// Cost: an update in a transaction consumes twice the write units of an
// UpdateItem, so a completion costs 2 WRU instead of 1; in exchange a
// batch of 100 completions costs one round trip instead of 100.
func (s *Store) CompleteBatch(ctx context.Context, in []idempotency.CompleteInput) []error {
	out := make([]error, len(in))
	sem := make(chan struct{}, s.txs)
	var wg sync.WaitGroup
	for _, chunk := range s.packCompletions(in) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s.completeChunk(ctx, in, chunk, out)
		})
	}
	wg.Wait()
	return out
}

// packCompletions cuts in into transactions of at most MaxActionsPerTx
// updates and MaxTxSize estimated bytes, as indexes into in.
func (s *Store) packCompletions(in []idempotency.CompleteInput) [][]int {
	var chunks [][]int
	var cur []int
	size := 0
	for i, c := range in {
		n := Update(s.completeUpdate(c.Key, c.Token, c.Result, c.ExpiresAt)).size()
		if len(cur) == MaxActionsPerTx || (len(cur) > 0 && size+n > MaxTxSize) {
			chunks, cur, size = append(chunks, cur), nil, 0
		}
		cur, size = append(cur, i), size+n
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// completeChunk completes the inputs at pending, filling out.
func (s *Store) completeChunk(ctx context.Context, in []idempotency.CompleteInput, pending []int, out []error) {
	retry := s.retries()
	var err error
	for len(pending) > 0 {
		if len(pending) == 1 { // 1 WRU, not 2
			c := in[pending[0]]
			out[pending[0]] = s.Complete(ctx, c.Key, c.Token, c.Result, c.ExpiresAt)
			return
		}
		items := make([]types.TransactWriteItem, len(pending))
		for j, i := range pending {
			items[j] = types.TransactWriteItem{Update: s.completeUpdate(in[i].Key, in[i].Token, in[i].Result, in[i].ExpiresAt)}
		}
		_, err = s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			for _, i := range pending {
				out[i] = nil
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
			switch code := aws.ToString(r.Code); {
			case code == "" || code == "None" || isContention(code):
				rest = append(rest, i)
			case code == "ConditionalCheckFailed" && s.completedBy(r.Item, in[i].Token):
				out[i] = nil // an earlier attempt of this completion committed
			case code == "ConditionalCheckFailed":
				out[i] = fmt.Errorf("complete %s: %w", in[i].Key, idempotency.ErrLeaseLost)
			default: // ValidationError and the like: this update alone is refused
				out[i] = fmt.Errorf("complete %s: refused in a transaction: %s: %s", in[i].Key, code, aws.ToString(r.Message))
			}
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
		out[i] = fmt.Errorf("complete %s in a batch: %w", in[i].Key, err)
	}
}
