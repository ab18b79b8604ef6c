package bench

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/backoff"
)

// ModelDB models DynamoDB for throughput: every call waits Latency (or until
// its context ends) and succeeds with an empty output, and calls run in
// parallel without limit. It has no items and checks no conditions, so it
// models the path of new messages only. It implements dynamostore.API and
// ledger.TransactWriter.
//
// With Conflicts, it refuses a transaction that touches an item another
// transaction in flight holds, as DynamoDB does: the transaction is
// cancelled with the reason TransactionConflict after its latency.
type ModelDB struct {
	Latency   time.Duration
	Conflicts bool
	calls     atomic.Int64
	conflicts atomic.Int64

	mu    sync.Mutex
	inUse map[string]bool
}

// Calls is the number of calls so far.
func (m *ModelDB) Calls() int64 { return m.calls.Load() }

// Conflicted is the number of transactions refused for a conflict so far.
func (m *ModelDB) Conflicted() int64 { return m.conflicts.Load() }

func (m *ModelDB) wait(ctx context.Context) error {
	m.calls.Add(1)
	return backoff.Sleep(ctx, m.Latency)
}

// PutItem waits and succeeds.
func (m *ModelDB) PutItem(ctx context.Context, _ *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return &dynamodb.PutItemOutput{}, m.wait(ctx)
}

// UpdateItem waits and succeeds.
func (m *ModelDB) UpdateItem(ctx context.Context, _ *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return &dynamodb.UpdateItemOutput{}, m.wait(ctx)
}

// DeleteItem waits and succeeds.
func (m *ModelDB) DeleteItem(ctx context.Context, _ *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return &dynamodb.DeleteItemOutput{}, m.wait(ctx)
}

// GetItem waits and finds nothing.
func (m *ModelDB) GetItem(ctx context.Context, _ *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{}, m.wait(ctx)
}

// TransactWriteItems waits and succeeds, or with Conflicts is cancelled
// when another transaction in flight holds one of its items.
func (m *ModelDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if !m.Conflicts {
		return &dynamodb.TransactWriteItemsOutput{}, m.wait(ctx)
	}
	ids := make([]string, len(in.TransactItems))
	for i, it := range in.TransactItems {
		ids[i] = itemOf(it)
	}
	m.mu.Lock()
	if m.inUse == nil {
		m.inUse = map[string]bool{}
	}
	clash := -1
	for i, id := range ids {
		if m.inUse[id] {
			clash = i
			break
		}
	}
	if clash < 0 {
		for _, id := range ids {
			m.inUse[id] = true
		}
	}
	m.mu.Unlock()
	err := m.wait(ctx)
	if clash >= 0 {
		m.conflicts.Add(1)
		reasons := make([]types.CancellationReason, len(ids))
		for i := range reasons {
			reasons[i].Code = aws.String("None")
		}
		reasons[clash].Code = aws.String("TransactionConflict")
		return nil, &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: reasons}
	}
	m.mu.Lock()
	for _, id := range ids {
		delete(m.inUse, id)
	}
	m.mu.Unlock()
	return &dynamodb.TransactWriteItemsOutput{}, err
}

// itemOf names the item a transaction item writes.
func itemOf(it types.TransactWriteItem) string {
	switch {
	case it.Put != nil: // the tables here are keyed by id, or by account and entry
		return aws.ToString(it.Put.TableName) + keyString(map[string]types.AttributeValue{
			"id": it.Put.Item["id"], "account": it.Put.Item["account"], "entry": it.Put.Item["entry"]})
	case it.Update != nil:
		return aws.ToString(it.Update.TableName) + keyString(it.Update.Key)
	case it.Delete != nil:
		return aws.ToString(it.Delete.TableName) + keyString(it.Delete.Key)
	case it.ConditionCheck != nil:
		return aws.ToString(it.ConditionCheck.TableName) + keyString(it.ConditionCheck.Key)
	}
	return ""
}

// keyString spells a key's string and number attributes, in name order.
func keyString(key map[string]types.AttributeValue) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(key)) {
		switch v := key[name].(type) {
		case *types.AttributeValueMemberS:
			fmt.Fprintf(&b, "/%s=S%s", name, v.Value)
		case *types.AttributeValueMemberN:
			fmt.Fprintf(&b, "/%s=N%s", name, v.Value)
		}
	}
	return b.String()
}
