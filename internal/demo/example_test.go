package demo_test

import (
	"fmt"

	"github.com/sqsonce/sqsonce/internal/demo"
)

// A workload: unique events over a few accounts, producer retries of some
// (same id, a new message), and invalid bodies, shuffled together.
func ExampleNewWorkload() {
	w := demo.NewWorkload(demo.WorkloadConfig{Events: 300, Accounts: 5, RetryShare: 0.2, Invalid: 5, Seed: 1})
	fmt.Println(len(w.Messages), "messages:", len(w.Events), "events,", w.Retries, "retries,", w.Invalid, "invalid")
	for _, a := range w.Accounts() {
		fmt.Println(a, w.Expected[a].Entries, "events")
	}
	// Output:
	// 365 messages: 300 events, 60 retries, 5 invalid
	// acc-1 60 events
	// acc-2 60 events
	// acc-3 60 events
	// acc-4 60 events
	// acc-5 60 events
}
