package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// tracingTable is BenchmarkTracing's CPU and memory per message, the
// median of its runs, with what tracing adds to it off.
func tracingTable(rs []result) string {
	runs := map[string][]result{}
	var names []string
	for _, r := range rs {
		if !strings.HasPrefix(r.name, "BenchmarkTracing/") {
			continue
		}
		if runs[r.name] == nil {
			names = append(names, r.name)
		}
		runs[r.name] = append(runs[r.name], r)
	}
	var b strings.Builder
	b.WriteString("| tracing | CPU per message | added to off | B per message | allocs per message | runs |\n|---|--:|--:|--:|--:|--:|\n")
	var off float64
	for _, name := range names {
		parts := strings.Split(strings.TrimPrefix(name, "BenchmarkTracing/"), "/") // batch=N, variant
		if len(parts) != 2 {
			continue
		}
		batch, err := strconv.Atoi(strings.TrimPrefix(parts[0], "batch="))
		if err != nil || batch == 0 {
			continue
		}
		cpu := median(runs[name], "cpu-sec/msg") * 1e9 // benchfmt reads cpu-ns/msg as seconds
		if parts[1] == "off" {
			off = cpu
		}
		added := "-"
		if parts[1] != "off" && off > 0 {
			added = fmt.Sprintf("+%.1f µs", (cpu-off)/1e3)
		}
		fmt.Fprintf(&b, "| %s | %.1f µs | %s | %.0f | %.1f | %d |\n", parts[1], cpu/1e3, added,
			median(runs[name], "B/op")/float64(batch), median(runs[name], "allocs/op")/float64(batch), len(runs[name]))
	}
	return b.String()
}

// median is the median of one metric over runs of a benchmark.
func median(runs []result, unit string) float64 {
	vs := make([]float64, 0, len(runs))
	for _, r := range runs {
		vs = append(vs, r.metrics[unit])
	}
	slices.Sort(vs)
	if len(vs) == 0 {
		return 0
	}
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}

// relayTable is BenchmarkRelay's cost of one event through the outbox, the
// median of its runs.
func relayTable(rs []result) string {
	var runs []result
	for _, r := range rs {
		if r.name == "BenchmarkRelay" {
			runs = append(runs, r)
		}
	}
	var b strings.Builder
	b.WriteString("| outbox item, WRU per event (in the effect's transaction) | relay requests per event | relay WRU per event | commit to send, p50 | max | runs |\n|--:|--:|--:|--:|--:|--:|\n")
	if len(runs) > 0 {
		fmt.Fprintf(&b, "| %.2f | %.2f | %.2f | %.0f ms | %.0f ms | %d |\n", median(runs, "outbox-wru/event"),
			median(runs, "relay-reqs/event"), median(runs, "relay-wru/event"), median(runs, "p50-ms"), median(runs, "max-ms"), len(runs))
	}
	return b.String()
}
