package esm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// streamTable creates a table with a NEW_IMAGE stream and returns its name
// and the stream's ARN.
func streamTable(t *testing.T, db *dynamodb.Client) (table, arn string) {
	t.Helper()
	table = awstest.NewTable(t, db, awstest.TableSpec{PartitionKey: "pk", SortKey: "sk"})
	out, err := db.UpdateTable(context.Background(), &dynamodb.UpdateTableInput{TableName: aws.String(table),
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage}})
	require.NoError(t, err)
	arn = aws.ToString(out.TableDescription.LatestStreamArn)
	require.NotEmpty(t, arn)
	return table, arn
}

// streamRecorder is a function that records the sequence numbers of each batch
// and reports as failed, once, the record whose sk is failOnce.
type streamRecorder struct {
	mu       sync.Mutex
	batches  [][]string // sk of each record, per invocation
	failOnce string
	failed   bool
}

func (r *streamRecorder) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var sks []string
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	for _, rec := range ev.Records {
		sk := rec.Change.NewImage["sk"].String()
		sks = append(sks, sk)
		if sk == r.failOnce && !r.failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
			r.failed = true
		}
	}
	r.batches = append(r.batches, sks)
	return json.Marshal(resp)
}

func (r *streamRecorder) seen() (all []string, batches int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.batches {
		all = append(all, b...)
	}
	return all, len(r.batches)
}

// The stream mapping hands every record to the function in commit order,
// and resumes a batch with a reported failure from that record: nothing
// before it again, nothing skipped.
func TestStreamMappingResumesFromTheFirstFailure(t *testing.T) {
	t.Parallel()
	db := awstest.DynamoDB(t)
	table, arn := streamTable(t, db)
	for i := range 6 {
		_, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "p"}, "sk": &types.AttributeValueMemberS{Value: fmt.Sprint(i)},
		}})
		require.NoError(t, err)
	}
	fn := &streamRecorder{failOnce: "3"}
	m, err := esm.NewStream(esm.StreamConfig{StreamARN: arn, Client: dynamodbstreams.NewFromConfig(awstest.Config(t)), Invoker: fn,
		BatchSize: 10, PollInterval: 20 * time.Millisecond, RetryBackoff: time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	require.Eventually(t, func() bool { return m.Stats().Records == 6 }, 30*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	all, batches := fn.seen()
	require.Equal(t, []string{"0", "1", "2", "3", "4", "5", "3", "4", "5"}, all)
	require.Equal(t, 2, batches)
	require.Equal(t, int64(1), m.Stats().Retried)
}
