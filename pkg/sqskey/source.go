package sqskey

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Kind is where a key comes from.
type Kind int

const (
	// BodyField takes the key from the decoded body (the caller passes it).
	BodyField Kind = iota
	// MessageID takes the SQS message ID.
	MessageID
	// Attribute takes a String message attribute.
	Attribute
	// DedupID takes the FIFO MessageDeduplicationId system attribute.
	DedupID
)

// Source says where a message's key comes from. The zero value is BodyField.
type Source struct {
	Kind      Kind
	Attribute string // the message attribute name, for Kind Attribute
}

// Parse reads a source as configured in the environment: "body-id",
// "message-id", "dedup-id" or "attribute:<name>".
func Parse(s string) (Source, error) {
	switch {
	case s == "" || s == "body-id":
		return Source{Kind: BodyField}, nil
	case s == "message-id":
		return Source{Kind: MessageID}, nil
	case s == "dedup-id":
		return Source{Kind: DedupID}, nil
	case strings.HasPrefix(s, "attribute:") && len(s) > len("attribute:"):
		return Source{Kind: Attribute, Attribute: strings.TrimPrefix(s, "attribute:")}, nil
	}
	return Source{}, fmt.Errorf(`sqskey: unknown key source %q: use "body-id", "message-id", "dedup-id" or "attribute:<name>"`, s)
}

func (s Source) String() string {
	switch s.Kind {
	case MessageID:
		return "message-id"
	case DedupID:
		return "dedup-id"
	case Attribute:
		return "attribute:" + s.Attribute
	default:
		return "body-id"
	}
}

// MaxKeyBytes bounds a key; longer keys are rejected rather than truncated.
const MaxKeyBytes = 1024

// ErrMissingKey is matched by every error Key returns: the message carries no
// usable key, so it can never be processed idempotently.
var ErrMissingKey = errors.New("sqskey: missing idempotency key")

// KeyError says why a message has no usable key.
type KeyError struct {
	Source  Source
	Problem string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("sqskey: no idempotency key from %s: %s", e.Source, e.Problem)
}

// Is makes a KeyError match ErrMissingKey.
func (e *KeyError) Is(target error) bool { return target == ErrMissingKey }

// ErrorClass names the failure for logs and metrics.
func (e *KeyError) ErrorClass() string { return "missing-key" }

// Key returns msg's key. bodyKey is the key the caller decoded from the body
// (used for BodyField).
func (s Source) Key(msg events.SQSMessage, bodyKey string) (string, error) {
	var key string
	switch s.Kind {
	case BodyField:
		key = bodyKey
	case MessageID:
		key = msg.MessageId
	case DedupID:
		key = msg.Attributes["MessageDeduplicationId"]
	case Attribute:
		attr, ok := msg.MessageAttributes[s.Attribute]
		if !ok {
			return "", &KeyError{Source: s, Problem: "attribute not present"}
		}
		if attr.DataType != "String" && !strings.HasPrefix(attr.DataType, "String.") || attr.StringValue == nil {
			return "", &KeyError{Source: s, Problem: fmt.Sprintf("attribute has data type %q, want String", attr.DataType)}
		}
		key = *attr.StringValue
	}
	switch {
	case key == "":
		return "", &KeyError{Source: s, Problem: "empty"}
	case len(key) > MaxKeyBytes:
		return "", &KeyError{Source: s, Problem: fmt.Sprintf("%d bytes, at most %d", len(key), MaxKeyBytes)}
	}
	return key, nil
}
