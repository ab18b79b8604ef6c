package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
)

// pack sorts msgs by account (so an account's events share one balance
// increment and transactions rarely touch the same balance item) and cuts
// them into transactions of at most max actions: two per message (its
// record and its entry) and one per account.
func pack(msgs []*batchMsg, max int) [][]*batchMsg {
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].ev.Account < msgs[j].ev.Account })
	var chunks [][]*batchMsg
	var cur []*batchMsg
	actions, last := 0, ""
	for _, m := range msgs {
		need := 2
		if len(cur) == 0 || m.ev.Account != last {
			need = 3
		}
		if actions+need > max {
			chunks = append(chunks, cur)
			cur, actions, need = nil, 0, 3
		}
		cur = append(cur, m)
		actions += need
		last = m.ev.Account
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// action says what a transaction item does for which message.
type action struct {
	m      *batchMsg // nil for a balance increment
	record bool      // the idempotency record; otherwise the entry
}

// transaction builds the items of one attempt over the live messages.
func (b *BatchConsumer) transaction(live []*batchMsg, now time.Time) ([]types.TransactWriteItem, []action) {
	items := make([]types.TransactWriteItem, 0, len(live)*2+8)
	acts := make([]action, 0, cap(items))
	type sum struct{ amount, count int64 }
	sums := map[string]*sum{}
	var accounts []string
	expiresAt := now.Add(b.cfg.TTL)
	for _, m := range live {
		put := dynamostore.CompletedPut(b.cfg.IdempotencyTable, dynamostore.CompletedInput{
			Key: m.key, PayloadHash: m.hash, Result: m.result, Now: now, ExpiresAt: expiresAt,
		})
		items = append(items, types.TransactWriteItem{Put: put}, Writes(b.cfg.Table, m.ev)[0])
		acts = append(acts, action{m: m, record: true}, action{m: m})
		s := sums[m.ev.Account]
		if s == nil {
			s = &sum{}
			sums[m.ev.Account] = s
			accounts = append(accounts, m.ev.Account)
		}
		s.amount += m.ev.Amount
		s.count++
	}
	for _, a := range accounts {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(b.cfg.Table),
			Key:                       map[string]types.AttributeValue{AttrAccount: s(a), AttrEntry: s(balanceEntry)},
			UpdateExpression:          aws.String("ADD #balance :amount, #entries :count"),
			ExpressionAttributeNames:  map[string]string{"#balance": AttrBalance, "#entries": AttrEntries},
			ExpressionAttributeValues: map[string]types.AttributeValue{":amount": n(sums[a].amount), ":count": n(sums[a].count)},
		}})
		acts = append(acts, action{})
	}
	return items, acts
}

// commit writes a chunk, dropping the messages whose record or entry
// condition fails (duplicates, reused keys, events applied before) and
// retrying the rest, backing off on TransactionConflict. Every message of
// the chunk leaves with an outcome.
func (b *BatchConsumer) commit(ctx context.Context, chunk []*batchMsg) {
	live := chunk
	fail := func(err error) {
		for _, m := range live {
			m.outcome, m.err = failed, err
		}
	}
	backoff := b.cfg.ConflictBackoff
	conflicts, rereads := 0, 0
	for len(live) > 0 {
		if err := ctx.Err(); err != nil {
			fail(fmt.Errorf("batch transaction: %w", err))
			return
		}
		now := b.cfg.Clock()
		items, acts := b.transaction(live, now)
		b.stats.txs.Add(1)
		_, err := b.cfg.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			for _, m := range live {
				m.outcome = executed
			}
			return
		}
		var canceled *types.TransactionCanceledException
		if !errors.As(err, &canceled) {
			fail(&idempotency.StoreError{Op: "batch-complete", Key: live[0].key, Err: err})
			return
		}
		conflict, other := false, ""
		for i, r := range canceled.CancellationReasons {
			code := aws.ToString(r.Code)
			switch {
			case code == "" || code == "None":
			case code == "TransactionConflict":
				conflict = true
			case code == "ConditionalCheckFailed" && i < len(acts) && acts[i].m != nil:
				a := acts[i]
				if a.m.outcome != pending {
					continue
				}
				if a.record {
					b.judgeExisting(ctx, a.m, r.Item, now)
				} else {
					a.m.outcome = alreadyApplied // the entry exists: applied under an expired or other key
				}
			default:
				other = code + ": " + aws.ToString(r.Message)
			}
		}
		next := live[:0:0]
		for _, m := range live {
			if m.outcome == pending {
				next = append(next, m)
			}
		}
		switch {
		case len(next) < len(live): // progress: retry the rest at once
			live = next
		case other == "" && !conflict && rereads < 3:
			rereads++ // a record vanished between the failed put and its read
		case conflict && other == "" && conflicts+1 < b.cfg.ConflictAttempts:
			conflicts++
			if werr := dynamostore.SleepJittered(ctx, backoff); werr != nil {
				fail(fmt.Errorf("batch transaction: %w (while backing off: %w)", err, werr))
				return
			}
			backoff *= 2
		default:
			fail(&idempotency.StoreError{Op: "batch-complete", Key: live[0].key, Err: err})
			return
		}
	}
}

// judgeExisting decides a message whose record condition failed, from the
// existing record: returned with the cancellation (ALL_OLD), or read.
func (b *BatchConsumer) judgeExisting(ctx context.Context, m *batchMsg, item map[string]types.AttributeValue, now time.Time) {
	if item == nil {
		out, err := b.cfg.DB.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(b.cfg.IdempotencyTable), Key: dynamostore.KeyOf(m.key), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			m.outcome, m.err = failed, &idempotency.StoreError{Op: "get", Key: m.key, Err: err}
			return
		}
		if out.Item == nil {
			return // gone since: still pending, retried
		}
		item = out.Item
	}
	rec, err := dynamostore.DecodeRecord(item)
	if err != nil {
		m.outcome, m.err = failed, &idempotency.StoreError{Op: "get", Key: m.key, Err: fmt.Errorf("decode existing record: %w", err)}
		return
	}
	switch err := idempotency.JudgeConflict(rec, idempotency.ClaimInput{Key: m.key, PayloadHash: m.hash, Now: now}); {
	case errors.Is(err, idempotency.ErrAlreadyCompleted):
		m.outcome, m.cached = replayed, rec.Result
	default:
		m.outcome, m.err = failed, fmt.Errorf("claim %s: %w", m.key, err)
	}
}
