package otlpsink_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/otlpsink"
)

// A span goes under its parent, children in the order they started; a span
// whose parent is elsewhere is a root.
func TestTree(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(0, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	spans := []otlpsink.Span{
		{Name: "tx", SpanID: "c", ParentID: "b", Kind: "client", Start: at(3), End: at(5), Error: true},
		{Name: "q process", SpanID: "b", ParentID: "a", Kind: "consumer", Service: "consumer", Start: at(2), End: at(6),
			Attrs: map[string]string{"sqsonce.idempotency": "executed", "ignored": "x"}},
		{Name: "q send", SpanID: "a", ParentID: "elsewhere", Kind: "producer", Start: at(0), End: at(1)},
		{Name: "SQS.SendMessageBatch", SpanID: "d", ParentID: "a", Kind: "client", Start: at(1), End: at(2)},
	}
	require.Equal(t, ""+
		"q send  producer  1ms\n"+
		"├─ SQS.SendMessageBatch  client  1ms\n"+
		"└─ q process  [consumer]  consumer  4ms  sqsonce.idempotency=executed\n"+
		"   └─ tx  client  2ms  ERROR\n", otlpsink.Tree(spans))
}
