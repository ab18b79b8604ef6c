package sqsonce

import (
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/sqsbatch"
)

// reader returns the prepare function of a Message.
func reader[T any](m Message[T]) (func(events.SQSMessage) record, error) {
	switch {
	case m.Decode == nil:
		return nil, &ConfigError{"Message.Decode", "required: how to decode a body (sqsonce.JSON gives one)"}
	case m.Key == nil:
		return nil, &ConfigError{"Message.Key", "required: where the idempotency key comes from (BodyKey, MessageIDKey, AttributeKey, DedupIDKey)"}
	}
	return func(msg events.SQSMessage) record {
		r := record{msg: msg}
		body, err := m.Decode([]byte(msg.Body))
		if err != nil {
			r.err = badInput(fmt.Errorf("message %s: decode: %w", msg.MessageId, err), ClassInvalid)
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

// invalidInput is a message that can never be processed: its body does not
// decode, or it has no key.
type invalidInput struct{ err error }

func (e *invalidInput) Error() string { return e.err.Error() }
func (e *invalidInput) Unwrap() error { return e.err }

// badInput makes err a permanent failure of input, with class unless the
// decoder's error names its own.
func badInput(err error, class string) error {
	if sqsbatch.ClassOf(err) == sqsbatch.ClassError {
		err = sqsbatch.WithClass(err, class)
	}
	return sqsbatch.Permanent(&invalidInput{err})
}
