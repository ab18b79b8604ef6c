package redrive_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/ops/redrive"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// A redriven message keeps its producer's trace context, W3C traceparent
// (a message attribute) and X-Ray's AWSTraceHeader (a system attribute), so
// its next processing continues the trace its producer started.
func TestRedriveKeepsTheTraceContext(t *testing.T) {
	t.Parallel()
	const (
		header      = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
		traceparent = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
	)
	ctx := context.Background()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{})
	_, err := client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(q.DLQURL), MessageBody: aws.String(`{"id":"evt-1"}`),
		MessageAttributes: map[string]types.MessageAttributeValue{"traceparent": {DataType: aws.String("String"), StringValue: aws.String(traceparent)}},
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{
			string(types.MessageSystemAttributeNameForSendsAWSTraceHeader): {DataType: aws.String("String"), StringValue: aws.String(header)},
		},
	})
	require.NoError(t, err)
	_, err = redrive.Redrive(ctx, client, q.DLQURL, q.URL, redrive.Options{})
	require.NoError(t, err)
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
	require.NoError(t, err)
	require.Len(t, out.Messages, 1)
	require.Equal(t, header, out.Messages[0].Attributes["AWSTraceHeader"])
	require.Equal(t, traceparent, aws.ToString(out.Messages[0].MessageAttributes["traceparent"].StringValue))
}
