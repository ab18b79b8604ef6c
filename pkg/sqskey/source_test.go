package sqskey_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqskey"
)

func ptr(s string) *string { return &s }

func TestKey(t *testing.T) {
	t.Parallel()
	msg := events.SQSMessage{
		MessageId:  "m-1",
		Attributes: map[string]string{"MessageDeduplicationId": "dedup-1"},
		MessageAttributes: map[string]events.SQSMessageAttribute{
			"idem":   {DataType: "String", StringValue: ptr("attr-1")},
			"number": {DataType: "Number", StringValue: ptr("7")},
			"blob":   {DataType: "Binary", BinaryValue: []byte{1}},
		},
	}
	for _, tc := range []struct {
		source  string
		bodyKey string
		want    string
		wantErr bool
	}{
		{source: "", bodyKey: "evt-1", want: "evt-1"},
		{source: "body-id", bodyKey: "", wantErr: true},
		{source: "message-id", want: "m-1"},
		{source: "dedup-id", want: "dedup-1"},
		{source: "attribute:idem", want: "attr-1"},
		{source: "attribute:missing", wantErr: true},
		{source: "attribute:number", wantErr: true},
		{source: "attribute:blob", wantErr: true},
		{source: "body-id", bodyKey: strings.Repeat("k", sqskey.MaxKeyBytes+1), wantErr: true},
	} {
		t.Run(tc.source+"/"+tc.want, func(t *testing.T) {
			t.Parallel()
			src, err := sqskey.Parse(tc.source)
			require.NoError(t, err)
			got, err := src.Key(msg, tc.bodyKey)
			if tc.wantErr {
				require.ErrorIs(t, err, sqskey.ErrMissingKey)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseRejectsUnknown(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"id", "attribute:", "MESSAGE-ID"} {
		_, err := sqskey.Parse(s)
		require.Error(t, err, s)
	}
	src, err := sqskey.Parse("attribute:x")
	require.NoError(t, err)
	require.Equal(t, "attribute:x", src.String())
}

// FuzzKey: any message and source never panics, and a key is either returned
// non-empty and bounded, or the error is ErrMissingKey.
func FuzzKey(f *testing.F) {
	f.Add("body-id", "evt-1", "m", "String", "v")
	f.Add("attribute:a", "", "m", "Number", "1")
	f.Add("dedup-id", "", "", "", "")
	f.Fuzz(func(t *testing.T, source, bodyKey, messageID, dataType, value string) {
		src, err := sqskey.Parse(source)
		if err != nil {
			return
		}
		msg := events.SQSMessage{
			MessageId:         messageID,
			Attributes:        map[string]string{"MessageDeduplicationId": value},
			MessageAttributes: map[string]events.SQSMessageAttribute{src.Attribute: {DataType: dataType, StringValue: &value}},
		}
		key, err := src.Key(msg, bodyKey)
		if err != nil {
			if !errors.Is(err, sqskey.ErrMissingKey) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if key == "" || len(key) > sqskey.MaxKeyBytes {
			t.Fatalf("bad key %q", key)
		}
	})
}
