package sqsonce_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// Trace a handler: give Config.Tracing a TracerProvider (here the SDK's,
// recording in memory; in a function, one that exports). A record's span
// continues the trace its producer sent in the message (traceparent).
func ExampleTracing() {
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	h, err := sqsonce.New(memstore.New(), sqsonce.JSON(sqsonce.BodyKey(func(s struct{ ID string }) string { return s.ID })),
		func(context.Context, struct{ ID string }) (struct{}, error) { return struct{}{}, nil },
		sqsonce.Config{KeyPrefix: "example", Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Tracing: &sqsonce.Tracing{TracerProvider: tp}})
	if err != nil {
		fmt.Println(err)
		return
	}
	traceparent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	_, _ = h.Process(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: "m1", Body: `{"ID":"evt-1"}`, EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:orders",
		MessageAttributes: map[string]events.SQSMessageAttribute{"traceparent": {DataType: "String", StringValue: &traceparent}},
	}}})
	for _, s := range recorder.Ended() {
		if s.SpanKind().String() == "server" {
			fmt.Printf("%s (%s): a trace of its own, linked to %d producer\n", s.Name(), s.SpanKind(), len(s.Links()))
			continue
		}
		fmt.Printf("%s (%s): trace %s, parent %s\n", s.Name(), s.SpanKind(), s.SpanContext().TraceID(), s.Parent().SpanID())
	}
	// Output:
	// orders process (consumer): trace 4bf92f3577b34da6a3ce929d0e0e4736, parent 00f067aa0ba902b7
	// sqsonce (server): a trace of its own, linked to 1 producer
}
