package sqsonce

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

// reader returns the prepare function of a Message. A panic in the
// Message's functions fails only the record being read, with a
// *batch.PanicError.
func reader[T any](m Message[T]) (func(events.SQSMessage) record, error) {
	switch {
	case m.Decode == nil:
		return nil, &ConfigError{"Message.Decode", "required: how to decode a body (sqsonce.JSON gives one)"}
	case m.Key == nil:
		return nil, &ConfigError{"Message.Key", "required: where the idempotency key comes from (BodyKey, MessageIDKey, AttributeKey, DedupIDKey)"}
	}
	return func(msg events.SQSMessage) (r record) {
		r = record{msg: msg}
		defer func() {
			if v := recover(); v != nil {
				r = record{msg: msg, err: &batch.PanicError{Value: v, Stack: debug.Stack()}}
			}
		}()
		body, err := m.Decode([]byte(msg.Body))
		if err != nil {
			r.err = decodeFailed(fmt.Errorf("message %s: decode: %w", msg.MessageId, err))
			return r
		}
		r.body = body
		if r.key, err = m.Key(msg, body); err == nil && r.key == "" {
			err = errors.New("empty key")
		}
		if err != nil {
			r.err = badInput(fmt.Errorf("message %s: idempotency key: %w", msg.MessageId, err), ClassMissingKey)
			return r
		}
		r.payload = []byte(msg.Body)
		if m.Payload != nil {
			r.payload = m.Payload(msg, body)
		}
		return r
	}, nil
}

// recovered runs f, turning a panic into a *batch.PanicError, so that a
// panic in a user's function fails only its own record.
func recovered[V any](f func() (V, error)) (v V, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &batch.PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return f()
}

// invalidInput is a message that can never be processed: its body does not
// decode, or it has no key.
type invalidInput struct{ err error }

func (e *invalidInput) Error() string { return e.err.Error() }
func (e *invalidInput) Unwrap() error { return e.err }

// badInput makes err a permanent failure of input, with class unless the
// decoder's error names its own.
func badInput(err error, class string) error {
	if batch.ClassOf(err) == batch.ClassError {
		err = batch.WithClass(err, class)
	}
	return batch.Permanent(&invalidInput{err})
}

// unreadable is a message whose decoder failed and asked for a retry.
type unreadable struct{ err error }

func (e *unreadable) Error() string { return e.err.Error() }
func (e *unreadable) Unwrap() error { return e.err }

// decodeFailed is the failure of a decoder's error: permanent (ClassInvalid)
// unless the decoder marked it Retryable (ClassDecodeFailed), in both cases
// unless the error names its class.
func decodeFailed(err error) error {
	if !errors.As(err, new(*RetryableError)) {
		return badInput(err, ClassInvalid)
	}
	if batch.ClassOf(err) == batch.ClassError {
		err = batch.WithClass(err, ClassDecodeFailed)
	}
	return &unreadable{err}
}
