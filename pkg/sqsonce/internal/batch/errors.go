package batch

import (
	"errors"
	"fmt"
)

// Error classes used in logs when the error does not carry its own (see
// Classifier).
const (
	ClassError     = "error"     // a handler error
	ClassPermanent = "permanent" // a Permanent handler error
	ClassDecode    = "decode"    // a body that JSON could not decode
	ClassPanic     = "panic"     // a handler panicked
	ClassDeadline  = "deadline"  // cut short or never started for lack of time
	ClassBreaker   = "breaker"   // never started: the breaker was open
	ClassSkipped   = "skipped"   // never started: an earlier record failed (FIFO)
	ClassDLQ       = "dlq"       // a permanent failure the DLQ did not accept
)

var (
	// ErrMissingMessageID is returned, and no record runs, when a record of
	// the batch has an empty messageId: it could not be named in the
	// response, so the whole batch must be retried.
	ErrMissingMessageID = errors.New("sqsbatch: record without a messageId")
	// ErrAllFailed is returned with Config.ErrorOnAllFailed when every record
	// of a non-empty batch was reported failed.
	ErrAllFailed = errors.New("sqsbatch: every record failed")
)

// PermanentError marks an error that retrying will not fix, such as a
// malformed body. Create one with Permanent.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as permanent: with Config.DLQ the record goes to the
// dead-letter queue at once instead of being retried. Permanent(nil) is still
// an error, because the caller meant a failure.
func Permanent(err error) error {
	if err == nil {
		err = errors.New("unspecified permanent failure")
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err or an error it wraps is a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Classifier is implemented by errors that name their class for logs and the
// DLQ's error-class attribute. The first one found by errors.As wins.
type Classifier interface {
	ErrorClass() string
}

// WithClass returns err with class attached (see Classifier). It returns nil
// for a nil err.
func WithClass(err error, class string) error {
	if err == nil {
		return nil
	}
	return &classedError{err: err, class: class}
}

type classedError struct {
	err   error
	class string
}

func (e *classedError) Error() string      { return e.err.Error() }
func (e *classedError) Unwrap() error      { return e.err }
func (e *classedError) ErrorClass() string { return e.class }

// ClassOf returns the class of a handler error: the class of the first
// Classifier in its chain, else ClassPermanent for a Permanent error, else
// ClassError. It returns "" for nil.
func ClassOf(err error) string {
	if err == nil {
		return ""
	}
	var c Classifier
	if errors.As(err, &c) && c.ErrorClass() != "" {
		return c.ErrorClass()
	}
	if IsPermanent(err) {
		return ClassPermanent
	}
	return ClassError
}

// PanicError is the error of a record whose handler panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.Value) }

// ErrorClass returns ClassPanic.
func (e *PanicError) ErrorClass() string { return ClassPanic }
