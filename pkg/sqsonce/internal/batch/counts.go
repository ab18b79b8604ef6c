package batch

// Counts counts records by outcome, for one invocation (Report.Counts) or
// cumulatively (Processor.Totals). Every unique record has exactly one
// outcome, so Records == Duplicates + the sum of the outcome fields, and
// Reported is the number of batchItemFailures.
type Counts struct {
	Invocations int // batches processed
	Records     int // records received, duplicates included
	Duplicates  int // records whose messageId appeared earlier in the batch
	Reported    int // records listed in batchItemFailures

	Succeeded int
	Failed    int
	Permanent int
	SentToDLQ int
	DLQFailed int
	Panicked  int
	Skipped   int
	Deadline  int
	Breaker   int
	Abandoned int
}

// metric is one named counter of a Counts.
type metric struct {
	name  string
	value *int
}

// metrics lists the counters of c by metric name, in a fixed order.
func (c *Counts) metrics() []metric {
	return []metric{
		{"Invocations", &c.Invocations}, {"Records", &c.Records}, {"Duplicates", &c.Duplicates},
		{"Reported", &c.Reported}, {"Succeeded", &c.Succeeded}, {"Failed", &c.Failed},
		{"Permanent", &c.Permanent}, {"SentToDLQ", &c.SentToDLQ}, {"DLQFailed", &c.DLQFailed},
		{"Panicked", &c.Panicked}, {"Skipped", &c.Skipped}, {"Deadline", &c.Deadline},
		{"Breaker", &c.Breaker}, {"Abandoned", &c.Abandoned},
	}
}

// Add returns the sum of c and o, field by field.
func (c Counts) Add(o Counts) Counts {
	sum := c
	mine, theirs := sum.metrics(), o.metrics()
	for i := range mine {
		*mine[i].value += *theirs[i].value
	}
	return sum
}

// count adds one record with outcome o.
func (c *Counts) count(o Outcome) {
	if o.Reported() {
		c.Reported++
	}
	switch o {
	case OutcomeSucceeded:
		c.Succeeded++
	case OutcomeFailed:
		c.Failed++
	case OutcomePermanent:
		c.Permanent++
	case OutcomeSentToDLQ:
		c.SentToDLQ++
	case OutcomeDLQFailed:
		c.DLQFailed++
	case OutcomePanicked:
		c.Panicked++
	case OutcomeSkipped:
		c.Skipped++
	case OutcomeDeadline:
		c.Deadline++
	case OutcomeBreaker:
		c.Breaker++
	case OutcomeAbandoned:
		c.Abandoned++
	}
}
