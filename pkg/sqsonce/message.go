package sqsonce

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/sqskey"
)

// Message says how to read a message: decode its body into T, find its
// idempotency key, and name the payload whose hash is checked when a key
// comes back.
type Message[T any] struct {
	// Decode parses and validates a body. Its error is a permanent failure
	// (the message goes to the DLQ), of class "invalid", unless it is marked
	// [Retryable] (a body fetched from S3 or decrypted, whose fetch failed):
	// the message is then retried by SQS, with class "decode-failed". A
	// panic in Decode, Key or Payload fails only its own message, as a
	// panic (batch.OutcomePanicked). Required; JSON gives one for
	// encoding/json.
	Decode func(body []byte) (T, error)
	// Key returns the message's idempotency key. An error (or an empty key)
	// is a permanent failure of class "missing-key". Required: see BodyKey,
	// MessageIDKey, AttributeKey, DedupIDKey, SourceKey.
	Key KeyFunc[T]
	// Payload is what a key's deliveries must agree on (its SHA-256 is
	// stored; a key reused with another payload is a permanent failure).
	// Default: the raw body. Return a canonical form when producers may
	// re-encode an event (field order, unknown fields).
	Payload func(msg events.SQSMessage, body T) []byte
}

// JSON is a Message whose bodies are decoded with encoding/json, keyed by
// key.
func JSON[T any](key KeyFunc[T]) Message[T] {
	return Message[T]{
		Decode: func(body []byte) (T, error) {
			var v T
			err := json.Unmarshal(body, &v)
			return v, err
		},
		Key: key,
	}
}

// KeyFunc returns the idempotency key of a message, given its decoded body.
// Its errors should match sqskey.ErrMissingKey.
type KeyFunc[T any] func(msg events.SQSMessage, body T) (string, error)

// BodyKey takes the key from the body: field returns it.
func BodyKey[T any](field func(T) string) KeyFunc[T] {
	return SourceKey(sqskey.Source{Kind: sqskey.BodyField}, field)
}

// MessageIDKey takes the SQS message ID: it catches Lambda's retries of a
// batch, not a producer's re-sends (which get a new ID).
func MessageIDKey[T any]() KeyFunc[T] {
	return SourceKey[T](sqskey.Source{Kind: sqskey.MessageID}, nil)
}

// AttributeKey takes the String message attribute name.
func AttributeKey[T any](name string) KeyFunc[T] {
	return SourceKey[T](sqskey.Source{Kind: sqskey.Attribute, Attribute: name}, nil)
}

// DedupIDKey takes a FIFO message's MessageDeduplicationId.
func DedupIDKey[T any]() KeyFunc[T] { return SourceKey[T](sqskey.Source{Kind: sqskey.DedupID}, nil) }

// SourceKey takes the key from src, as configured (sqskey.Parse reads
// "body-id", "message-id", "dedup-id" or "attribute:<name>"); field gives the
// body's key for "body-id".
func SourceKey[T any](src sqskey.Source, field func(T) string) KeyFunc[T] {
	return func(msg events.SQSMessage, body T) (string, error) {
		var bodyKey string
		if src.Kind == sqskey.BodyField {
			if field == nil {
				return "", fmt.Errorf("%w: no body field given for the key source %s", sqskey.ErrMissingKey, src)
			}
			bodyKey = field(body)
		}
		return src.Key(msg, bodyKey)
	}
}

// RetryableError marks a decoder's error as transient: the message is
// retried by SQS instead of going to the DLQ. Create one with Retryable.
type RetryableError struct {
	Err error
}

func (e *RetryableError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable marks err, returned by Message.Decode, as transient: a decoder
// that fetches the body (from S3, for a claim check) or decrypts it (with
// KMS) returns Retryable(err) when the fetch failed, so that the message is
// retried later (a reported failure of class ClassDecodeFailed, counted in
// Counts.DecodeFailed) instead of failing permanently. It is matched with
// errors.As, so it may be wrapped further. Retryable(nil) is still an
// error, because the caller meant a failure.
func Retryable(err error) error {
	if err == nil {
		err = errors.New("unspecified retryable failure")
	}
	return &RetryableError{Err: err}
}
