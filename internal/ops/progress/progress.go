// Package progress shows a command's progress the way a terminal user and a
// log reader each expect: on a terminal, one line redrawn in place and cut to
// the terminal's width; elsewhere (a file, a pipe, CI), plain lines, at most
// one a second, and the last one always.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// Every is how often a plain (not a terminal) writer gets a progress line.
const Every = time.Second

// Width returns the width of the terminal f is, or 0 when f is not a
// terminal.
func Width(f *os.File) int {
	if f == nil || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil || w <= 0 {
		return 80
	}
	return w
}

// Line is a progress line on w. It is safe for concurrent use.
type Line struct {
	mu      sync.Mutex
	w       io.Writer
	width   int // 0: not a terminal
	now     func() time.Time
	drawn   bool      // terminal: a line is drawn and not ended
	pending string    // plain: the latest text, not yet written
	last    string    // plain: the text last written
	written time.Time // plain: when a line was last written
}

// New returns a progress line on w; width is w's terminal width (see Width),
// 0 when w is not a terminal.
func New(w io.Writer, width int) *Line {
	return &Line{w: w, width: width, now: time.Now}
}

// Terminal reports whether the line is drawn in place.
func (l *Line) Terminal() bool { return l.width > 0 }

// Set replaces the progress text.
func (l *Line) Set(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.width > 0 {
		fmt.Fprint(l.w, "\r"+fit(text, l.width-1)+"\x1b[K")
		l.drawn = true
		return
	}
	if text == l.last {
		l.pending = ""
		return // a log reader needs no repeats
	}
	now := l.now()
	if l.written.IsZero() || now.Sub(l.written) >= Every {
		fmt.Fprintln(l.w, text)
		l.written, l.last, l.pending = now, text, ""
		return
	}
	l.pending = text
}

// Println ends the progress line and writes a line of its own, such as a
// stage or a warning.
func (l *Line) Println(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.end()
	fmt.Fprintf(l.w, format+"\n", args...)
}

// Done ends the progress line: the last text stays on screen, and a plain
// writer gets the last text it has not seen.
func (l *Line) Done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.end()
}

// end is Done with mu held.
func (l *Line) end() {
	if l.drawn {
		fmt.Fprintln(l.w)
		l.drawn = false
	}
	if l.pending != "" {
		fmt.Fprintln(l.w, l.pending)
		l.last, l.pending = l.pending, ""
	}
}

// fit cuts s to n runes, marking the cut.
func fit(s string, n int) string {
	if n < 1 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}
