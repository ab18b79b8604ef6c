// Command producer is a Lambda function that publishes ledger events to the
// queue, retrying every entry SQS refuses. Environment: QUEUE_URL (required),
// FIFO_QUEUE_URL (optional).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/producer"
)

func main() {
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "load AWS configuration:", err)
		os.Exit(1)
	}
	client := sqs.NewFromConfig(awsCfg)
	fn := producer.Function{Encode: ledger.EncodeEvent}
	if fn.Standard, err = producer.New(producer.Config{Client: client, QueueURL: os.Getenv("QUEUE_URL")}); err != nil {
		fmt.Fprintln(os.Stderr, "QUEUE_URL:", err)
		os.Exit(1)
	}
	if url := os.Getenv("FIFO_QUEUE_URL"); url != "" {
		if fn.FIFO, err = producer.New(producer.Config{Client: client, QueueURL: url}); err != nil {
			fmt.Fprintln(os.Stderr, "FIFO_QUEUE_URL:", err)
			os.Exit(1)
		}
	}
	lambda.Start(fn.Handle)
}
