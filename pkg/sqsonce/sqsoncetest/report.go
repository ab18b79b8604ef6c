package sqsoncetest

import "github.com/sqsonce/sqsonce/pkg/sqsonce"

// Outcome is what a table test expects of one record: its outcome, and,
// when it succeeded, whether its effect ran or was replayed and with what
// result; when it failed, its error class.
type Outcome[R any] struct {
	Outcome     sqsonce.Outcome
	Idempotency sqsonce.Idempotency
	Class       string
	Result      R
}

// Outcomes returns what became of each record of a Report, by message ID,
// in the form a table test compares with require.Equal or reflect.DeepEqual
// (errors are left out: compare their class).
func Outcomes[R any](r sqsonce.Report[R]) map[string]Outcome[R] {
	out := make(map[string]Outcome[R], len(r.Records))
	for _, rec := range r.Records {
		out[rec.MessageID] = Outcome[R]{Outcome: rec.Outcome, Idempotency: rec.Idempotency, Class: rec.Class, Result: rec.Result}
	}
	return out
}

// Failed returns the message IDs a Report lists in batchItemFailures, in
// order: the records SQS will deliver again.
func Failed[R any](r sqsonce.Report[R]) []string {
	ids := make([]string, 0, len(r.Response.BatchItemFailures))
	for _, f := range r.Response.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}
