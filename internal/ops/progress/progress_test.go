package progress

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal whose window is cols
// wide.
func openPTY(t *testing.T, cols uint16) (controller, terminal *os.File) {
	t.Helper()
	controller, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err, "open a pseudo-terminal")
	t.Cleanup(func() { controller.Close() })
	fd := int(controller.Fd())
	require.NoError(t, unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0), "unlock the pty")
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	require.NoError(t, err)
	terminal, err = os.OpenFile(filepath.Join("/dev/pts", strconv.Itoa(n)), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { terminal.Close() })
	require.NoError(t, unix.IoctlSetWinsize(int(terminal.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: cols}))
	return controller, terminal
}

func TestWidth(t *testing.T) {
	_, terminal := openPTY(t, 57)
	require.Equal(t, 57, Width(terminal), "a terminal's width")

	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	require.NoError(t, err)
	defer f.Close()
	require.Zero(t, Width(f), "a file is not a terminal")

	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	require.Zero(t, Width(w), "a pipe is not a terminal")
	require.Zero(t, Width(nil))
}

// TestTerminal redraws one line in place, cut to the width.
func TestTerminal(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, 20)
	require.True(t, l.Terminal())
	l.Set("sent %d/%d", 10, 100)
	l.Set("sent %d/%d messages to a queue with a long name", 20, 100)
	l.Println("a warning")
	l.Set("sent %d/%d", 100, 100)
	l.Done()
	require.Equal(t, "\rsent 10/100\x1b[K\rsent 20/100 messag…\x1b[K\na warning\n\rsent 100/100\x1b[K\n", b.String())
}

// TestPlain writes plain lines, no more than one a second, and always the
// last.
func TestPlain(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, 0)
	now := time.Unix(0, 0)
	l.now = func() time.Time { return now }
	require.False(t, l.Terminal())
	l.Set("sent 1")
	l.Set("sent 2") // within the second: held
	now = now.Add(Every)
	l.Set("sent 1") // unchanged: not repeated
	now = now.Add(Every)
	l.Set("sent 3")
	l.Set("sent 4")
	l.Println("stage")
	l.Set("sent 5")
	l.Done()
	require.Equal(t, "sent 1\nsent 3\nsent 4\nstage\nsent 5\n", b.String())
	require.NotContains(t, b.String(), "\r")
}
