package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	rc, err := load(env(map[string]string{"OUTBOX_TABLE": "ob", "OUTBOX_SENT_RETENTION": "-1s", "RELAY_CONCURRENCY": "3"}))
	require.NoError(t, err)
	require.Equal(t, "ob", rc.Table.Name)
	require.Equal(t, -time.Second, rc.Table.SentRetention)
	require.Equal(t, 3, rc.Concurrency)
	for name, m := range map[string]map[string]string{
		"OUTBOX_TABLE":          {},
		"OUTBOX_SENT_RETENTION": {"OUTBOX_TABLE": "ob", "OUTBOX_SENT_RETENTION": "soon"},
		"RELAY_CONCURRENCY":     {"OUTBOX_TABLE": "ob", "RELAY_CONCURRENCY": "0"},
	} {
		_, err := load(env(m))
		require.ErrorContains(t, err, name)
	}
}
