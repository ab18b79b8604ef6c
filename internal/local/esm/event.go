package esm

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// eventSource is the eventSource of every SQS record.
const eventSource = "aws:sqs"

// lambdaAttributes are the system attributes Lambda puts in a record's
// "attributes"; the FIFO ones and AWSTraceHeader appear only when the message
// has them.
var lambdaAttributes = []types.MessageSystemAttributeName{
	types.MessageSystemAttributeNameApproximateReceiveCount,
	types.MessageSystemAttributeNameSentTimestamp,
	types.MessageSystemAttributeNameSenderId,
	types.MessageSystemAttributeNameApproximateFirstReceiveTimestamp,
	types.MessageSystemAttributeNameSequenceNumber,
	types.MessageSystemAttributeNameMessageGroupId,
	types.MessageSystemAttributeNameMessageDeduplicationId,
	types.MessageSystemAttributeNameAWSTraceHeader,
}

// newEvent converts received messages into the event Lambda would send.
func newEvent(msgs []types.Message, queueARN, region string) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		ev.Records = append(ev.Records, newRecord(m, queueARN, region))
	}
	return ev
}

func newRecord(m types.Message, queueARN, region string) events.SQSMessage {
	attrs := make(map[string]string, len(lambdaAttributes))
	for _, name := range lambdaAttributes {
		if v, ok := m.Attributes[string(name)]; ok {
			attrs[string(name)] = v
		}
	}
	msgAttrs := make(map[string]events.SQSMessageAttribute, len(m.MessageAttributes))
	for name, v := range m.MessageAttributes {
		msgAttrs[name] = events.SQSMessageAttribute{
			StringValue: v.StringValue,
			BinaryValue: v.BinaryValue,
			// Lambda sends these as empty lists, never null.
			StringListValues: nonNil(v.StringListValues),
			BinaryListValues: nonNil(v.BinaryListValues),
			DataType:         aws.ToString(v.DataType),
		}
	}
	return events.SQSMessage{
		MessageId:              aws.ToString(m.MessageId),
		ReceiptHandle:          aws.ToString(m.ReceiptHandle),
		Body:                   aws.ToString(m.Body),
		Md5OfBody:              aws.ToString(m.MD5OfBody),
		Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
		Attributes:             attrs,
		MessageAttributes:      msgAttrs,
		EventSourceARN:         queueARN,
		EventSource:            eventSource,
		AWSRegion:              region,
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// regionOf returns the region field of an ARN
// (arn:partition:service:region:account:resource), or "".
func regionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[3]
}
