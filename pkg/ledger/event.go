package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"
)

const (
	// MaxEventBytes is the largest body Decode accepts. A ledger event is a
	// few hundred bytes; anything near SQS's limit is not one of ours.
	MaxEventBytes = 8 << 10
	// MaxIDBytes bounds id and account.
	MaxIDBytes = 128
)

// Event is one ledger movement.
type Event struct {
	// ID is the event's stable identity, the default idempotency key.
	// Non-empty, at most MaxIDBytes.
	ID string `json:"id"`
	// Account is the account the amount moves. Non-empty, at most MaxIDBytes.
	Account string `json:"account"`
	// Amount is in minor units (cents); a non-zero integer that fits int64.
	Amount int64 `json:"amount"`
	// Currency is an ISO 4217 code: three capital letters.
	Currency string `json:"currency"`
	// OccurredAt is when the movement happened (RFC 3339).
	OccurredAt time.Time `json:"occurred_at"`
}

// ErrInvalidEvent is matched (errors.Is) by every error Decode returns.
var ErrInvalidEvent = errors.New("ledger: invalid event")

// ValidationError says which field of an event is wrong and why. It never
// quotes the field's value: errors are logged and bodies may carry secrets.
type ValidationError struct {
	Field   string // JSON field name, or "body"
	Problem string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("ledger: invalid event: %s: %s", e.Field, e.Problem)
}

// Is makes every ValidationError match ErrInvalidEvent.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidEvent }

// ErrorClass names the failure for logs and metrics (sqsonce.ClassOf).
func (e *ValidationError) ErrorClass() string { return "invalid-event" }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// wireEvent keeps amount raw, to tell integers from fractions, strings and
// numbers beyond int64 (encoding/json would round or reject them vaguely).
type wireEvent struct {
	ID         *string         `json:"id"`
	Account    *string         `json:"account"`
	Amount     json.RawMessage `json:"amount"`
	Currency   *string         `json:"currency"`
	OccurredAt *string         `json:"occurred_at"`
}

// Decode parses and validates a body. Every error matches ErrInvalidEvent and
// is a *ValidationError naming the field.
func Decode(body []byte) (Event, error) {
	switch {
	case len(body) == 0:
		return Event{}, invalid("body", "empty")
	case len(body) > MaxEventBytes:
		return Event{}, invalid("body", "%d bytes, more than the %d a ledger event may have", len(body), MaxEventBytes)
	case !utf8.Valid(body):
		return Event{}, invalid("body", "not valid UTF-8")
	}
	var w wireEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return Event{}, invalid("body", "not a JSON object: %v", err)
	}
	if dec.More() {
		return Event{}, invalid("body", "trailing data after the JSON object")
	}
	var ev Event
	var err error
	if ev.ID, err = identifier("id", w.ID); err != nil {
		return Event{}, err
	}
	if ev.Account, err = identifier("account", w.Account); err != nil {
		return Event{}, err
	}
	if ev.Amount, err = amount(w.Amount); err != nil {
		return Event{}, err
	}
	switch {
	case w.Currency == nil:
		return Event{}, invalid("currency", "missing")
	case !currencyPattern.MatchString(*w.Currency):
		return Event{}, invalid("currency", "not three capital letters (ISO 4217, e.g. EUR)")
	}
	ev.Currency = *w.Currency
	if w.OccurredAt == nil {
		return Event{}, invalid("occurred_at", "missing")
	}
	if ev.OccurredAt, err = time.Parse(time.RFC3339Nano, *w.OccurredAt); err != nil {
		return Event{}, invalid("occurred_at", "not an RFC 3339 time")
	}
	return ev, nil
}

func identifier(field string, v *string) (string, error) {
	switch {
	case v == nil:
		return "", invalid(field, "missing")
	case *v == "":
		return "", invalid(field, "empty")
	case len(*v) > MaxIDBytes:
		return "", invalid(field, "%d bytes, at most %d", len(*v), MaxIDBytes)
	case *v == BalanceEntry:
		return "", invalid(field, "%q is reserved", BalanceEntry)
	}
	return *v, nil
}

var integerPattern = regexp.MustCompile(`^-?[0-9]+$`)

func amount(raw json.RawMessage) (int64, error) {
	s := string(raw)
	switch {
	case len(raw) == 0 || s == "null":
		return 0, invalid("amount", "missing")
	case s[0] == '"':
		return 0, invalid("amount", "a string; send an integer number of minor units")
	case !integerPattern.MatchString(s):
		return 0, invalid("amount", "not an integer number of minor units")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, invalid("amount", "does not fit in 64 bits")
	}
	if n == 0 {
		return 0, invalid("amount", "zero moves nothing")
	}
	return n, nil
}

// Canonical is the event's canonical JSON: the known fields in a fixed
// order, times in UTC. It is the payload whose hash idempotency validates,
// so a producer retry that adds an unknown field is still the same event.
func (e Event) Canonical() []byte {
	b, _ := json.Marshal(struct {
		ID         string `json:"id"`
		Account    string `json:"account"`
		Amount     int64  `json:"amount"`
		Currency   string `json:"currency"`
		OccurredAt string `json:"occurred_at"`
	}{e.ID, e.Account, e.Amount, e.Currency, e.OccurredAt.UTC().Format(time.RFC3339Nano)})
	return b
}
