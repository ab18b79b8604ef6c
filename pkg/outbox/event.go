package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Event is one event an effect publishes: where it goes and what it says.
type Event struct {
	// To is where the event goes: an SQS queue, an SNS topic or an
	// EventBridge bus. Required.
	To Destination
	// Body is the message (SQS, SNS) or the event's detail, a JSON object
	// (EventBridge). Required.
	Body string
	// Attributes are string message attributes (SQS, SNS; not EventBridge).
	// AttrEventID is set by the relay.
	Attributes map[string]string
}

// AttrEventID is the message attribute of an SQS or SNS message that
// carries its event's stable ID. EventBridge events carry it in their
// resources, as ResourceEventIDPrefix + ID.
const AttrEventID = "sqsonce-event-id"

// ResourceEventIDPrefix prefixes the event ID in an EventBridge event's
// resources.
const ResourceEventIDPrefix = "sqsonce:event:"

// Destination is an SQS, SNS or EventBridge destination: SQS, SNS or
// EventBridge.
type Destination interface {
	kind() string
	target() string
	group() string
	validate(body string) error
}

// Destination kinds as stored in an outbox item.
const (
	KindSQS         = "sqs"
	KindSNS         = "sns"
	KindEventBridge = "events"
)

// SQS is an SQS queue. A FIFO queue (its URL ends in .fifo) needs a
// GroupID; its events are sent in commit order per group.
type SQS struct {
	QueueURL string
	// GroupID is the FIFO message group. Required for a FIFO queue.
	GroupID string
	// DeduplicationID is the FIFO deduplication ID. Default: the event's ID.
	DeduplicationID string
}

// SNS is an SNS topic. A FIFO topic (its ARN ends in .fifo) needs a
// GroupID; its events are sent in commit order per group.
type SNS struct {
	TopicARN string
	// GroupID is the FIFO message group. Required for a FIFO topic.
	GroupID string
	// DeduplicationID is the FIFO deduplication ID. Default: the event's ID.
	DeduplicationID string
}

// EventBridge is an EventBridge event bus. Its events have no order.
type EventBridge struct {
	// EventBusName is the bus's name or ARN. Default "default".
	EventBusName string
	// Source and DetailType classify the event. Required.
	Source     string
	DetailType string
	// Resources are the ARNs the event concerns; the relay adds
	// ResourceEventIDPrefix + the event's ID.
	Resources []string
}

func (SQS) kind() string         { return KindSQS }
func (SNS) kind() string         { return KindSNS }
func (EventBridge) kind() string { return KindEventBridge }

func (d SQS) target() string { return d.QueueURL }
func (d SNS) target() string { return d.TopicARN }
func (d EventBridge) target() string {
	if d.EventBusName == "" {
		return "default"
	}
	return d.EventBusName
}

func (d SQS) group() string         { return d.GroupID }
func (d SNS) group() string         { return d.GroupID }
func (d EventBridge) group() string { return "" }

// ErrInvalidEvent is matched by the error of an event that can never be
// published: no destination, an empty body, a FIFO destination without a
// group, an EventBridge detail that is no JSON object.
var ErrInvalidEvent = errors.New("outbox: invalid event")

func (d SQS) validate(string) error {
	return validateFIFO("SQS.QueueURL", "queue", d.QueueURL, d.GroupID, d.DeduplicationID)
}

func (d SNS) validate(string) error {
	return validateFIFO("SNS.TopicARN", "topic", d.TopicARN, d.GroupID, d.DeduplicationID)
}

// validateFIFO checks the target of an SQS or SNS destination, and that its
// group is set when it is FIFO (.fifo), and a deduplication ID only then.
func validateFIFO(field, what, target, group, dedup string) error {
	switch fifo := strings.HasSuffix(target, ".fifo"); {
	case target == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalidEvent, field)
	case fifo && group == "":
		return fmt.Errorf("%w: no GroupID for the FIFO %s %s", ErrInvalidEvent, what, target)
	case !fifo && dedup != "":
		return fmt.Errorf("%w: a DeduplicationID for the standard %s %s", ErrInvalidEvent, what, target)
	}
	return nil
}

func (d EventBridge) validate(body string) error {
	var detail map[string]json.RawMessage
	switch {
	case d.Source == "" || d.DetailType == "":
		return fmt.Errorf("%w: EventBridge.Source and DetailType are required", ErrInvalidEvent)
	case json.Unmarshal([]byte(body), &detail) != nil:
		return fmt.Errorf("%w: an EventBridge detail must be a JSON object", ErrInvalidEvent)
	}
	return nil
}

func (e Event) validate() error {
	switch {
	case e.To == nil:
		return fmt.Errorf("%w: no destination (Event.To)", ErrInvalidEvent)
	case e.Body == "":
		return fmt.Errorf("%w: an empty body", ErrInvalidEvent)
	}
	if _, ok := e.To.(EventBridge); ok && len(e.Attributes) > 0 {
		return fmt.Errorf("%w: EventBridge events have no message attributes", ErrInvalidEvent)
	}
	if _, ok := e.Attributes[AttrEventID]; ok {
		return fmt.Errorf("%w: the attribute %s is the relay's", ErrInvalidEvent, AttrEventID)
	}
	return e.To.validate(e.Body)
}

// EventError is the error of an effect's event that cannot be published:
// Index is its position in the effect's events. It matches ErrInvalidEvent,
// or dynamostore.ErrInvalidWrite for an event too large for DynamoDB.
type EventError struct {
	Index int
	Err   error
}

func (e *EventError) Error() string { return fmt.Sprintf("event %d: %v", e.Index, e.Err) }
func (e *EventError) Unwrap() error { return e.Err }
