package batch_test

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// TestPermanentToDLQ sends permanent failures to a real dead-letter queue on
// the local SQS, through the real SDK.
func TestPermanentToDLQ(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	tests := []struct {
		name     string
		fifo     bool
		sendErr  error // injected by a wrapping client
		failures []string
		outcome  batch.Outcome
	}{
		{name: "standard queue", failures: []string{}, outcome: batch.OutcomeSentToDLQ},
		{name: "FIFO queue", fifo: true, failures: []string{}, outcome: batch.OutcomeSentToDLQ},
		{name: "send fails: reported instead", sendErr: errBoom, failures: []string{"perm-2"}, outcome: batch.OutcomeDLQFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := awstest.NewQueue(t, client, awstest.QueueSpec{FIFO: tc.fifo})
			sender := &recordingSender{err: tc.sendErr, next: client}
			p := newProcessor(t, (&scripted{}).handle, batch.Config{
				DLQ: dlqFor(sender, q.DLQURL, tc.fifo),
			})
			ev := standard("ok-1", "perm-2")
			if tc.fifo {
				ev = withARN(ev, q.ARN)
				for i := range ev.Records {
					ev.Records[i].Attributes = map[string]string{"MessageGroupId": "g-1"}
				}
			}
			ev.Records[1].MessageAttributes = map[string]events.SQSMessageAttribute{
				"tenant":  {DataType: "String", StringValue: aws.String("t-1")},
				"payload": {DataType: "Binary", BinaryValue: []byte{0, 1, 2}},
			}

			report, err := p.Process(context.Background(), ev)
			require.NoError(t, err)
			require.Equal(t, tc.failures, failed(report.Response))
			got, _ := report.Outcome("perm-2")
			require.Equal(t, tc.outcome, got)
			require.Len(t, sender.inputs(), 1)

			out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
				QueueUrl:                    aws.String(q.DLQURL),
				MaxNumberOfMessages:         10,
				MessageAttributeNames:       []string{"All"},
				MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
				WaitTimeSeconds:             waitSeconds(tc.sendErr == nil),
			})
			require.NoError(t, err)
			if tc.sendErr != nil {
				require.Empty(t, out.Messages, "nothing reaches the DLQ when the send fails")
				return
			}
			require.Len(t, out.Messages, 1)
			m := out.Messages[0]
			require.Equal(t, "perm-2", aws.ToString(m.Body))
			attrs := m.MessageAttributes
			require.Contains(t, aws.ToString(attrs[batch.AttrError].StringValue), "malformed body")
			require.Equal(t, batch.ClassPermanent, aws.ToString(attrs[batch.AttrErrorClass].StringValue))
			require.Equal(t, "perm-2", aws.ToString(attrs[batch.AttrSourceMessageID].StringValue))
			require.Equal(t, "t-1", aws.ToString(attrs["tenant"].StringValue))
			require.Equal(t, []byte{0, 1, 2}, attrs["payload"].BinaryValue)
			if tc.fifo {
				require.Equal(t, "g-1", m.Attributes["MessageGroupId"])
			}
		})
	}
}

// waitSeconds long-polls when a message is expected, so the test waits for
// the queue, never for a fixed time.
func waitSeconds(expectMessage bool) int32 {
	if expectMessage {
		return 10
	}
	return 0
}

// dlqFor configures url as the DLQ of its kind of queue.
func dlqFor(sender batch.Sender, url string, fifo bool) *batch.DLQ {
	if fifo {
		return &batch.DLQ{Client: sender, FIFOQueueURL: url}
	}
	return &batch.DLQ{Client: sender, QueueURL: url}
}

// A fair queue (a standard queue whose records carry MessageGroupId) sends
// its permanent failures to the standard DLQ, without a group.
func TestFairQueueUsesTheStandardDLQ(t *testing.T) {
	t.Parallel()
	sender := &recordingSender{}
	p := newProcessor(t, (&scripted{}).handle, batch.Config{DLQ: &batch.DLQ{Client: sender, QueueURL: "https://sqs/dlq"}})
	ev := standard("perm-1")
	ev.Records[0].Attributes = map[string]string{"MessageGroupId": "tenant-1"}
	report, err := p.Process(context.Background(), ev)
	require.NoError(t, err)
	require.Empty(t, report.Response.BatchItemFailures)
	o, _ := report.Outcome("perm-1")
	require.Equal(t, batch.OutcomeSentToDLQ, o)
	in := sender.inputs()
	require.Len(t, in, 1)
	require.Equal(t, "https://sqs/dlq", aws.ToString(in[0].QueueUrl))
	require.Nil(t, in[0].MessageGroupId)
}

// A record whose kind of queue has no DLQ is reported, not dropped: one
// consumer may serve a standard and a FIFO queue with only one DLQ set.
func TestDLQOfTheOtherKindIsReported(t *testing.T) {
	t.Parallel()
	sender := &recordingSender{}
	p := newProcessor(t, (&scripted{}).handle, batch.Config{DLQ: &batch.DLQ{Client: sender, QueueURL: "https://sqs/dlq"}})
	ev := fifo("perm-1")
	report, err := p.Process(context.Background(), ev)
	require.NoError(t, err)
	require.Equal(t, []events.SQSBatchItemFailure{{ItemIdentifier: "perm-1"}}, report.Response.BatchItemFailures)
	o, _ := report.Outcome("perm-1")
	require.Equal(t, batch.OutcomeDLQFailed, o)
	require.Empty(t, sender.inputs())
}
