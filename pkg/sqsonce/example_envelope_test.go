package sqsonce_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// Entry is a user's own event type, published to an SNS topic or put on an
// EventBridge bus, and delivered to a queue.
type Entry struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
}

// An SNS topic fans out to a queue (raw message delivery off): each body is
// an SNS notification holding the event. events/sns-envelope.json holds
// evt-601, evt-602, then evt-601 published again in a new notification: it
// is replayed, since its payload is the event, not the envelope. A body
// that is no notification fails as invalid.
func ExampleSNS() {
	h, err := sqsonce.New(memstore.New(), sqsonce.SNS(sqsonce.BodyKey(func(e Entry) string { return e.ID })),
		func(ctx context.Context, e Entry) ([]byte, error) {
			fmt.Println("apply", e.ID, e.Amount)
			return nil, nil
		},
		sqsonce.Config{KeyPrefix: "entries", Concurrency: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	ev := fixture("sns-envelope.json")
	ev.Records = append(ev.Records, events.SQSMessage{MessageId: "raw", Body: `{"id":"evt-603","amount":1}`})
	resp, err := h.Handle(context.Background(), ev)
	fmt.Println(resp.BatchItemFailures, err)
	// Output:
	// apply evt-601 300
	// apply evt-602 -50
	// [{raw}] <nil>
}

// An EventBridge rule targets a queue: each body is the EventBridge event,
// whose detail is the event. events/eventbridge-envelope.json holds evt-701,
// evt-702, then evt-701 put again (a new event id): it is replayed.
func ExampleEventBridge() {
	h, err := sqsonce.New(memstore.New(), sqsonce.EventBridge(sqsonce.BodyKey(func(e Entry) string { return e.ID })),
		func(ctx context.Context, e Entry) ([]byte, error) {
			fmt.Println("apply", e.ID, e.Amount)
			return nil, nil
		},
		sqsonce.Config{KeyPrefix: "entries", Concurrency: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	resp, err := h.Handle(context.Background(), fixture("eventbridge-envelope.json"))
	fmt.Println(resp.BatchItemFailures, err)
	// Output:
	// apply evt-701 800
	// apply evt-702 -200
	// [] <nil>
}

// fixture reads an SQS event of the repository's events/ folder.
func fixture(name string) events.SQSEvent {
	data, err := os.ReadFile("../../events/" + name)
	if err != nil {
		panic(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		panic(err)
	}
	return ev
}
