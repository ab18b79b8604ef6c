// Package redistest runs a real Redis (or Valkey) server for tests: Debian's
// redis-server or valkey-server, on a free port of 127.0.0.1, without
// persistence, stopped when the test ends. Tests fail with what to install
// when neither binary is found; they never skip.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running server that a test can stop and start again on the
// same address, as an outage would.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string // extra server arguments, given to Start

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Binary returns the server binary, or an error saying what to install.
func Binary() (string, error) {
	for _, name := range []string{"valkey-server", "redis-server"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no redis-server or valkey-server on PATH: run `scripts/ensure-tools.sh redis` or install the Debian/Ubuntu package redis-server (macOS: brew install redis)")
}

// Start starts a server for t and stops it when t ends. args are extra
// server arguments, for example "--maxmemory", "2mb", "--maxmemory-policy",
// "volatile-lru".
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := &Server{t: t, bin: bin, dir: t.TempDir(), port: port, args: args}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Client returns a client of the server, closed when the test ends. Its
// timeouts are short, so a stopped server fails a call fast.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr: s.Addr(), DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: 1,
	})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// StartReplica starts a replica of primary (--replicaof) for t and returns
// once its link to primary is up and the initial sync is done, so a write
// acknowledged by WAIT from then on has reached it.
func StartReplica(t testing.TB, primary *Server) *Server {
	t.Helper()
	r := Start(t, "--replicaof", "127.0.0.1", strconv.Itoa(primary.port))
	c := r.Client()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := c.Info(context.Background(), "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") && strings.Contains(info, "master_sync_in_progress:0") {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s of %s did not sync in 10s: %v\n%s", r.Addr(), primary.Addr(), err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the server (its data is lost: no persistence).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the stopped server again on the same address.
func (s *Server) Restart() {
	s.t.Helper()
	s.start()
}

func (s *Server) start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--logfile", filepath.Join(s.dir, "server.log"), "--protected-mode", "no",
		"--repl-diskless-sync-delay", "0") // a replica syncs at once, not after 5s
	cmd.Args = append(cmd.Args, s.args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", s.bin, err)
	}
	s.cmd = cmd
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	for range 200 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	s.t.Fatalf("%s did not answer on %s; its log:\n%s", s.bin, s.Addr(), log)
}
