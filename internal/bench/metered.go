package bench

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sqsonce/sqsonce/pkg/idempotency/dynamostore"
)

// Metered counts the requests a consumer makes and the write request units
// they cost: an item of at most 1 KB costs 1 WRU in a PutItem, UpdateItem or
// DeleteItem and 2 WRU in a TransactWriteItems (a ConditionCheck too).
// Conditional writes whose condition fails are charged as if they wrote
// (DynamoDB charges them). Every item of the ledger and of the idempotency
// table is under 1 KB.
type Metered struct {
	dynamostore.API
	mu       sync.Mutex
	requests map[string]int
	wru      int
}

// NewMetered wraps api.
func NewMetered(api dynamostore.API) *Metered {
	return &Metered{API: api, requests: map[string]int{}}
}

func (m *Metered) charge(op string, wru int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[op]++
	m.wru += wru
}

// Reset forgets the counts so far.
func (m *Metered) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.requests)
	m.wru = 0
}

// Counts returns the requests by operation and the write units so far.
func (m *Metered) Counts() (map[string]int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.requests))
	for k, v := range m.requests {
		out[k] = v
	}
	return out, m.wru
}

// PutItem is counted, 1 WRU.
func (m *Metered) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	m.charge("PutItem", 1)
	return m.API.PutItem(ctx, in, o...)
}

// UpdateItem is counted, 1 WRU.
func (m *Metered) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	m.charge("UpdateItem", 1)
	return m.API.UpdateItem(ctx, in, o...)
}

// DeleteItem is counted, 1 WRU.
func (m *Metered) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	m.charge("DeleteItem", 1)
	return m.API.DeleteItem(ctx, in, o...)
}

// GetItem is counted, no WRU.
func (m *Metered) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	m.charge("GetItem", 0)
	return m.API.GetItem(ctx, in, o...)
}

// TransactWriteItems is counted, 2 WRU per item.
func (m *Metered) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	m.charge("TransactWriteItems", 2*len(in.TransactItems))
	return m.API.TransactWriteItems(ctx, in, o...)
}
