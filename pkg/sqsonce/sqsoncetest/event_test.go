package sqsoncetest_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/sqsoncetest"
)

// TestEvent checks the records Event and FIFOEvent build against what SQS
// sets (MD5s of events/fifo-two-groups.json's first record, which SQS
// computed).
func TestEvent(t *testing.T) {
	t.Parallel()
	const body = `{"id":"evt-501","account":"acc-A","amount":100,"currency":"EUR","occurred_at":"2026-11-27T10:30:00Z"}`
	sent := time.UnixMilli(1795773630000)
	tests := []struct {
		name      string
		event     events.SQSEvent
		wantID    string
		wantARN   string
		wantAttrs map[string]string
		wantMD5MA string
	}{
		{
			name:    "standard queue, defaults",
			event:   sqsoncetest.Event(sqsoncetest.Msg{Body: body, SentAt: sent}),
			wantID:  "m-1",
			wantARN: string(sqsoncetest.QueueARN),
			wantAttrs: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1795773630000",
				"SenderId": sqsoncetest.SenderID, "ApproximateFirstReceiveTimestamp": "1795773630000"},
		},
		{
			name: "standard queue, every field",
			event: sqsoncetest.Event(sqsoncetest.Msg{Body: body, SentAt: sent, ID: "id-1", ReceiveCount: 3,
				Group: "acc-A", Attributes: map[string]string{"event_id": "evt-501"}}),
			wantID:  "id-1",
			wantARN: string(sqsoncetest.QueueARN),
			wantAttrs: map[string]string{"ApproximateReceiveCount": "3", "SentTimestamp": "1795773630000",
				"SenderId": sqsoncetest.SenderID, "ApproximateFirstReceiveTimestamp": "1795773630000",
				"MessageGroupId": "acc-A"},
			wantMD5MA: "e9d7e0ebfdf825d7c6c240f9ae9a25e4",
		},
		{
			name:    "FIFO queue, defaults",
			event:   sqsoncetest.FIFOEvent(sqsoncetest.Msg{Body: body, SentAt: sent}),
			wantID:  "m-1",
			wantARN: string(sqsoncetest.FIFOQueueARN),
			wantAttrs: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1795773630000",
				"SenderId": sqsoncetest.SenderID, "ApproximateFirstReceiveTimestamp": "1795773630000",
				"MessageGroupId": "group", "SequenceNumber": "00000000000000000001",
				"MessageDeduplicationId": "b717c038bb4afc27b6da98905be9f3e4ad41915545b00e2a408dbcfe355fe6be"},
		},
		{
			name: "FIFO queue of another ARN, every field",
			event: sqsoncetest.Queue("arn:aws:sqs:eu-west-1:000000000000:orders.fifo").Event(sqsoncetest.Msg{Body: body, SentAt: sent,
				ID: "id-1", Group: "acc-A", DedupID: "evt-501", Attributes: map[string]string{"event_id": "evt-501"}}),
			wantID:  "id-1",
			wantARN: "arn:aws:sqs:eu-west-1:000000000000:orders.fifo",
			wantAttrs: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1795773630000",
				"SenderId": sqsoncetest.SenderID, "ApproximateFirstReceiveTimestamp": "1795773630000",
				"MessageGroupId": "acc-A", "MessageDeduplicationId": "evt-501", "SequenceNumber": "00000000000000000001"},
			wantMD5MA: "e9d7e0ebfdf825d7c6c240f9ae9a25e4",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Len(t, tt.event.Records, 1)
			r := tt.event.Records[0]
			require.Equal(t, tt.wantID, r.MessageId)
			require.Equal(t, body, r.Body)
			require.Equal(t, "b54b2db8d9abd6b450ef50805f450b8c", r.Md5OfBody)
			require.Equal(t, tt.wantMD5MA, r.Md5OfMessageAttributes)
			require.Equal(t, tt.wantAttrs, r.Attributes)
			require.Equal(t, tt.wantARN, r.EventSourceARN)
			require.Equal(t, "aws:sqs", r.EventSource)
			require.NotEmpty(t, r.ReceiptHandle)
			require.Equal(t, r.EventSourceARN[len("arn:aws:sqs:"):len("arn:aws:sqs:")+9], r.AWSRegion)

			// Lambda's JSON of it reads back the same.
			data, err := json.Marshal(tt.event)
			require.NoError(t, err)
			var back events.SQSEvent
			require.NoError(t, json.Unmarshal(data, &back))
			require.Equal(t, tt.event, back)
		})
	}
}

// TestEventOrder: default IDs and FIFO sequence numbers follow the order of
// the messages; a receipt handle differs per delivery.
func TestEventOrder(t *testing.T) {
	t.Parallel()
	ev := sqsoncetest.FIFOEvent(sqsoncetest.Msg{Body: "a"}, sqsoncetest.Msg{Body: "b", Group: "g2"}, sqsoncetest.Msg{Body: "a", ID: "m-1", ReceiveCount: 2})
	var ids, seqs, groups, handles []string
	for _, r := range ev.Records {
		ids = append(ids, r.MessageId)
		seqs = append(seqs, r.Attributes["SequenceNumber"])
		groups = append(groups, r.Attributes["MessageGroupId"])
		handles = append(handles, r.ReceiptHandle)
	}
	require.Equal(t, []string{"m-1", "m-2", "m-1"}, ids)
	require.Equal(t, []string{"00000000000000000001", "00000000000000000002", "00000000000000000003"}, seqs)
	require.Equal(t, []string{"group", "g2", "group"}, groups)
	require.NotEqual(t, handles[0], handles[2])
	require.Equal(t, ev.Records[0].Attributes["MessageDeduplicationId"], ev.Records[2].Attributes["MessageDeduplicationId"])
}

func TestQueue(t *testing.T) {
	t.Parallel()
	require.False(t, sqsoncetest.QueueARN.FIFO())
	require.True(t, sqsoncetest.FIFOQueueARN.FIFO())
	require.NotNil(t, sqsoncetest.NewStore())
}
