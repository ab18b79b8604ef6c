package awstest_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/awstest"
)

func TestNewTableEnablesTTL(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	name := awstest.NewTable(t, client, awstest.IdempotencyTable)
	out, err := client.DescribeTimeToLive(context.Background(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	require.NoError(t, err)
	require.Equal(t, "expiration", aws.ToString(out.TimeToLiveDescription.AttributeName))
}

func TestNewQueueHasRedrive(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	q := awstest.NewQueue(t, client, awstest.QueueSpec{FIFO: true})
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(q.URL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	require.NoError(t, err)
	require.Contains(t, out.Attributes["RedrivePolicy"], q.DLQARN)
	require.Equal(t, "true", out.Attributes["FifoQueue"])
}
