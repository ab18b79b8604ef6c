package demo

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress writes stage lines and a one-line bar, redrawn in place with a
// carriage return, to a terminal.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	drawn bool   // a bar is on the current line
	last  string // the bar last drawn
}

func (p *progress) stage(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endBar()
	fmt.Fprintf(p.w, "demo: %5.1fs %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// bar draws done of total with a note.
func (p *progress) bar(done, total int, note string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	const width = 30
	if done > total {
		done = total
	}
	filled := 0
	if total > 0 {
		filled = done * width / total
	}
	line := fmt.Sprintf("[%s%s] %d/%d %-50s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, note)
	if p.drawn && line == p.last {
		return
	}
	fmt.Fprint(p.w, "\r"+line)
	p.drawn, p.last = true, line
}

// endBar ends the bar's line, if one is drawn. Callers hold mu.
func (p *progress) endBar() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endBar()
}
