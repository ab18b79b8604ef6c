package redrive

import (
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// AttrFirstSentAt is the message attribute (a Number, epoch milliseconds)
// in which the receive/send loop keeps a message's first send time on the
// copy it sends, since SQS gives a copy a SentTimestamp of its own: a
// message redriven, failed and dead-lettered again keeps its true age. The
// consumer's own DLQ send (sqsonce.DLQ) sets it too.
const AttrFirstSentAt = sqsonce.AttrFirstSentAt

// firstSentRoom is how many message attributes a message may have for the
// loop to add AttrFirstSentAt: SQS allows 10, and sqsonce.DLQ adds up to
// two of its own when it dead-letters a record.
const firstSentRoom = 7

// FirstSent returns when m was first sent: its AttrFirstSentAt when it has
// one, else its SentTimestamp (which a queue's redrive policy keeps when it
// moves a message to the DLQ; the consumer's own send to the DLQ carries
// AttrFirstSentAt instead).
// It reports false when m has neither (SentTimestamp is returned only when
// asked for).
func FirstSent(m types.Message) (time.Time, bool) {
	if v, ok := m.MessageAttributes[AttrFirstSentAt]; ok {
		if ms, err := strconv.ParseInt(aws.ToString(v.StringValue), 10, 64); err == nil {
			return time.UnixMilli(ms).UTC(), true
		}
	}
	if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	return time.Time{}, false
}

// withFirstSent returns m's message attributes with AttrFirstSentAt added
// when m has none and there is room for it; m's own map is not changed.
func withFirstSent(m types.Message) map[string]types.MessageAttributeValue {
	attrs := m.MessageAttributes
	if _, ok := attrs[AttrFirstSentAt]; ok || len(attrs) > firstSentRoom {
		return attrs
	}
	sent, ok := FirstSent(m)
	if !ok {
		return attrs
	}
	out := make(map[string]types.MessageAttributeValue, len(attrs)+1)
	for k, v := range attrs {
		out[k] = v
	}
	out[AttrFirstSentAt] = types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(strconv.FormatInt(sent.UnixMilli(), 10))}
	return out
}
