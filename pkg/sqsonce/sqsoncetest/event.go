package sqsoncetest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// The queues of [Event] and [FIFOEvent].
const (
	// QueueARN is the standard queue of Event.
	QueueARN Queue = "arn:aws:sqs:us-east-1:123456789012:queue"
	// FIFOQueueARN is the FIFO queue of FIFOEvent.
	FIFOQueueARN Queue = "arn:aws:sqs:us-east-1:123456789012:queue.fifo"
)

// SenderID is the SenderId attribute of every message.
const SenderID = "AIDAIENQZJOLO23YVJ4VO"

// Msg is one message of an event. Only Body is needed; every other field's
// zero value takes the default noted.
type Msg struct {
	// Body is the message's body.
	Body string
	// ID is the SQS message ID. Default "m-<n>", n being the message's
	// position in the event, from 1. Give a message the ID of an earlier
	// one to model its redelivery; a producer's retry has a new ID.
	ID string
	// Group is the MessageGroupId. Default on a FIFO queue "group"; none on
	// a standard queue (set it to model a fair queue).
	Group string
	// DedupID is the MessageDeduplicationId of a FIFO queue's message.
	// Default the hex SHA-256 of Body, as content-based deduplication sets
	// it. Ignored on a standard queue.
	DedupID string
	// Attributes are the message attributes, of data type String, by name.
	Attributes map[string]string
	// ReceiveCount is the ApproximateReceiveCount: how many times SQS has
	// delivered the message, this delivery included. Default 1.
	ReceiveCount int
	// SentAt is the SentTimestamp. Default the time the event is built.
	SentAt time.Time
}

// Event returns a batch of msgs from the standard queue [QueueARN], as
// Lambda delivers it to an SQS consumer.
func Event(msgs ...Msg) events.SQSEvent { return QueueARN.Event(msgs...) }

// FIFOEvent returns a batch of msgs from the FIFO queue [FIFOQueueARN]: each
// message has a MessageGroupId, a MessageDeduplicationId and a
// SequenceNumber (in the order of msgs).
func FIFOEvent(msgs ...Msg) events.SQSEvent { return FIFOQueueARN.Event(msgs...) }

// Queue is a queue by its ARN ("arn:aws:sqs:<region>:<account>:<name>");
// a name ending in ".fifo" is a FIFO queue's, as in SQS.
type Queue string

// FIFO reports whether q is a FIFO queue: its name ends in ".fifo".
func (q Queue) FIFO() bool { return strings.HasSuffix(string(q), ".fifo") }

// Event returns a batch of msgs from q, as Lambda delivers it: each record
// has its eventSourceARN and region, a receipt handle, the body's MD5 and
// the message attributes' MD5, and the system attributes SQS sets.
func (q Queue) Event(msgs ...Msg) events.SQSEvent {
	now := time.Now()
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for i, m := range msgs {
		if m.ID == "" {
			m.ID = fmt.Sprintf("m-%d", i+1)
		}
		if m.ReceiveCount == 0 {
			m.ReceiveCount = 1
		}
		if m.SentAt.IsZero() {
			m.SentAt = now
		}
		sum := md5.Sum([]byte(m.Body))
		rec := events.SQSMessage{
			MessageId:     m.ID,
			ReceiptHandle: fmt.Sprintf("%s#%d", m.ID, m.ReceiveCount),
			Body:          m.Body,
			Md5OfBody:     hex.EncodeToString(sum[:]),
			Attributes: map[string]string{
				"ApproximateReceiveCount":          strconv.Itoa(m.ReceiveCount),
				"SentTimestamp":                    strconv.FormatInt(m.SentAt.UnixMilli(), 10),
				"SenderId":                         SenderID,
				"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.SentAt.UnixMilli(), 10),
			},
			MessageAttributes: map[string]events.SQSMessageAttribute{},
			EventSourceARN:    string(q),
			EventSource:       "aws:sqs",
			AWSRegion:         q.region(),
		}
		for name, v := range m.Attributes {
			rec.MessageAttributes[name] = events.SQSMessageAttribute{
				StringValue: &v, DataType: "String", StringListValues: []string{}, BinaryListValues: [][]byte{},
			}
		}
		rec.Md5OfMessageAttributes = md5OfAttributes(m.Attributes)
		if q.FIFO() {
			if m.Group == "" {
				m.Group = "group"
			}
			if m.DedupID == "" {
				sum := sha256.Sum256([]byte(m.Body))
				m.DedupID = hex.EncodeToString(sum[:])
			}
			rec.Attributes["MessageDeduplicationId"] = m.DedupID
			rec.Attributes["SequenceNumber"] = fmt.Sprintf("%020d", i+1)
		}
		if m.Group != "" {
			rec.Attributes["MessageGroupId"] = m.Group
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

// region is the region field of q's ARN.
func (q Queue) region() string {
	if parts := strings.Split(string(q), ":"); len(parts) == 6 {
		return parts[3]
	}
	return ""
}

// md5OfAttributes is SQS's MD5OfMessageAttributes of String attributes: per
// attribute, sorted by name, the length-prefixed name and data type, the
// transport byte 1 and the length-prefixed value. "" when there are none.
func md5OfAttributes(attrs map[string]string) string {
	if len(attrs) == 0 {
		return ""
	}
	var buf bytes.Buffer
	field := func(s string) {
		_ = binary.Write(&buf, binary.BigEndian, uint32(len(s)))
		buf.WriteString(s)
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		field(n)
		field("String")
		buf.WriteByte(1)
		field(attrs[n])
	}
	sum := md5.Sum(buf.Bytes())
	return hex.EncodeToString(sum[:])
}
