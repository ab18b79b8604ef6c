package batch_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/sqsonce/internal/batch"
)

func TestLogsOneLinePerRecordWithoutBody(t *testing.T) {
	t.Parallel()
	// slog's JSON handler serializes its writes, and Process returns after
	// every record's line, so a plain buffer is safe here.
	var out bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&out, nil))
	p := newProcessor(t, (&scripted{}).handle, batch.Config{Logger: logger})
	ev := standard("ok-1", "fail-2", "panic-3", "perm-4")
	for i := range ev.Records {
		ev.Records[i].Body += " SECRET-MARKER"
	}
	_, err := p.Process(context.Background(), ev)
	require.NoError(t, err)

	require.NotContains(t, out.String(), "SECRET-MARKER")
	type line struct {
		Level      string  `json:"level"`
		MessageID  string  `json:"message_id"`
		Outcome    string  `json:"outcome"`
		DurationMS float64 `json:"duration_ms"`
		ErrorClass string  `json:"error_class"`
		Error      string  `json:"error"`
		Stack      string  `json:"stack"`
	}
	got := map[string]line{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var l line
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
		got[l.MessageID] = l
	}
	require.Len(t, got, 4)
	require.Equal(t, line{Level: "INFO", MessageID: "ok-1", Outcome: "succeeded", DurationMS: got["ok-1"].DurationMS}, got["ok-1"])
	require.Equal(t, "failed", got["fail-2"].Outcome)
	require.Equal(t, batch.ClassError, got["fail-2"].ErrorClass)
	require.Equal(t, "WARN", got["fail-2"].Level)
	require.Equal(t, "panicked", got["panic-3"].Outcome)
	require.Equal(t, batch.ClassPanic, got["panic-3"].ErrorClass)
	require.Equal(t, "ERROR", got["panic-3"].Level)
	require.True(t, strings.Contains(got["panic-3"].Stack, "scripted"), "the stack names the panicking handler")
	require.Equal(t, "permanent", got["perm-4"].Outcome)
	require.Equal(t, batch.ClassPermanent, got["perm-4"].ErrorClass)
}
