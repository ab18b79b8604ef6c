package batch_test

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// maxFuzzRecords keeps each fuzz input cheap.
const maxFuzzRecords = 64

// FuzzHandler feeds arbitrary SQS event JSON to a processor whose handler
// succeeds, fails, fails permanently (half the DLQ sends fail) or panics
// depending on the record. The processor must never panic, and its response
// must name only message IDs of the batch, each at most once.
func FuzzHandler(f *testing.F) {
	f.Add([]byte(`{"Records":[{"messageId":"a","body":"x"},{"messageId":"a","body":"y"}]}`), false)
	f.Add([]byte(`{"Records":[{"messageId":"a","eventSourceARN":"arn:aws:sqs:us-east-1:1:q.fifo","attributes":{"MessageGroupId":"g"}},{"messageId":"b","eventSourceARN":"arn:aws:sqs:us-east-1:1:q.fifo","attributes":{"MessageGroupId":"g"}}]}`), true)
	f.Fuzz(func(t *testing.T, data []byte, strict bool) {
		var ev events.SQSEvent
		if json.Unmarshal(data, &ev) != nil {
			return
		}
		if len(ev.Records) > maxFuzzRecords {
			ev.Records = ev.Records[:maxFuzzRecords]
		}
		mode := batch.FIFOSkipGroup
		if strict {
			mode = batch.FIFOStrict
		}
		p := newProcessor(t, fuzzHandle, batch.Config{
			Concurrency: 4,
			FIFOMode:    mode,
			BreakAfter:  5,
			DLQ:         &batch.DLQ{Client: &recordingSender{failIf: oddBody}, QueueURL: "https://sqs/dlq"},
		})
		report, err := p.Process(context.Background(), ev)
		inBatch := batchIDs(ev)
		if err != nil {
			require.ErrorIs(t, err, batch.ErrMissingMessageID)
			require.True(t, inBatch[""], "only a record without an ID rejects the batch")
			require.Empty(t, report.Response.BatchItemFailures)
			return
		}
		require.NotNil(t, report.Response.BatchItemFailures)
		reported := make(map[string]bool)
		for _, id := range failed(report.Response) {
			require.True(t, inBatch[id], "identifier %q is not in the batch", id)
			require.False(t, reported[id], "identifier %q reported twice", id)
			reported[id] = true
		}
		require.Equal(t, len(ev.Records), report.Counts.Records)
		require.Equal(t, len(inBatch), len(ev.Records)-report.Counts.Duplicates)
		require.Equal(t, len(reported), report.Counts.Reported)
	})
}

// fuzzHandle picks a behaviour from a hash of the message ID.
func fuzzHandle(_ context.Context, msg events.SQSMessage) error {
	h := fnv.New32a()
	_, _ = h.Write([]byte(msg.MessageId))
	switch h.Sum32() % 5 {
	case 0:
		return errBoom
	case 1:
		return batch.Permanent(errBoom)
	case 2:
		panic("fuzzed panic")
	}
	return nil
}

// oddBody fails the DLQ send of every body of odd length.
func oddBody(in *sqs.SendMessageInput) bool { return len(aws.ToString(in.MessageBody))%2 == 1 }
