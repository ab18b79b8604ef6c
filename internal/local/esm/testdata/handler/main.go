// Command handler is an SQS Lambda function for the esm tests. It reports a
// record whose body is "poison" in batchItemFailures, and fails the whole
// invocation with an error when a record's body is "crash" on its first
// delivery. Other records succeed.
package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		switch {
		case r.Body == "crash" && r.Attributes["ApproximateReceiveCount"] == "1":
			return resp, errors.New("crash on first delivery")
		case r.Body == "poison":
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	fmt.Printf("handled %d records, %d failed\n", len(ev.Records), len(resp.BatchItemFailures))
	return resp, nil
}

func main() {
	lambda.Start(handle)
}
