package sqsoncetest_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/sqsonce"
	"github.com/sqsonce/sqsonce/pkg/sqsonce/sqsoncetest"
)

// Order is a user's own event type.
type Order struct {
	ID string `json:"id"`
}

// A handler's deliveries, one after another, without AWS: the order is
// applied once, whether SQS redelivers its message or the producer sends it
// again; a body that does not decode fails.
func Example() {
	applied := 0
	h, err := sqsonce.New(sqsoncetest.NewStore(), sqsonce.JSON(sqsonce.BodyKey(func(o Order) string { return o.ID })),
		func(ctx context.Context, o Order) ([]byte, error) {
			applied++ // reserve(ctx, o)
			return nil, nil
		},
		sqsonce.Config{KeyPrefix: "orders", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	deliveries := []struct {
		name  string
		event events.SQSEvent
	}{
		{"new order", sqsoncetest.Event(sqsoncetest.Msg{Body: `{"id":"o-1"}`})},
		{"redelivered", sqsoncetest.Event(sqsoncetest.Msg{Body: `{"id":"o-1"}`, ReceiveCount: 2})},
		{"sent again", sqsoncetest.Event(sqsoncetest.Msg{Body: `{"id":"o-1"}`, ID: "m-2"})},
		{"undecodable", sqsoncetest.Event(sqsoncetest.Msg{Body: `not json`, ID: "m-3"})},
	}
	for _, d := range deliveries {
		resp, err := h.Handle(context.Background(), d.event)
		fmt.Println(d.name, resp.BatchItemFailures, err, "applied:", applied)
	}
	// Output:
	// new order [] <nil> applied: 1
	// redelivered [] <nil> applied: 1
	// sent again [] <nil> applied: 1
	// undecodable [{m-3}] <nil> applied: 1
}

// A FIFO queue's batch: each message group's messages run in order.
func ExampleFIFOEvent() {
	var mu sync.Mutex
	byGroup := map[string][]string{}
	h, err := sqsonce.New(sqsoncetest.NewStore(), sqsonce.JSON(sqsonce.DedupIDKey[Order]()),
		func(ctx context.Context, o Order) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			byGroup[o.ID[:1]] = append(byGroup[o.ID[:1]], o.ID)
			return nil, nil
		},
		sqsonce.Config{KeyPrefix: "orders", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	ev := sqsoncetest.FIFOEvent(
		sqsoncetest.Msg{Body: `{"id":"a1"}`, Group: "a", DedupID: "a1"},
		sqsoncetest.Msg{Body: `{"id":"b1"}`, Group: "b", DedupID: "b1"},
		sqsoncetest.Msg{Body: `{"id":"a2"}`, Group: "a", DedupID: "a2"},
		sqsoncetest.Msg{Body: `{"id":"b2"}`, Group: "b", DedupID: "b2"},
	)
	resp, err := h.Handle(context.Background(), ev)
	fmt.Println(resp.BatchItemFailures, err)
	for _, g := range slices.Sorted(maps.Keys(byGroup)) {
		fmt.Println(g, byGroup[g])
	}
	fmt.Println(ev.Records[2].EventSourceARN, ev.Records[2].Attributes["MessageGroupId"], ev.Records[2].Attributes["SequenceNumber"])
	// Output:
	// [] <nil>
	// a [a1 a2]
	// b [b1 b2]
	// arn:aws:sqs:us-east-1:123456789012:queue.fifo a 00000000000000000003
}

// A Once, for a handler of any trigger, over the in-memory store.
func ExampleNewStore() {
	once, err := sqsonce.NewOnce[string](sqsoncetest.NewStore(), sqsonce.OnceConfig{KeyPrefix: "reports"})
	if err != nil {
		panic(err)
	}
	for range 2 {
		report, replayed, err := once.Do(context.Background(), "report-1", nil, func(context.Context) (string, error) {
			return "built", nil
		})
		fmt.Println(report, replayed, err)
	}
	// Output:
	// built false <nil>
	// built true <nil>
}

// A table test of a handler without AWS: each case's batch and what must
// become of each of its records.
func ExampleOutcomes() {
	h, err := sqsonce.New(sqsoncetest.NewStore(), sqsonce.JSON(sqsonce.BodyKey(func(o Order) string { return o.ID })),
		func(ctx context.Context, o Order) (string, error) { return "reserved " + o.ID, nil },
		sqsonce.Config{KeyPrefix: "orders", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	cases := []struct {
		name  string
		event events.SQSEvent
		want  map[string]sqsoncetest.Outcome[string]
	}{
		{"new", sqsoncetest.Event(sqsoncetest.Msg{Body: `{"id":"o-1"}`}), map[string]sqsoncetest.Outcome[string]{
			"m-1": {Outcome: sqsonce.OutcomeSucceeded, Idempotency: sqsonce.IdempotencyExecuted, Result: "reserved o-1"},
		}},
		{"duplicate and a bad body", sqsoncetest.Event(sqsoncetest.Msg{Body: `{"id":"o-1"}`, ID: "m-2"}, sqsoncetest.Msg{Body: `{`, ID: "m-3"}), map[string]sqsoncetest.Outcome[string]{
			"m-2": {Outcome: sqsonce.OutcomeSucceeded, Idempotency: sqsonce.IdempotencyReplayed, Result: "reserved o-1"},
			"m-3": {Outcome: sqsonce.OutcomePermanent, Class: sqsonce.ClassInvalid},
		}},
	}
	for _, tc := range cases {
		report, err := h.Process(context.Background(), tc.event)
		got := sqsoncetest.Outcomes(report)
		fmt.Println(tc.name, err, maps.EqualFunc(got, tc.want, func(a, b sqsoncetest.Outcome[string]) bool { return a == b }), sqsoncetest.Failed(report))
	}
	// Output:
	// new <nil> true []
	// duplicate and a bad body <nil> true [m-3]
}
