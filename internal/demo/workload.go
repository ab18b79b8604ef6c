package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/producer"
)

// WorkloadConfig describes the messages a producer sends.
type WorkloadConfig struct {
	// Events is the number of unique valid events.
	Events int
	// Accounts spreads them over acc-1..acc-N.
	Accounts int
	// RetryShare of the events is sent a second time (same id, new message),
	// rounded to the nearest whole event.
	RetryShare float64
	// Invalid is the number of bodies that ledger.Decode refuses.
	Invalid int
	// Seed makes the workload reproducible.
	Seed uint64
	// Start is the occurred_at of the first event. Default 2026-11-27T09:00Z.
	Start time.Time
}

// Workload is what a producer sends and what the ledger must then hold.
type Workload struct {
	// Messages in sending order.
	Messages []producer.Message
	// Events are the unique valid events.
	Events []ledger.Event
	// Retries is the number of messages that repeat an event.
	Retries int
	// Invalid is the number of invalid bodies.
	Invalid int
	// Expected is each account's expected balance and entry count.
	Expected map[string]Expected
}

// Expected is what an account must hold once every event applied once.
type Expected struct {
	Balance int64
	Entries int
}

// Accounts returns the expected accounts in order.
func (w Workload) Accounts() []string {
	names := make([]string, 0, len(w.Expected))
	for a := range w.Expected {
		names = append(names, a)
	}
	sort.Strings(names)
	return names
}

// invalidBodies are bodies ledger.Decode refuses, one per kind of mistake.
// %d is a number unique to the body.
var invalidBodies = []string{
	`{"id":"bad-%d","account":"acc-1","amount":100,"currency":"EUR"`,                                         // malformed JSON
	`{"id":"bad-%d","account":"acc-1","amount":0,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`,     // amount 0
	`{"id":"bad-%d","account":"acc-1","amount":100,"currency":"eur","occurred_at":"2026-11-27T10:00:00Z"}`,   // lower-case currency
	`{"account":"acc-1","amount":100,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z","ref":"bad-%d"}`,  // missing id
	`{"id":"bad-%d","amount":100,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`,                     // missing account
	`{"id":"bad-%d","account":"acc-1","amount":"100","currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`, // amount as a string
	`{"id":"bad-%d","account":"acc-1","amount":100,"currency":"EUR","occurred_at":"yesterday"}`,              // bad time
	`not json at all, message %d`,
}

// NewWorkload generates a workload: events with non-zero amounts in EUR over
// the accounts, producer retries of a random share of them, and invalid
// bodies, shuffled together (a retry may overtake its original, as on a
// standard queue).
func NewWorkload(cfg WorkloadConfig) Workload {
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))
	start := cfg.Start
	if start.IsZero() {
		start = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	}
	w := Workload{Expected: map[string]Expected{}}
	for i := range cfg.Events {
		amount := rng.Int64N(20000) - 5000 // -50.00..149.99 EUR
		if amount == 0 {
			amount = 1
		}
		e := ledger.Event{
			ID:         fmt.Sprintf("evt-%05d", i+1),
			Account:    fmt.Sprintf("acc-%d", i%cfg.Accounts+1),
			Amount:     amount,
			Currency:   "EUR",
			OccurredAt: start.Add(time.Duration(i) * time.Second),
		}
		w.Events = append(w.Events, e)
		exp := w.Expected[e.Account]
		exp.Balance += e.Amount
		exp.Entries++
		w.Expected[e.Account] = exp
		w.Messages = append(w.Messages, ledger.EventMessage(e))
	}
	w.Retries = int(math.Round(cfg.RetryShare * float64(cfg.Events)))
	for _, i := range rng.Perm(cfg.Events)[:w.Retries] {
		w.Messages = append(w.Messages, ledger.EventMessage(w.Events[i]))
	}
	w.Invalid = cfg.Invalid
	for i := range cfg.Invalid {
		body := fmt.Sprintf(invalidBodies[i%len(invalidBodies)], i+1)
		w.Messages = append(w.Messages, producer.Message{Body: body})
	}
	rng.Shuffle(len(w.Messages), func(i, j int) { w.Messages[i], w.Messages[j] = w.Messages[j], w.Messages[i] })
	return w
}
