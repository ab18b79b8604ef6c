package awstest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableSpec describes a table to create. SortKey and TTLAttribute are optional.
type TableSpec struct {
	PartitionKey string
	SortKey      string
	TTLAttribute string
}

// IdempotencyTable is the layout of sqsonce's idempotency table: partition key
// "id", TTL on "expiration" (Powertools-compatible).
var IdempotencyTable = TableSpec{PartitionKey: "id", TTLAttribute: "expiration"}

// LedgerTable is the layout of the example ledger table.
var LedgerTable = TableSpec{PartitionKey: "account", SortKey: "entry"}

// NewTable creates a uniquely named PAY_PER_REQUEST table with string keys,
// waits until it is active, enables TTL when the spec names an attribute, and
// deletes it when the test ends. It returns the table name.
func NewTable(t testing.TB, client *dynamodb.Client, spec TableSpec) string {
	t.Helper()
	ctx := context.Background()
	name := UniqueName("sqsonce-test")
	attrs := []types.AttributeDefinition{{AttributeName: aws.String(spec.PartitionKey), AttributeType: types.ScalarAttributeTypeS}}
	schema := []types.KeySchemaElement{{AttributeName: aws.String(spec.PartitionKey), KeyType: types.KeyTypeHash}}
	if spec.SortKey != "" {
		attrs = append(attrs, types.AttributeDefinition{AttributeName: aws.String(spec.SortKey), AttributeType: types.ScalarAttributeTypeS})
		schema = append(schema, types.KeySchemaElement{AttributeName: aws.String(spec.SortKey), KeyType: types.KeyTypeRange})
	}
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: attrs,
		KeySchema:            schema,
		BillingMode:          types.BillingModePayPerRequest,
	})
	var exists *types.ResourceInUseException
	if err != nil && !errors.As(err, &exists) {
		t.Fatalf("create table %s: %v", name, err)
	}
	// The name is random, so an existing table is our own: the SDK retried a
	// CreateTable whose first attempt succeeded but whose answer was lost
	// (seen on a loaded moto).
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = 500 * time.Millisecond
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 2*time.Minute); err != nil {
		t.Fatalf("wait for table %s: %v", name, err)
	}
	if spec.TTLAttribute != "" {
		_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName: aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{
				AttributeName: aws.String(spec.TTLAttribute),
				Enabled:       aws.Bool(true),
			},
		})
		if err != nil {
			t.Fatalf("enable TTL on %s: %v", name, err)
		}
	}
	return name
}
