package ledger

import (
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/producer"
	"github.com/sqsonce/sqsonce/pkg/sqskey"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// AttrEventID is the message attribute that carries the event id, for
// consumers keyed on an attribute (KEY_SOURCE=attribute:event_id).
const AttrEventID = "event_id"

// EventMessage is the message of an event: its canonical JSON body, the
// account as FIFO group, and the event id as FIFO deduplication ID and as
// the event_id attribute.
func EventMessage(e Event) producer.Message {
	return producer.Message{
		Body:       string(e.Canonical()),
		GroupID:    e.Account,
		DedupID:    e.ID,
		Attributes: map[string]string{AttrEventID: e.ID},
	}
}

// EncodeEvent validates a raw event and returns its message: the producer
// function's producer.Function.Encode.
func EncodeEvent(raw json.RawMessage) (producer.Message, error) {
	e, err := Decode(raw)
	if err != nil {
		return producer.Message{}, err
	}
	return EventMessage(e), nil
}

// Message reads ledger events for sqsonce: Decode validates them, keys come
// from keys (the event id for sqskey.BodyField), and the payload whose hash
// is checked is the event's canonical encoding.
func Message(keys sqskey.Source) sqsonce.Message[Event] {
	return sqsonce.Message[Event]{
		Decode:  Decode,
		Key:     sqsonce.SourceKey(keys, func(e Event) string { return e.ID }),
		Payload: func(_ events.SQSMessage, e Event) []byte { return e.Canonical() },
	}
}
