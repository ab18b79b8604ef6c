// Command relay is the Lambda function that sends the outbox's events: it is
// triggered by the outbox table's DynamoDB stream (NEW_IMAGE, with
// ReportBatchItemFailures) and runs outbox.Relay. Configuration, from the
// environment: OUTBOX_TABLE (required), OUTBOX_PARTITION_KEY (pk),
// OUTBOX_SORT_KEY (sk), OUTBOX_TTL_ATTRIBUTE (expiration),
// OUTBOX_SENT_RETENTION (24h; negative: delete sent items), RELAY_CONCURRENCY (8).
// It writes its metrics (outbox.EMF) with the dimension FunctionName
// (AWS_LAMBDA_FUNCTION_NAME).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsonce/sqsonce/pkg/outbox"
)

func main() {
	rc, err := load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "load AWS configuration:", err)
		os.Exit(1)
	}
	relay, err := outbox.NewRelay(rc, outbox.Clients{
		DynamoDB: dynamodb.NewFromConfig(awsCfg), SQS: sqs.NewFromConfig(awsCfg),
		SNS: sns.NewFromConfig(awsCfg), EventBridge: eventbridge.NewFromConfig(awsCfg),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lambda.Start(relay.Handle)
}

// load reads the relay's configuration; an error names the variable.
func load(getenv func(string) string) (outbox.RelayConfig, error) {
	rc := outbox.RelayConfig{
		Table: outbox.Table{
			Name: getenv("OUTBOX_TABLE"), PartitionKey: getenv("OUTBOX_PARTITION_KEY"),
			SortKey: getenv("OUTBOX_SORT_KEY"), TTLAttribute: getenv("OUTBOX_TTL_ATTRIBUTE"),
		},
		Logger:  slog.New(slog.NewJSONHandler(os.Stdout, nil)),
		Metrics: &outbox.EMF{Writer: os.Stdout},
	}
	if fn := getenv("AWS_LAMBDA_FUNCTION_NAME"); fn != "" {
		rc.Metrics.Dimensions = map[string]string{"FunctionName": fn}
	}
	if rc.Table.Name == "" {
		return rc, fmt.Errorf("OUTBOX_TABLE: required")
	}
	if v := getenv("OUTBOX_SENT_RETENTION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return rc, fmt.Errorf("OUTBOX_SENT_RETENTION: %w", err)
		}
		rc.Table.SentRetention = d
	}
	if v := getenv("RELAY_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return rc, fmt.Errorf("RELAY_CONCURRENCY: %q is not a positive integer", v)
		}
		rc.Concurrency = n
	}
	return rc, nil
}
