package sqsonce_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// transfer is the enveloped event of these tests.
type transfer struct {
	ID     string `json:"id"`
	Amount int    `json:"amount"`
}

func transferID(t transfer) string { return t.ID }

// snsBody is an SQS body as SNS delivers a notification (raw message
// delivery off).
func snsBody(messageID, typ, message string) string {
	b, _ := json.MarshalIndent(map[string]string{
		"Type": typ, "MessageId": messageID, "TopicArn": "arn:aws:sns:us-east-1:123456789012:transfers",
		"Message": message, "Timestamp": "2026-11-27T11:00:01.000Z", "SignatureVersion": "1", "Signature": "c2ln",
	}, "", "  ")
	return string(b)
}

// eventBridgeBody is an SQS body as an EventBridge rule delivers an event.
func eventBridgeBody(id, detail string) string {
	return `{"version":"0","id":"` + id + `","detail-type":"Transfer","source":"com.example","account":"123456789012",` +
		`"time":"2026-11-27T12:00:01Z","region":"us-east-1","resources":[],"detail":` + detail + `}`
}

// TestEnvelopes reads bodies with SNS and EventBridge: the event is
// decoded from its envelope, the key found in it, and the payload is the
// event alone, so that the same event in a new envelope is the same
// payload.
func TestEnvelopes(t *testing.T) {
	t.Parallel()
	const event = `{"id":"t-1","amount":5}`
	tests := []struct {
		name        string
		msg         sqsonce.Message[transfer]
		body        string
		want        transfer
		wantKey     string
		wantPayload string
		wantErr     bool
	}{
		{
			name: "SNS notification", msg: sqsonce.SNS(sqsonce.BodyKey(transferID)),
			body: snsBody("sns-1", "Notification", event),
			want: transfer{ID: "t-1", Amount: 5}, wantKey: "t-1", wantPayload: event,
		},
		{
			name: "SNS notification re-published", msg: sqsonce.SNS(sqsonce.BodyKey(transferID)),
			body: snsBody("sns-2", "Notification", event),
			want: transfer{ID: "t-1", Amount: 5}, wantKey: "t-1", wantPayload: event,
		},
		{
			name: "SNS MessageId as the key", msg: sqsonce.SNS(sqsonce.SNSMessageIDKey[transfer]()),
			body: snsBody("sns-1", "Notification", event),
			want: transfer{ID: "t-1", Amount: 5}, wantKey: "sns-1", wantPayload: event,
		},
		{
			name: "SNS with raw message delivery on", msg: sqsonce.SNS(sqsonce.BodyKey(transferID)),
			body: event, wantErr: true,
		},
		{
			name: "SNS subscription confirmation", msg: sqsonce.SNS(sqsonce.BodyKey(transferID)),
			body: snsBody("sns-1", "SubscriptionConfirmation", "You have chosen to subscribe"), wantErr: true,
		},
		{
			name: "SNS notification of no JSON", msg: sqsonce.SNS(sqsonce.BodyKey(transferID)),
			body: snsBody("sns-1", "Notification", "hello"), wantErr: true,
		},
		{
			name: "SNS notification of another shape", msg: sqsonce.SNS(sqsonce.BodyKey(transferID)),
			body: snsBody("sns-1", "Notification", `{"id":7}`), wantErr: true,
		},
		{
			name: "not JSON", msg: sqsonce.SNS(sqsonce.BodyKey(transferID)),
			body: "not json", wantErr: true,
		},
		{
			name: "EventBridge event", msg: sqsonce.EventBridge(sqsonce.BodyKey(transferID)),
			body: eventBridgeBody("eb-1", event),
			want: transfer{ID: "t-1", Amount: 5}, wantKey: "t-1", wantPayload: event,
		},
		{
			name: "EventBridge event put again, formatted otherwise", msg: sqsonce.EventBridge(sqsonce.BodyKey(transferID)),
			body: eventBridgeBody("eb-2", `{ "id": "t-1", "amount": 5 }`),
			want: transfer{ID: "t-1", Amount: 5}, wantKey: "t-1", wantPayload: event,
		},
		{
			name: "EventBridge id as the key", msg: sqsonce.EventBridge(sqsonce.EventBridgeIDKey[transfer]()),
			body: eventBridgeBody("eb-1", event),
			want: transfer{ID: "t-1", Amount: 5}, wantKey: "eb-1", wantPayload: event,
		},
		{
			name: "EventBridge through an input transformer", msg: sqsonce.EventBridge(sqsonce.BodyKey(transferID)),
			body: event, wantErr: true,
		},
		{
			name: "EventBridge detail of another shape", msg: sqsonce.EventBridge(sqsonce.BodyKey(transferID)),
			body: eventBridgeBody("eb-1", `{"amount":"five"}`), wantErr: true,
		},
		{
			name: "EventBridge body is an SNS notification", msg: sqsonce.EventBridge(sqsonce.BodyKey(transferID)),
			body: snsBody("sns-1", "Notification", event), wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.msg.Decode([]byte(tt.body))
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			msg := events.SQSMessage{MessageId: "m-1", Body: tt.body}
			key, err := tt.msg.Key(msg, got)
			require.NoError(t, err)
			require.Equal(t, tt.wantKey, key)
			require.Equal(t, tt.wantPayload, string(tt.msg.Payload(msg, got)))
		})
	}
}

// TestEnvelopeKeysMissing: the envelope's own keys are missing from a body
// without its envelope.
func TestEnvelopeKeysMissing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  sqsonce.KeyFunc[transfer]
		body string
	}{
		{"SNS MessageId of a bare event", sqsonce.SNSMessageIDKey[transfer](), `{"id":"t-1"}`},
		{"SNS MessageId of an EventBridge event", sqsonce.SNSMessageIDKey[transfer](), eventBridgeBody("eb-1", `{}`)},
		{"EventBridge id of a bare event", sqsonce.EventBridgeIDKey[transfer](), `{"id":"t-1"}`},
		{"EventBridge id of an empty id", sqsonce.EventBridgeIDKey[transfer](), eventBridgeBody("", `{}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.key(events.SQSMessage{Body: tt.body}, transfer{})
			require.ErrorIs(t, err, sqsonce.ErrMissingKey)
		})
	}
}

// ledgerEvent is the event of the repository's fixtures.
type ledgerEvent struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
}

// TestEnvelopeFixtures reads events/sns-envelope.json and
// events/eventbridge-envelope.json as SNS and EventBridge read them: two
// events, the first published again in a new envelope (the same key and
// payload).
func TestEnvelopeFixtures(t *testing.T) {
	t.Parallel()
	key := sqsonce.BodyKey(func(e ledgerEvent) string { return e.ID })
	tests := []struct {
		file     string
		msg      sqsonce.Message[ledgerEvent]
		wantKeys []string
	}{
		{"sns-envelope.json", sqsonce.SNS(key), []string{"evt-601", "evt-602", "evt-601"}},
		{"eventbridge-envelope.json", sqsonce.EventBridge(key), []string{"evt-701", "evt-702", "evt-701"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("..", "..", "events", tt.file))
			require.NoError(t, err)
			var ev events.SQSEvent
			require.NoError(t, json.Unmarshal(data, &ev))
			var keys []string
			var payloads []string
			for _, m := range ev.Records {
				body, err := tt.msg.Decode([]byte(m.Body))
				require.NoError(t, err)
				k, err := tt.msg.Key(m, body)
				require.NoError(t, err)
				keys = append(keys, k)
				payloads = append(payloads, string(tt.msg.Payload(m, body)))
			}
			require.Equal(t, tt.wantKeys, keys)
			require.Equal(t, payloads[0], payloads[2], "the event published again is the same payload")
			require.NotEqual(t, ev.Records[0].Body, ev.Records[2].Body, "in a new envelope")
		})
	}
}
