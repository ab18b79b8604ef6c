package outbox_test

import (
	"fmt"

	"github.com/sqsonce/sqsonce/pkg/outbox"
)

// An event's ID depends only on the key prefix, the key and the event's
// position among its effect's events: every delivery of the key publishes
// the same IDs, which a consumer downstream keys on.
func ExampleEventID() {
	first := outbox.EventID("payments", "evt-1", 0)
	again := outbox.EventID("payments", "evt-1", 0)
	second := outbox.EventID("payments", "evt-1", 1)
	fmt.Println(first == again, first == second, len(first))
	// Output: true false 32
}

// The events an effect publishes: where each goes, what it says.
func ExampleEvent() {
	events := []outbox.Event{
		{To: outbox.SQS{QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/balances.fifo", GroupID: "acc-1"}, Body: `{"account":"acc-1"}`},
		{To: outbox.SNS{TopicARN: "arn:aws:sns:eu-west-1:123456789012:payments"}, Body: `{"id":"evt-1"}`},
		{To: outbox.EventBridge{Source: "ledger", DetailType: "BalanceChanged"}, Body: `{"account":"acc-1"}`},
	}
	fmt.Println(len(events), "events")
	// Output: 3 events
}
