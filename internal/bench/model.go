package bench

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sqsonce/sqsonce/pkg/backoff"
)

// ModelDB models DynamoDB for throughput: every call waits Latency (or until
// its context ends) and succeeds with an empty output, and calls run in
// parallel without limit. It has no items and checks no conditions, so it
// models the path of new messages only. It implements dynamostore.API,
// ledger.TransactWriter and ledger.BatchAPI.
type ModelDB struct {
	Latency time.Duration
	calls   atomic.Int64
}

// Calls is the number of calls so far.
func (m *ModelDB) Calls() int64 { return m.calls.Load() }

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

// TransactWriteItems waits and succeeds.
func (m *ModelDB) TransactWriteItems(ctx context.Context, _ *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return &dynamodb.TransactWriteItemsOutput{}, m.wait(ctx)
}
