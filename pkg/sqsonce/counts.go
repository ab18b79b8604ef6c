package sqsonce

import "github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"

// Counts counts a Handler's records, for one batch (Report.Counts) or all
// so far (Handler.Totals): by outcome in the batch (the first group, which
// sums to the unique records: Records minus Duplicates), and, for the
// records that reached the idempotency layer, by what it did (the second
// group). With Config.Metrics they are written as one line of Embedded
// Metric Format per invocation, one metric per field, named like it.
type Counts struct {
	Invocations int // batches processed
	Records     int // records received, duplicates included
	Duplicates  int // records whose message ID appeared earlier in the batch
	Reported    int // records listed in batchItemFailures

	Succeeded int // the effect ran or was replayed
	Failed    int // failed, delivered again
	Permanent int // failed for good, left to the queue's redrive policy (no Config.DLQ)
	SentToDLQ int // failed for good and sent to Config.DLQ
	DLQFailed int // failed for good, and the send to Config.DLQ failed
	Panicked  int // a function panicked
	Skipped   int // not run: an earlier record of its FIFO group failed
	Deadline  int // not run: the safety margin before the Lambda deadline was reached
	Breaker   int // not run: the breaker was open
	Abandoned int // still running at the deadline, reported failed

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

// counters lists c's fields with their metric names, in a fixed order.
func (c *Counts) counters() []struct {
	name  string
	value *int
} {
	return []struct {
		name  string
		value *int
	}{
		{"Invocations", &c.Invocations}, {"Records", &c.Records}, {"Duplicates", &c.Duplicates}, {"Reported", &c.Reported},
		{"Succeeded", &c.Succeeded}, {"Failed", &c.Failed}, {"Permanent", &c.Permanent}, {"SentToDLQ", &c.SentToDLQ},
		{"DLQFailed", &c.DLQFailed}, {"Panicked", &c.Panicked}, {"Skipped", &c.Skipped}, {"Deadline", &c.Deadline},
		{"Breaker", &c.Breaker}, {"Abandoned", &c.Abandoned},
		{"Executed", &c.Executed}, {"Replayed", &c.Replayed}, {"AlreadyApplied", &c.AlreadyApplied},
		{"Invalid", &c.Invalid}, {"PayloadMismatch", &c.PayloadMismatch}, {"InProgress", &c.InProgress},
		{"StoreFailed", &c.StoreFailed}, {"Contended", &c.Contended}, {"LeaseLost", &c.LeaseLost},
		{"ConditionFailed", &c.ConditionFailed}, {"EffectFailed", &c.EffectFailed},
		{"InvalidWrite", &c.InvalidWrite}, {"DecodeFailed", &c.DecodeFailed},
	}
}

// Add returns the sum of c and o, field by field.
func (c Counts) Add(o Counts) Counts {
	sum := c
	mine, theirs := sum.counters(), o.counters()
	for i := range mine {
		*mine[i].value += *theirs[i].value
	}
	return sum
}

// withBatch returns c with the batch outcomes of b.
func (c Counts) withBatch(b batch.Counts) Counts {
	c.Invocations, c.Records, c.Duplicates, c.Reported = b.Invocations, b.Records, b.Duplicates, b.Reported
	c.Succeeded, c.Failed, c.Permanent, c.SentToDLQ, c.DLQFailed = b.Succeeded, b.Failed, b.Permanent, b.SentToDLQ, b.DLQFailed
	c.Panicked, c.Skipped, c.Deadline, c.Breaker, c.Abandoned = b.Panicked, b.Skipped, b.Deadline, b.Breaker, b.Abandoned
	return c
}

func (c Counts) metrics() []batch.Metric {
	cs := c.counters()
	out := make([]batch.Metric, len(cs))
	for i, f := range cs {
		out[i] = batch.Metric{Name: f.name, Value: *f.value}
	}
	return out
}
