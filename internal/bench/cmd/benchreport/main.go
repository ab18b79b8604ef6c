// Command benchreport turns the output of scripts/bench.sh into the tables
// of docs/BENCHMARKS.md (rewriting each <!-- bench:NAME --> section) and the
// throughput chart (PNG). It reads the benchmark output with
// golang.org/x/perf/benchfmt and draws with gonum.org/v1/plot.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// result is one benchmark: its full name and metrics by unit.
type result struct {
	name    string
	metrics map[string]float64
}

// parse reads the benchmark results of a file in the Go benchmark format.
func parse(path string) ([]result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []result
	r := benchfmt.NewReader(f, path)
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue // a syntax error or unit metadata: not a result
		}
		name := string(res.Name.Full())
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		x := result{name: "Benchmark" + name, metrics: map[string]float64{}}
		for _, v := range res.Values {
			x.metrics[v.Unit] = v.Value
		}
		out = append(out, x)
	}
	if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return out, nil
}

var consumers = []string{"baseline", "default", "any-effect"}

// throughput indexes results by "batch=B/conc=C" and consumer.
func throughput(rs []result, prefix string) (keys []string, by map[string]map[string]result) {
	by = map[string]map[string]result{}
	for _, r := range rs {
		rest, ok := strings.CutPrefix(r.name, prefix+"/")
		if !ok {
			continue
		}
		i := strings.LastIndex(rest, "/consumer=")
		if i < 0 {
			continue
		}
		key, c := rest[:i], rest[i+len("/consumer="):]
		if by[key] == nil {
			by[key] = map[string]result{}
			keys = append(keys, key)
		}
		by[key][c] = r
	}
	return keys, by
}

// table is the throughput of each consumer and its ratio to the baseline.
func table(rs []result, prefix string, absolute bool) string {
	keys, by := throughput(rs, prefix)
	var b strings.Builder
	b.WriteString("| batch | concurrency |")
	for _, c := range consumers {
		if absolute {
			fmt.Fprintf(&b, " %s msgs/s |", c)
		}
		if c != "baseline" {
			fmt.Fprintf(&b, " %s ÷ baseline |", c)
		}
	}
	b.WriteString(" requests/msg (" + strings.Join(consumers, ", ") + ") |\n|")
	b.WriteString(strings.Repeat("--:|", strings.Count(b.String(), "|")-2) + "\n")
	for _, k := range keys {
		parts := strings.Split(k, "/")
		fmt.Fprintf(&b, "| %s | %s |", strings.TrimPrefix(parts[0], "batch="), strings.TrimPrefix(parts[1], "conc="))
		base := by[k]["baseline"].metrics["msgs/s"]
		var reqs []string
		for _, c := range consumers {
			v, ok := by[k][c].metrics["msgs/s"]
			if !ok {
				b.WriteString(" failed |")
				reqs = append(reqs, "-")
				continue
			}
			if absolute {
				fmt.Fprintf(&b, " %.0f |", v)
			}
			if c != "baseline" {
				fmt.Fprintf(&b, " %.2f |", v/base)
			}
			reqs = append(reqs, strconv.FormatFloat(by[k][c].metrics["reqs/msg"], 'f', -1, 64))
		}
		fmt.Fprintf(&b, " %s |\n", strings.Join(reqs, ", "))
	}
	return b.String()
}

// hot is the hot-item table: every message on one account.
func hot(rs []result) string {
	var b strings.Builder
	b.WriteString("| concurrency | consumer | msgs/s applied | failed/msg (retried by SQS) | conflicts/msg |\n|--:|---|--:|--:|--:|\n")
	for _, r := range rs {
		rest, ok := strings.CutPrefix(r.name, "BenchmarkHotItem/batch=10/conc=")
		if !ok {
			continue
		}
		conc, c, _ := strings.Cut(rest, "/consumer=")
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.3f | %.2f |\n", conc, c, r.metrics["msgs/s"], r.metrics["failed/msg"], r.metrics["conflicts/msg"])
	}
	return b.String()
}

// storesTable is the guard's latency and round trips per message on each
// store.
func storesTable(rs []result) string {
	var b strings.Builder
	b.WriteString("| store | path | µs per message | round trips per message |\n|---|---|--:|--:|\n")
	for _, r := range rs {
		rest, ok := strings.CutPrefix(r.name, "BenchmarkStore/")
		store, path, found := strings.Cut(rest, "/")
		if !ok || !found || (store != "dynamodb" && store != "redis" && store != "redis-wait1" && store != "memstore") {
			continue
		}
		trips := "-"
		if v, ok := r.metrics["roundtrips/msg"]; ok {
			trips = strconv.FormatFloat(v, 'f', 2, 64)
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f | %s |\n", store, path, r.metrics["sec/op"]*1e6, trips)
	}
	return b.String()
}

func cpu(rs []result) string {
	var b strings.Builder
	b.WriteString("| benchmark | ns/op | B/op | allocs/op |\n|---|--:|--:|--:|\n")
	for _, r := range rs {
		if strings.HasPrefix(r.name, "BenchmarkGuard") || strings.HasPrefix(r.name, "BenchmarkHandler") {
			fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f |\n", r.name, r.metrics["sec/op"]*1e9, r.metrics["B/op"], r.metrics["allocs/op"])
		}
	}
	return b.String()
}

// chart draws each consumer's throughput on the modelled store against the
// batch size, at one concurrency, as grouped bars.
func chart(rs []result, conc, path string) error {
	keys, by := throughput(rs, "BenchmarkThroughputModel")
	var batches []string
	for _, k := range keys {
		if strings.HasSuffix(k, "/conc="+conc) {
			batches = append(batches, k)
		}
	}
	p := plot.New()
	p.Title.Text = "Throughput on the modelled store (10 ms a call), concurrency " + conc
	p.Y.Label.Text = "messages per second"
	p.X.Label.Text = "messages per batch"
	w := vg.Points(14)
	for i, c := range consumers {
		var vals plotter.Values
		for _, k := range batches {
			vals = append(vals, by[k][c].metrics["msgs/s"])
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		bars.Offset = w * vg.Length(i-len(consumers)/2)
		p.Add(bars)
		p.Legend.Add(c, bars)
	}
	names := make([]string, len(batches))
	for i, k := range batches {
		names[i] = strings.TrimPrefix(strings.Split(k, "/")[0], "batch=")
	}
	p.NominalX(names...)
	p.Legend.Top = true
	p.Legend.Left = true
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}

// replace rewrites the section NAME of doc.
func replace(doc, name, body string) string {
	open, end := "<!-- bench:"+name+" -->", "<!-- /bench:"+name+" -->"
	i, j := strings.Index(doc, open), strings.Index(doc, end)
	if i < 0 || j < i {
		return doc
	}
	return doc[:i+len(open)] + "\n" + body + doc[j:]
}

func main() {
	dir := flag.String("dir", "", "scripts/bench.sh's output directory")
	docPath := flag.String("doc", "docs/BENCHMARKS.md", "the document whose sections are rewritten")
	chartPath := flag.String("chart", "docs/throughput.png", "the chart to write")
	flag.Parse()
	if err := run(*dir, *docPath, *chartPath); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(dir, docPath, chartPath string) error {
	var all []result
	for _, f := range []string{"model.txt", "moto.txt", "cpu.txt", "cold.txt", "stores.txt", "tracing.txt", "relay.txt"} {
		rs, err := parse(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		all = append(all, rs...)
	}
	raw, err := os.ReadFile(docPath)
	if err != nil {
		return err
	}
	doc := string(raw)
	doc = replace(doc, "model", table(all, "BenchmarkThroughputModel", true))
	doc = replace(doc, "moto", table(all, "BenchmarkThroughputMoto", false))
	doc = replace(doc, "hot", hot(all))
	doc = replace(doc, "cpu", cpu(all))
	doc = replace(doc, "stores", storesTable(all))
	doc = replace(doc, "tracing", tracingTable(all))
	doc = replace(doc, "relay", relayTable(all))
	for _, name := range []string{"machine", "accounting", "coldstart"} {
		if b, err := os.ReadFile(filepath.Join(dir, name+".md")); err == nil {
			doc = replace(doc, name, string(b))
		}
	}
	for _, r := range all {
		if r.name == "BenchmarkColdStart" {
			doc = replace(doc, "coldstart-median", fmt.Sprintf("%.0f ms\n", r.metrics["median-ms"]))
		}
	}
	if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
		return err
	}
	return chart(all, "8", chartPath)
}
