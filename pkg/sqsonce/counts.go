package sqsonce

import "github.com/sqsonce/sqsonce/pkg/sqsbatch"

// Counts counts a Handler's idempotency outcomes, for one batch
// (Report.Counts) or all so far (Handler.Totals). With Config.Metrics they
// are written as Embedded Metric Format, one metric per field, named like
// it. A record's delivery counts once, in one field.
type Counts struct {
	Executed        int // the effect was applied by this delivery
	Replayed        int // a duplicate: the stored result was replayed
	AlreadyApplied  int // the effect's writes were found done (NewDynamoDB's ConditionFailed)
	Invalid         int // undecodable body or missing key (permanent)
	PayloadMismatch int // the key was used with another payload (permanent)
	InProgress      int // another delivery holds the key: retried later
	StoreFailed     int // the store failed: retried later
	Contended       int // conflicts or throttling outlasted the retries: retried later
	LeaseLost       int // the claim was taken over before completion
	ConditionFailed int // a write's condition failed and was judged a conflict (permanent)
	EffectFailed    int // the effect returned an error, or a function of the Message or Effect panicked
	InvalidWrite    int // the effect's writes are ones DynamoDB refuses (permanent)
	DecodeFailed    int // the decoder failed and asked for a retry (Retryable): retried later
}

func (c *Counts) fields() []*int {
	return []*int{&c.Executed, &c.Replayed, &c.AlreadyApplied, &c.Invalid, &c.PayloadMismatch, &c.InProgress,
		&c.StoreFailed, &c.Contended, &c.LeaseLost, &c.ConditionFailed, &c.EffectFailed,
		&c.InvalidWrite, &c.DecodeFailed}
}

var countNames = []string{"Executed", "Replayed", "AlreadyApplied", "Invalid", "PayloadMismatch", "InProgress",
	"StoreFailed", "Contended", "LeaseLost", "ConditionFailed", "EffectFailed",
	"InvalidWrite", "DecodeFailed"}

// Add returns the sum of c and o, field by field.
func (c Counts) Add(o Counts) Counts {
	sum := c
	mine, theirs := sum.fields(), o.fields()
	for i := range mine {
		*mine[i] += *theirs[i]
	}
	return sum
}

func (c Counts) metrics() []sqsbatch.Metric {
	fs := c.fields()
	out := make([]sqsbatch.Metric, len(fs))
	for i, f := range fs {
		out[i] = sqsbatch.Metric{Name: countNames[i], Value: *f}
	}
	return out
}
