// Command benchreport turns the output of scripts/bench.sh into the tables
// of docs/BENCHMARKS.md (rewriting each <!-- bench:NAME --> section) and the
// throughput chart (PNG).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// result is one benchmark line: its name and metrics by unit.
type result struct {
	name    string
	metrics map[string]float64
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)

func parse(path string) ([]result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []result
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		r := result{name: m[1], metrics: map[string]float64{}}
		fields := strings.Fields(m[3])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err == nil {
				r.metrics[fields[i+1]] = v
			}
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

var consumers = []string{"baseline", "plain", "tx", "tx+ahead", "batch"}

// throughput indexes msgs/s by "batch=B/conc=C" and consumer.
func throughput(rs []result, prefix string) (keys []string, by map[string]map[string]result) {
	by = map[string]map[string]result{}
	for _, r := range rs {
		rest, ok := strings.CutPrefix(r.name, prefix+"/")
		if !ok {
			continue
		}
		i := strings.LastIndex(rest, "/consumer=")
		key, c := rest[:i], rest[i+len("/consumer="):]
		if by[key] == nil {
			by[key] = map[string]result{}
			keys = append(keys, key)
		}
		by[key][c] = r
	}
	return keys, by
}

func table(rs []result, prefix string, absolute bool) string {
	keys, by := throughput(rs, prefix)
	var b strings.Builder
	b.WriteString("| batch | concurrency |")
	for _, c := range consumers {
		if absolute {
			fmt.Fprintf(&b, " %s msgs/s |", c)
		}
		if c != "baseline" || !absolute {
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
			if c != "baseline" || !absolute {
				fmt.Fprintf(&b, " %.2f |", v/base)
			}
			reqs = append(reqs, strconv.FormatFloat(by[k][c].metrics["reqs/msg"], 'f', -1, 64))
		}
		fmt.Fprintf(&b, " %s |\n", strings.Join(reqs, ", "))
	}
	return b.String()
}

func cpu(rs []result) string {
	var b strings.Builder
	b.WriteString("| benchmark | ns/op | B/op | allocs/op |\n|---|--:|--:|--:|\n")
	for _, r := range rs {
		if strings.HasPrefix(r.name, "BenchmarkGuard") || strings.HasPrefix(r.name, "BenchmarkHandler") {
			fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f |\n", r.name, r.metrics["ns/op"], r.metrics["B/op"], r.metrics["allocs/op"])
		}
	}
	return b.String()
}

// chart draws msgs/s (log scale) against concurrency 1, 8, 32 for one batch
// size: one line per consumer, with axes, tick labels and a legend.
func chart(rs []result, batch, path string) error {
	_, by := throughput(rs, "BenchmarkThroughputModel")
	colors := map[string]color.RGBA{
		"baseline": {0, 0, 0, 255}, "plain": {220, 50, 47, 255}, "tx": {38, 139, 210, 255}, "tx+ahead": {108, 113, 196, 255}, "batch": {133, 153, 0, 255},
	}
	const w, h = 760, 440
	const left, right, top, bottom = 70, 170, 50, 60
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	black, grey := color.RGBA{0, 0, 0, 255}, color.RGBA{210, 210, 210, 255}
	lo, hi := 1.0, 10.0
	for _, m := range by {
		for _, r := range m {
			hi = math.Max(hi, r.metrics["msgs/s"])
		}
	}
	hi = math.Pow(10, math.Ceil(math.Log10(hi)))
	lo = math.Max(lo, hi/1e5)
	y := func(v float64) int {
		return h - bottom - int(float64(h-top-bottom)*(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo)))
	}
	for d := lo; d <= hi; d *= 10 { // a grid line and a label per decade
		line(img, left, y(d), w-right, y(d), grey)
		label := decade(d)
		text(img, left-8-7*len(label), y(d)+4, label, black)
	}
	line(img, left, h-bottom, w-right, h-bottom, black)
	line(img, left, top, left, h-bottom, black)
	concs := []string{"1", "8", "32"}
	x := func(i int) int { return left + 30 + i*(w-left-right-60)/(len(concs)-1) }
	for i, c := range concs {
		line(img, x(i), h-bottom, x(i), h-bottom+5, black)
		text(img, x(i)-3*len(c), h-bottom+20, c, black)
	}
	text(img, left+(w-left-right)/2-80, h-bottom+42, "concurrent invocations", black)
	text(img, 8, top-12, "messages/s (log scale)", black)
	text(img, left, 20, "Throughput, batches of "+batch+", modelled store (10 ms per DynamoDB call)", black)
	for k, c := range consumers {
		ly := top + 20 + 22*k
		for t := -1; t <= 1; t++ {
			line(img, w-right+20, ly+t, w-right+50, ly+t, colors[c])
		}
		text(img, w-right+58, ly+4, c, black)
		for i := 0; i+1 < len(concs); i++ {
			a := by["batch="+batch+"/conc="+concs[i]][c].metrics["msgs/s"]
			z := by["batch="+batch+"/conc="+concs[i+1]][c].metrics["msgs/s"]
			if a > 0 && z > 0 {
				for t := -1; t <= 1; t++ {
					line(img, x(i), y(a)+t, x(i+1), y(z)+t, colors[c])
				}
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return png.Encode(f, img)
}

// decade labels a power of ten: 1, 10, 100, 1k, 10k, 100k, 1M.
func decade(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 0, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// text draws s with its baseline at (x, y) in a 7x13 bitmap font.
func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	n := max(abs(x1-x0), abs(y1-y0), 1)
	for i := 0; i <= n; i++ {
		img.SetRGBA(x0+(x1-x0)*i/n, y0+(y1-y0)*i/n, c)
	}
}

func abs(v int) int { return max(v, -v) }

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
	var all []result
	for _, f := range []string{"model.txt", "moto.txt", "cpu.txt", "cold.txt"} {
		rs, err := parse(filepath.Join(*dir, f))
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		all = append(all, rs...)
	}
	raw, err := os.ReadFile(*docPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	doc := string(raw)
	doc = replace(doc, "model", table(all, "BenchmarkThroughputModel", true))
	doc = replace(doc, "moto", table(all, "BenchmarkThroughputMoto", false))
	doc = replace(doc, "cpu", cpu(all))
	for _, name := range []string{"machine", "accounting", "coldstart"} {
		if b, err := os.ReadFile(filepath.Join(*dir, name+".md")); err == nil {
			doc = replace(doc, name, string(b))
		}
	}
	for _, r := range all {
		if r.name == "BenchmarkColdStart" {
			doc = replace(doc, "coldstart-median", fmt.Sprintf("%.0f ms\n", r.metrics["median-ms"]))
		}
	}
	err = os.WriteFile(*docPath, []byte(doc), 0o644)
	if err == nil {
		err = chart(all, "100", *chartPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}
