package demo

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sqsonce/sqsonce/internal/ops/progress"
)

// stages writes the demo's stage lines and its progress bar.
type stages struct {
	line  *progress.Line
	start time.Time
}

func newStages(w io.Writer, width int) *stages {
	if w == nil {
		w = io.Discard
	}
	return &stages{line: progress.New(w, width), start: time.Now()}
}

func (p *stages) stage(format string, args ...any) {
	p.line.Println("demo: %5.1fs %s", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// bar draws done of total with a note.
func (p *stages) bar(done, total int, note string) {
	const width = 30
	done = min(done, total)
	filled := 0
	if total > 0 {
		filled = done * width / total
	}
	p.line.Set("[%s%s] %d/%d %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, note)
}

func (p *stages) done() { p.line.Done() }
