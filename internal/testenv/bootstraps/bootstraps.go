// Package bootstraps builds the module's Lambda functions for tests that run
// them under the runtime interface emulator: each function once per test
// binary, for this machine, as `make build` builds it (-tags lambda.norpc).
package bootstraps

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Consumer and Relay are the function packages tests run.
const (
	Consumer = "functions/consumer"
	Relay    = "functions/relay"
)

var (
	mu     sync.Mutex
	dir    string
	builds = map[string]*build{}
)

type build struct {
	once sync.Once
	path string
	err  error
}

// Path returns the bootstrap of the function package pkg (Consumer,
// Relay), building it on first use; it fails t if the build fails.
func Path(t testing.TB, pkg string) string {
	t.Helper()
	mu.Lock()
	b := builds[pkg]
	if b == nil {
		b = &build{}
		builds[pkg] = b
	}
	var err error
	if dir == "" {
		dir, err = os.MkdirTemp("", "sqsonce-bootstraps-")
	}
	root := dir
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	b.once.Do(func() {
		b.path = filepath.Join(root, filepath.Base(pkg), "bootstrap")
		out, err := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", b.path,
			"github.com/sqsonce/sqsonce/"+pkg).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("build %s: %w: %s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Cleanup removes what Path built: call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}
