package demo

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
)

// Outcomes are what the function's log lines say happened to the records.
type Outcomes struct {
	// Executed, Replayed and AlreadyApplied count the consumer's lines by
	// their "idempotency" field.
	Executed, Replayed, AlreadyApplied int
	// Records counts the batch processor's per-record lines by "outcome" (succeeded,
	// failed, permanent, ...).
	Records map[string]int
	// Classes counts the reported records' "error_class".
	Classes map[string]int
}

// outcomeLog parses the JSON lines of several emulators' output. Each
// emulator writes through its own writer, so lines never interleave.
type outcomeLog struct {
	mu   sync.Mutex
	o    Outcomes
	copy io.Writer
}

func newOutcomeLog(copyTo io.Writer) *outcomeLog {
	return &outcomeLog{o: Outcomes{Records: map[string]int{}, Classes: map[string]int{}}, copy: copyTo}
}

// writer returns a writer for one emulator's output.
func (l *outcomeLog) writer() io.Writer { return &lineWriter{log: l} }

// Outcomes returns a copy of the counts so far.
func (l *outcomeLog) Outcomes() Outcomes {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := l.o
	o.Records, o.Classes = map[string]int{}, map[string]int{}
	for k, v := range l.o.Records {
		o.Records[k] = v
	}
	for k, v := range l.o.Classes {
		o.Classes[k] = v
	}
	return o
}

// logLine is the part of a function log line that is counted.
type logLine struct {
	Idempotency string `json:"idempotency"`
	Outcome     string `json:"outcome"`
	ErrorClass  string `json:"error_class"`
	MessageID   string `json:"message_id"`
}

func (l *outcomeLog) line(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.copy.Write(b)
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return // the emulator's START/END/REPORT lines, stderr text
	}
	var ln logLine
	if json.Unmarshal(b, &ln) != nil {
		return
	}
	switch ln.Idempotency {
	case "executed":
		l.o.Executed++
	case "replayed":
		l.o.Replayed++
	case "already-applied":
		l.o.AlreadyApplied++
	}
	if ln.Outcome != "" && ln.MessageID != "" {
		l.o.Records[ln.Outcome]++
		if ln.ErrorClass != "" {
			l.o.Classes[ln.ErrorClass]++
		}
	}
}

// lineWriter splits one emulator's output into lines.
type lineWriter struct {
	log *outcomeLog
	buf []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.log.line(w.buf[:i+1])
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}
