package awstest

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Queue is a queue created for a test, with its dead-letter queue.
type Queue struct {
	URL    string
	ARN    string
	DLQURL string
	DLQARN string
}

// QueueSpec configures NewQueue. Zero values take the defaults noted.
type QueueSpec struct {
	FIFO              bool
	VisibilityTimeout int // seconds; default 30
	MaxReceiveCount   int // redrive to the DLQ after this many receives; default 5
}

// NewQueue creates a uniquely named queue with a DLQ and a redrive policy,
// and deletes both when the test ends.
func NewQueue(t testing.TB, client *sqs.Client, spec QueueSpec) Queue {
	t.Helper()
	if spec.VisibilityTimeout == 0 {
		spec.VisibilityTimeout = 30
	}
	if spec.MaxReceiveCount == 0 {
		spec.MaxReceiveCount = 5
	}
	name := UniqueName("sqsonce-test")
	var q Queue
	q.DLQURL, q.DLQARN = createQueue(t, client, name+"-dlq", spec.FIFO, nil)
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, q.DLQARN, spec.MaxReceiveCount)
	q.URL, q.ARN = createQueue(t, client, name, spec.FIFO, map[string]string{
		string(types.QueueAttributeNameRedrivePolicy):     redrive,
		string(types.QueueAttributeNameVisibilityTimeout): strconv.Itoa(spec.VisibilityTimeout),
	})
	return q
}

func createQueue(t testing.TB, client *sqs.Client, name string, fifo bool, attrs map[string]string) (url, arn string) {
	t.Helper()
	ctx := context.Background()
	if attrs == nil {
		attrs = map[string]string{}
	}
	if fifo {
		name += ".fifo"
		attrs[string(types.QueueAttributeNameFifoQueue)] = "true"
	}
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	url = aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		_, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	})
	got, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("get ARN of %s: %v", name, err)
	}
	return url, got.Attributes[string(types.QueueAttributeNameQueueArn)]
}

// Drain receives every message of a queue, with all its message and system
// attributes, deletes each, and returns them once a receive comes back
// empty. It is for checking what a queue held after a test; a message is
// returned once per time SQS delivered it.
func Drain(t testing.TB, client *sqs.Client, url string) []types.Message {
	t.Helper()
	ctx := context.Background()
	var all []types.Message
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("receive from %s: %v", url, err)
		}
		if len(out.Messages) == 0 {
			return all
		}
		for _, m := range out.Messages {
			all = append(all, m)
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("delete from %s: %v", url, err)
			}
		}
	}
}

// Bodies counts the bodies of messages.
func Bodies(msgs []types.Message) map[string]int {
	got := make(map[string]int, len(msgs))
	for _, m := range msgs {
		got[aws.ToString(m.Body)]++
	}
	return got
}

// Visible is a queue's number of visible messages (exact on moto).
func Visible(t testing.TB, client *sqs.Client, url string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		t.Fatalf("count the messages of %s: %v", url, err)
	}
	n, err := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	if err != nil {
		t.Fatalf("count the messages of %s: %v", url, err)
	}
	return n
}
