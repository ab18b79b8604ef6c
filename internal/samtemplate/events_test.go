package samtemplate_test

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"
)

// TestEventFixtures checks that events/*.json are what Lambda would send
// from this template's queues: aws-lambda-go's SQSEvent with no unknown
// field, correct MD5s, and the ARN of the template's queue (default Prefix).
func TestEventFixtures(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	arn := func(queue string) string {
		return "arn:aws:sqs:us-east-1:123456789012:" + str(t, tmpl, tmpl.Resources[queue].Properties["QueueName"], nil)
	}
	tests := []struct {
		file    string
		queue   string
		records int
	}{
		{"single.json", "EventsQueue", 1},
		{"batch-10.json", "EventsQueue", 10},
		{"duplicate-in-batch.json", "EventsQueue", 3},
		{"producer-retry.json", "EventsQueue", 1},
		{"redelivery.json", "EventsQueue", 1},
		{"fifo-two-groups.json", "FifoEventsQueue", 6},
		{"malformed.json", "EventsQueue", 8},
		{"sns-envelope.json", "EventsQueue", 3},
		{"eventbridge-envelope.json", "EventsQueue", 3},
	}
	files, err := filepath.Glob(filepath.Join(root, "events", "*.json"))
	require.NoError(t, err)
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "env.json" }) // sam local's --env-vars
	require.Len(t, files, len(tests), "every fixture in events/ is listed here and in events/README.md")
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(root, "events", tt.file))
			require.NoError(t, err)
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			var ev events.SQSEvent
			require.NoError(t, dec.Decode(&ev))
			require.Len(t, ev.Records, tt.records)

			// The decoded event survives a round trip through aws-lambda-go's types.
			again, err := json.Marshal(ev)
			require.NoError(t, err)
			var back events.SQSEvent
			require.NoError(t, json.Unmarshal(again, &back))
			require.Equal(t, ev, back)

			ids := map[string]bool{}
			for i, r := range ev.Records {
				require.NotEmpty(t, r.MessageId, "record %d", i)
				require.False(t, ids[r.MessageId], "record %d: message IDs are distinct within a batch", i)
				ids[r.MessageId] = true
				require.NotEmpty(t, r.ReceiptHandle, "record %d", i)
				require.Equal(t, "aws:sqs", r.EventSource, "record %d", i)
				require.Equal(t, arn(tt.queue), r.EventSourceARN, "record %d", i)
				require.Equal(t, "us-east-1", r.AWSRegion, "record %d", i)
				sum := md5.Sum([]byte(r.Body))
				require.Equal(t, hex.EncodeToString(sum[:]), r.Md5OfBody, "record %d: md5OfBody", i)
				require.Equal(t, md5OfAttributes(r.MessageAttributes), r.Md5OfMessageAttributes, "record %d", i)
				want := []string{"ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "SenderId", "SentTimestamp"}
				if tt.queue == "FifoEventsQueue" {
					want = append(want, "MessageDeduplicationId", "MessageGroupId", "SequenceNumber")
				}
				for _, a := range want {
					require.NotEmpty(t, r.Attributes[a], "record %d: attribute %s", i, a)
				}
			}
		})
	}
}

// md5OfAttributes is SQS's MD5OfMessageAttributes: per attribute, sorted by
// name, the length-prefixed name and data type, a transport byte (1 string,
// 2 binary) and the length-prefixed value. "" when there are none.
func md5OfAttributes(attrs map[string]events.SQSMessageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	field := func(b []byte) {
		_ = binary.Write(&buf, binary.BigEndian, uint32(len(b)))
		buf.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		field([]byte(n))
		field([]byte(a.DataType))
		if a.StringValue != nil {
			buf.WriteByte(1)
			field([]byte(*a.StringValue))
		} else {
			buf.WriteByte(2)
			field(a.BinaryValue)
		}
	}
	sum := md5.Sum(buf.Bytes())
	return hex.EncodeToString(sum[:])
}
