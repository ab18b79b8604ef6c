package esm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFailedRecords(t *testing.T) {
	t.Parallel()
	batch := map[string]bool{"m1": true, "m2": true}
	cases := []struct {
		name    string
		resp    string
		want    []string
		invalid bool
	}{
		{name: "empty response", resp: ``},
		{name: "null response", resp: `null`},
		{name: "empty object", resp: `{}`},
		{name: "null list", resp: `{"batchItemFailures":null}`},
		{name: "empty list", resp: `{"batchItemFailures":[]}`},
		{name: "one failed", resp: `{"batchItemFailures":[{"itemIdentifier":"m2"}]}`, want: []string{"m2"}},
		{name: "all failed", resp: `{"batchItemFailures":[{"itemIdentifier":"m1"},{"itemIdentifier":"m2"}]}`, want: []string{"m1", "m2"}},
		{name: "unknown id", resp: `{"batchItemFailures":[{"itemIdentifier":"bogus"}]}`, invalid: true},
		{name: "empty id", resp: `{"batchItemFailures":[{"itemIdentifier":""}]}`, invalid: true},
		{name: "null id", resp: `{"batchItemFailures":[{"itemIdentifier":null}]}`, invalid: true},
		{name: "bad key name", resp: `{"batchItemFailures":[{"itemId":"m1"}]}`, invalid: true},
		{name: "id not a string", resp: `{"batchItemFailures":[{"itemIdentifier":1}]}`, invalid: true},
		{name: "list not a list", resp: `{"batchItemFailures":"m1"}`, invalid: true},
		{name: "not JSON", resp: `Task timed out`, invalid: true},
		{name: "JSON string", resp: `"ok"`, invalid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := failedRecords([]byte(tc.resp), batch)
			if tc.invalid {
				require.ErrorIs(t, err, ErrInvalidResponse)
				return
			}
			require.NoError(t, err)
			require.Len(t, got, len(tc.want))
			for _, id := range tc.want {
				require.True(t, got[id], id)
			}
		})
	}
}

func TestRegionOf(t *testing.T) {
	t.Parallel()
	require.Equal(t, "eu-west-3", regionOf("arn:aws:sqs:eu-west-3:123456789012:q"))
	require.Equal(t, "", regionOf("not-an-arn"))
}
