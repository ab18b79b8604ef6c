package otlpsink

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// treeAttrs are the attributes a tree shows, in this order, when a span has
// them.
var treeAttrs = []string{
	"messaging.message.id", "sqsonce.outcome", "sqsonce.idempotency", "sqsonce.from_cache", "error.type",
	"messaging.batch.message_count", "faas.invocation_id",
}

// Tree draws spans as a tree: each span under its parent, children in the
// order they started; a span whose parent is not among spans is a root.
// Each line has the span's name, its service, kind and duration, and the
// attributes that say what became of a record.
func Tree(spans []Span) string {
	ids := make(map[string]bool, len(spans))
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	children := map[string][]Span{}
	var roots []Span
	for _, s := range spans {
		if s.ParentID == "" || !ids[s.ParentID] {
			roots = append(roots, s)
			continue
		}
		children[s.ParentID] = append(children[s.ParentID], s)
	}
	byStart := func(ss []Span) {
		sort.SliceStable(ss, func(i, j int) bool { return ss[i].Start.Before(ss[j].Start) })
	}
	byStart(roots)
	var b strings.Builder
	var draw func(s Span, prefix string, last, root bool)
	draw = func(s Span, prefix string, last, root bool) {
		branch, next := "├─ ", "│  "
		if last {
			branch, next = "└─ ", "   "
		}
		if root {
			branch, next = "", ""
		}
		fmt.Fprintf(&b, "%s%s%s\n", prefix, branch, describe(s))
		kids := children[s.SpanID]
		byStart(kids)
		for i, k := range kids {
			draw(k, prefix+next, i == len(kids)-1, false)
		}
	}
	for _, r := range roots {
		draw(r, "", true, true)
	}
	return b.String()
}

func describe(s Span) string {
	parts := []string{s.Name}
	if s.Service != "" {
		parts = append(parts, "["+s.Service+"]")
	}
	parts = append(parts, s.Kind, s.End.Sub(s.Start).Round(100*time.Microsecond).String())
	for _, k := range treeAttrs {
		if v, ok := s.Attrs[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	if s.Error {
		parts = append(parts, "ERROR")
	}
	return strings.Join(parts, "  ")
}
