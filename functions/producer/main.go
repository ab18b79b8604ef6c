// Command producer is a Lambda function that publishes ledger events to the
// queue, retrying every entry SQS refuses. Environment: QUEUE_URL (required),
// FIFO_QUEUE_URL (optional), TRACING (off or otlp, as the consumer's: each
// message then carries its span's context).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsonce/sqsonce/internal/telemetry"
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/producer"
)

func main() {
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "load AWS configuration:", err)
		os.Exit(1)
	}
	mode, err := telemetry.ParseMode(os.Getenv("TRACING"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "TRACING:", err)
		os.Exit(1)
	}
	tracing, err := telemetry.New(context.Background(), mode, os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tracing.Instrument(&awsCfg)
	client := sqs.NewFromConfig(awsCfg)
	fn := producer.Function{Encode: ledger.EncodeEvent}
	if fn.Standard, err = producer.New(producer.Config{Client: client, QueueURL: os.Getenv("QUEUE_URL"), Tracing: tracing.Producer()}); err != nil {
		fmt.Fprintln(os.Stderr, "QUEUE_URL:", err)
		os.Exit(1)
	}
	if url := os.Getenv("FIFO_QUEUE_URL"); url != "" {
		if fn.FIFO, err = producer.New(producer.Config{Client: client, QueueURL: url, Tracing: tracing.Producer()}); err != nil {
			fmt.Fprintln(os.Stderr, "FIFO_QUEUE_URL:", err)
			os.Exit(1)
		}
	}
	lambda.StartHandler(tracing.Wrap(lambda.NewHandler(fn.Handle)))
}
