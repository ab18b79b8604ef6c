// Command consumer is the SQS-triggered Lambda function that applies ledger
// events exactly once. It reads its configuration from the environment (see
// consumer.LoadConfig), builds its AWS clients once per execution
// environment, and serves batches with partial batch failures, and the
// scheduled store probe that resumes consumption paused by a store outage.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sqsonce/sqsonce/internal/consumer"
	"github.com/sqsonce/sqsonce/internal/telemetry"
	"github.com/sqsonce/sqsonce/pkg/idempotency/redisstore"
)

func main() {
	cfg, err := consumer.LoadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "load AWS configuration:", err)
		os.Exit(1)
	}
	tracing, err := telemetry.New(context.Background(), cfg.Tracing, cfg.FunctionName, os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tracing.Instrument(&awsCfg)
	queues := sqs.NewFromConfig(awsCfg)
	clients := consumer.Clients{DynamoDB: dynamodb.NewFromConfig(awsCfg), DLQ: queues, Queues: queues, Tracing: tracing}
	if cfg.PauseOnStoreOutage {
		clients.Lambda = awslambda.NewFromConfig(awsCfg)
	}
	if cfg.Store == consumer.StoreRedis {
		if clients.Redis, err = redisstore.Dial(cfg.RedisURL, cfg.RedisCluster); err != nil {
			fmt.Fprintln(os.Stderr, "REDIS_URL:", err)
			os.Exit(1)
		}
		if err := tracing.InstrumentRedis(clients.Redis); err != nil {
			fmt.Fprintln(os.Stderr, "trace Valkey/Redis:", err)
			os.Exit(1)
		}
	}
	handler, err := consumer.New(cfg, clients, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Invoke serves the queues' batches and the scheduled store probe.
	lambda.StartHandler(tracing.Wrap(handler))
}
