package batch_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

type order struct {
	ID     string `json:"id"`
	Amount int    `json:"amount"`
}

// A consumer decodes each body into a typed value; a body that does not
// decode, or an order without an ID, is a permanent failure. In a Lambda
// function's main, pass p.Handle to lambda.Start; here lambda.NewHandler
// invokes it with the JSON Lambda would send.
func Example() {
	p, err := batch.New(batch.JSON(func(ctx context.Context, msg events.SQSMessage, o order) error {
		if o.ID == "" {
			return batch.Permanent(errors.New("order without an id"))
		}
		return nil // apply the order, idempotently
	}), batch.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	event := `{"Records":[
		{"messageId":"m-1","body":"{\"id\":\"o-1\",\"amount\":250}","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:orders"},
		{"messageId":"m-2","body":"not json","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:orders"},
		{"messageId":"m-3","body":"{\"amount\":5}","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:orders"}]}`
	out, err := lambda.NewHandler(p.Handle).Invoke(context.Background(), []byte(event))
	fmt.Println(string(out), err)
	fmt.Printf("%+v\n", p.Totals())
	// Output:
	// {"batchItemFailures":[{"itemIdentifier":"m-2"},{"itemIdentifier":"m-3"}]} <nil>
	// {Invocations:1 Records:3 Duplicates:0 Reported:2 Succeeded:1 Failed:0 Permanent:2 SentToDLQ:0 DLQFailed:0 Panicked:0 Skipped:0 Deadline:0 Breaker:0 Abandoned:0}
}

// Counts are written as CloudWatch Embedded Metric Format; in Lambda, to
// standard output, at the level the function's logs are filtered at.
func ExampleEMF_Write() {
	counts := batch.Counts{Invocations: 1, Records: 3, Reported: 1, Succeeded: 2, Failed: 1}
	emf := batch.EMF{
		Writer:     os.Stdout,
		Namespace:  "orders",
		Dimensions: map[string]string{"Function": "consumer"},
		Level:      slog.LevelWarn, // the function's ApplicationLogLevel
	}
	err := emf.Write(counts, time.UnixMilli(1795000000000))
	fmt.Println(err)
	// Output:
	// {"Abandoned":0,"Breaker":0,"DLQFailed":0,"Deadline":0,"Duplicates":0,"Failed":1,"Function":"consumer","Invocations":1,"Panicked":0,"Permanent":0,"Records":3,"Reported":1,"SentToDLQ":0,"Skipped":0,"Succeeded":2,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["Function"]],"Metrics":[{"Name":"Invocations","Unit":"Count"},{"Name":"Records","Unit":"Count"},{"Name":"Duplicates","Unit":"Count"},{"Name":"Reported","Unit":"Count"},{"Name":"Succeeded","Unit":"Count"},{"Name":"Failed","Unit":"Count"},{"Name":"Permanent","Unit":"Count"},{"Name":"SentToDLQ","Unit":"Count"},{"Name":"DLQFailed","Unit":"Count"},{"Name":"Panicked","Unit":"Count"},{"Name":"Skipped","Unit":"Count"},{"Name":"Deadline","Unit":"Count"},{"Name":"Breaker","Unit":"Count"},{"Name":"Abandoned","Unit":"Count"}],"Namespace":"orders"}],"Timestamp":1795000000000},"level":"WARN","timestamp":"2026-11-18T11:06:40Z"}
	// <nil>
}

// A handler attaches its own error class, which appears in the logs and in
// the DLQ's error-class attribute.
func ExampleWithClass() {
	err := fmt.Errorf("apply order o-1: %w", batch.WithClass(errors.New("table throttled"), "throttled"))
	fmt.Println(batch.ClassOf(err))
	fmt.Println(batch.ClassOf(batch.Permanent(errors.New("bad currency"))))
	fmt.Println(batch.ClassOf(errors.New("timeout")))
	// Output:
	// throttled
	// permanent
	// error
}
