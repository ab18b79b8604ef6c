package sqsonce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/sqskey"
)

// SNS is a Message for a queue subscribed to an SNS topic with raw message
// delivery off: each body is SNS's notification JSON, whose "Message" holds
// the event, decoded with encoding/json into T. key finds the event's
// idempotency key ([BodyKey] reads the event; [SNSMessageIDKey] takes the
// notification's MessageId).
//
// A body that is no SNS notification, or whose event does not decode, is a
// permanent failure of class [ClassInvalid], as [JSON]'s are. The payload
// checked when a key comes back is the event itself, so a producer that
// publishes the same event again (a new notification, with a new MessageId
// and Timestamp) is replayed, not refused. With raw message delivery on, the
// body is the event: use [JSON].
func SNS[T any](key KeyFunc[T]) Message[T] {
	return envelope(key, snsEvent)
}

// EventBridge is a Message for a queue that is the target of an EventBridge
// rule (without an input transformer): each body is the EventBridge event,
// whose "detail" holds the event, decoded with encoding/json into T. key
// finds the event's idempotency key ([BodyKey] reads the detail;
// [EventBridgeIDKey] takes the EventBridge event's id).
//
// A body that is no EventBridge event, or whose detail does not decode, is a
// permanent failure of class [ClassInvalid], as [JSON]'s are. The payload
// checked when a key comes back is the detail itself, so the same detail
// put again (a new event, with a new id and time) is replayed, not refused.
// With an input transformer that passes the detail alone, use [JSON].
func EventBridge[T any](key KeyFunc[T]) Message[T] {
	return envelope(key, eventBridgeDetail)
}

// SNSMessageIDKey takes the SNS notification's MessageId: it catches SNS's
// own duplicate deliveries (each a new SQS message), not a producer's
// re-publishing (a new notification). For use with [SNS].
func SNSMessageIDKey[T any]() KeyFunc[T] {
	return func(msg events.SQSMessage, _ T) (string, error) {
		n, err := parseSNS([]byte(msg.Body))
		if err != nil || n.MessageID == "" {
			return "", fmt.Errorf("%w: no SNS MessageId in the body", sqskey.ErrMissingKey)
		}
		return n.MessageID, nil
	}
}

// EventBridgeIDKey takes the EventBridge event's id: it catches
// EventBridge's own duplicate deliveries (each a new SQS message), not a
// producer's putting the event again (a new id). For use with
// [EventBridge].
func EventBridgeIDKey[T any]() KeyFunc[T] {
	return func(msg events.SQSMessage, _ T) (string, error) {
		e, err := parseEventBridge([]byte(msg.Body))
		if err != nil || e.ID == "" {
			return "", fmt.Errorf("%w: no EventBridge event id in the body", sqskey.ErrMissingKey)
		}
		return e.ID, nil
	}
}

// envelope is a Message whose event is inner(body), decoded with
// encoding/json; the payload is the event.
func envelope[T any](key KeyFunc[T], inner func(body []byte) ([]byte, error)) Message[T] {
	return Message[T]{
		Decode: func(body []byte) (T, error) {
			var v T
			event, err := inner(body)
			if err != nil {
				return v, err
			}
			if err := json.Unmarshal(event, &v); err != nil {
				return v, fmt.Errorf("the enveloped event: %w", err)
			}
			return v, nil
		},
		Key: key,
		Payload: func(msg events.SQSMessage, _ T) []byte {
			event, err := inner([]byte(msg.Body))
			if err != nil { // unreachable: Decode read it
				return []byte(msg.Body)
			}
			return event
		},
	}
}

// snsNotification is the part of an SNS notification sqsonce reads.
type snsNotification struct {
	Type      string  `json:"Type"`
	MessageID string  `json:"MessageId"`
	Message   *string `json:"Message"`
}

func parseSNS(body []byte) (snsNotification, error) {
	var n snsNotification
	if err := json.Unmarshal(body, &n); err != nil {
		return n, fmt.Errorf("not an SNS notification: %w", err)
	}
	if n.Type != "Notification" || n.Message == nil {
		return n, errors.New(`not an SNS notification: no "Type":"Notification" with a "Message" (with raw message delivery on, decode the body with sqsonce.JSON)`)
	}
	return n, nil
}

func snsEvent(body []byte) ([]byte, error) {
	n, err := parseSNS(body)
	if err != nil {
		return nil, err
	}
	return []byte(*n.Message), nil
}

// eventBridgeEvent is the part of an EventBridge event sqsonce reads.
type eventBridgeEvent struct {
	ID         string          `json:"id"`
	DetailType *string         `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
}

func parseEventBridge(body []byte) (eventBridgeEvent, error) {
	var e eventBridgeEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("not an EventBridge event: %w", err)
	}
	if e.DetailType == nil || len(e.Detail) == 0 {
		return e, errors.New(`not an EventBridge event: no "detail-type" and "detail" (with an input transformer, decode the body with sqsonce.JSON)`)
	}
	return e, nil
}

func eventBridgeDetail(body []byte) ([]byte, error) {
	e, err := parseEventBridge(body)
	if err != nil {
		return nil, err
	}
	var detail bytes.Buffer
	if err := json.Compact(&detail, e.Detail); err != nil { // unreachable: it parsed
		return nil, fmt.Errorf("not an EventBridge event: %w", err)
	}
	return detail.Bytes(), nil
}
