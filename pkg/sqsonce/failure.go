package sqsonce

import "github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"

// Permanent marks err as a failure that retrying will not fix, such as a
// malformed body: the record goes to Config.DLQ at once, or, without one, is
// reported and left to the queue's redrive policy. Permanent(nil) is still an
// error, because the caller meant a failure.
func Permanent(err error) error { return batch.Permanent(err) }

// IsPermanent reports whether err or an error it wraps was made by
// Permanent.
func IsPermanent(err error) bool { return batch.IsPermanent(err) }

// WithClass returns err with an error class of the caller's own, which logs,
// metrics and the DLQ's AttrErrorClass show instead of the default one. It
// returns nil for a nil err.
func WithClass(err error, class string) error { return batch.WithClass(err, class) }

// ClassOf returns the error class of a record's error: the one given by
// WithClass (or by sqsonce, the Class constants), else ClassPermanent for a
// Permanent error, else ClassError. It returns "" for nil.
func ClassOf(err error) string { return batch.ClassOf(err) }

// PanicError is the error of a record whose function panicked (its Value
// and Stack): the record fails alone, of class ClassPanic.
type PanicError = batch.PanicError

// Error classes of records that failed outside the idempotency layer.
const (
	ClassError     = batch.ClassError     // an error without a class of its own
	ClassPermanent = batch.ClassPermanent // a Permanent error without a class of its own
	ClassPanic     = batch.ClassPanic     // a function panicked
	ClassDeadline  = batch.ClassDeadline  // cut short, or never started, for lack of time before the deadline
	ClassBreaker   = batch.ClassBreaker   // never started: the breaker was open
	ClassSkipped   = batch.ClassSkipped   // never started: an earlier record of its FIFO group failed
	ClassDLQ       = batch.ClassDLQ       // a permanent failure the DLQ did not accept
)

// ErrMissingMessageID is Process's error for a batch with a record without a
// message ID: Lambda retries the whole batch.
var ErrMissingMessageID = batch.ErrMissingMessageID
