package batch_test

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// A record sent to the DLQ keeps its producer's trace context: the W3C
// traceparent message attribute and the AWSTraceHeader system attribute, so
// a redrive continues the trace the producer started.
func TestDLQKeepsTheTraceContext(t *testing.T) {
	t.Parallel()
	sender := &recordingSender{}
	p := newProcessor(t, (&scripted{}).handle, batch.Config{DLQ: &batch.DLQ{Client: sender, QueueURL: "https://sqs.local/dlq"}})
	const (
		header      = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
		traceparent = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
	)
	ev := standard("perm-1", "perm-2")
	ev.Records[0].Attributes = map[string]string{"AWSTraceHeader": header}
	ev.Records[0].MessageAttributes = map[string]events.SQSMessageAttribute{"traceparent": {DataType: "String", StringValue: aws.String(traceparent)}}
	_, err := p.Process(context.Background(), ev)
	require.NoError(t, err)
	ins := sender.inputs()
	require.Len(t, ins, 2)
	for _, in := range ins {
		if aws.ToString(in.MessageAttributes[batch.AttrSourceMessageID].StringValue) != "perm-1" {
			require.Empty(t, in.MessageSystemAttributes, "a record without a trace header sends none")
			continue
		}
		require.Equal(t, header, aws.ToString(in.MessageSystemAttributes["AWSTraceHeader"].StringValue))
		require.Equal(t, traceparent, aws.ToString(in.MessageAttributes["traceparent"].StringValue))
	}
}
