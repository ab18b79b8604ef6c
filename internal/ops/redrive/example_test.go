package redrive_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsonce/sqsonce/internal/ops/redrive"
	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
)

// Move a dead-letter queue's messages back to the queue they came from.
func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx) // the local endpoint from the environment
	if err != nil {
		fmt.Println(err)
		return
	}
	client := sqs.NewFromConfig(cfg)
	var urls []string
	for _, name := range []string{"redrive-example", "redrive-example-dlq"} {
		q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(awstest.UniqueName(name))})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl})
		urls = append(urls, aws.ToString(q.QueueUrl))
	}
	source, dlq := urls[0], urls[1]
	for _, body := range []string{`{"id":"evt-1"}`, `{"id":"evt-2"}`} {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(dlq), MessageBody: aws.String(body)}); err != nil {
			fmt.Println(err)
			return
		}
	}

	res, err := redrive.Redrive(ctx, client, dlq, source, redrive.Options{
		Progress: func(p redrive.Progress) { /* drive a progress bar with p.Moved */ },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("moved %d, failed %d\n", res.Moved, res.Failed)
	fmt.Println("method:", res.Method) // moto has no StartMessageMoveTask
	// Output:
	// moved 2, failed 0
	// method: receive-send-delete
}
