package esm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsonce/sqsonce/internal/local/esm"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// Feed a function from a queue until the queue is drained. Here the function
// is in process; `make demo` passes *rie.Emulator values, one per poller.
func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx) // the local endpoint from the environment
	if err != nil {
		fmt.Println(err)
		return
	}
	client := sqs.NewFromConfig(cfg)
	queue, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(awstest.UniqueName("esm-example"))})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: queue.QueueUrl})
	for _, body := range []string{"a", "b", "c"} {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: queue.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			fmt.Println(err)
			return
		}
	}

	function := esm.InvokerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		return json.Marshal(events.SQSEventResponse{}) // every record succeeded
	})
	m, err := esm.New(esm.Config{
		QueueURL:              aws.ToString(queue.QueueUrl),
		Client:                client,
		Invokers:              []esm.Invoker{function},
		MaximumBatchingWindow: time.Second,
		WaitTimeSeconds:       1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := m.RunUntilDrained(ctx, 200*time.Millisecond); err != nil {
		fmt.Println(err)
		return
	}
	st := m.Stats()
	fmt.Printf("received %d, deleted %d, failed batches %d\n", st.Received, st.Deleted, st.BatchFailures)
	// Output: received 3, deleted 3, failed batches 0
}
