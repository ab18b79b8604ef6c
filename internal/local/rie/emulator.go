package rie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// invocationsPath is the emulator's Invoke API path.
const invocationsPath = "/2015-03-31/functions/function/invocations"

// startAttempts is how many times Start tries fresh ports when the emulator
// exits before accepting connections (a port taken meanwhile).
const startAttempts = 3

// pipeWaitDelay bounds how long reaping waits for the output pipes to close.
const pipeWaitDelay = 2 * time.Second

// Emulator is a running aws-lambda-rie with one function. Its methods are
// safe for concurrent use; it serves one invocation at a time and answers
// another with ErrBusy.
type Emulator struct {
	cfg    Config
	cmd    *exec.Cmd
	url    string
	client *http.Client

	done    chan struct{} // closed once the emulator is reaped
	waitErr error         // set before done is closed

	invoking atomic.Bool // an invocation is running in the emulator

	mu      sync.Mutex
	stopped bool
}

// Start runs the bootstrap under the emulator and returns once the emulator
// accepts connections. ctx bounds the start only; the emulator runs until
// Stop or Kill. The caller must call Stop or Kill.
func Start(ctx context.Context, cfg Config) (*Emulator, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	emulator, err := FindEmulator(cfg.EmulatorPath, env)
	if err != nil {
		return nil, err
	}
	bootstrap, err := filepath.Abs(cfg.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("bootstrap %q: %w", cfg.Bootstrap, err)
	}
	if _, err := os.Stat(bootstrap); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	env = functionEnv(env, cfg.FunctionTimeout)
	var lastErr error
	for range startAttempts {
		e, err := startOnce(ctx, cfg, emulator, bootstrap, env)
		if err == nil {
			return e, nil
		}
		lastErr = err
		if !errors.Is(err, errExitedEarly) {
			break
		}
	}
	return nil, lastErr
}

// errExitedEarly marks an emulator that exited before accepting connections.
var errExitedEarly = errors.New("emulator exited before accepting connections")

func startOnce(ctx context.Context, cfg Config, emulator, bootstrap string, env []string) (*Emulator, error) {
	addrs, err := freeAddrs(2)
	if err != nil {
		return nil, err
	}
	invokeAddr, runtimeAddr := addrs[0], addrs[1]
	cmd := exec.Command(emulator,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", runtimeAddr,
		bootstrap)
	cmd.Env = env
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Stdout = cfg.Output
	cmd.Stderr = cfg.Output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = pipeWaitDelay
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", emulator, err)
	}
	e := &Emulator{
		cfg:    cfg,
		cmd:    cmd,
		url:    "http://" + invokeAddr + invocationsPath,
		client: &http.Client{Transport: &http.Transport{}},
		done:   make(chan struct{}),
	}
	go func() {
		e.waitErr = cmd.Wait()
		close(e.done)
	}()
	if err := e.waitReady(ctx, invokeAddr); err != nil {
		_ = e.Kill()
		return nil, err
	}
	return e, nil
}

func (e *Emulator) waitReady(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StartTimeout)
	defer cancel()
	var dialer net.Dialer
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		dctx, dcancel := context.WithTimeout(ctx, 250*time.Millisecond)
		conn, err := dialer.DialContext(dctx, "tcp", addr)
		dcancel()
		if err == nil {
			_ = conn.Close()
			return nil
		}
		select {
		case <-e.done:
			return fmt.Errorf("%w (%v)", errExitedEarly, e.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("wait for emulator on %s: %w", addr, ctx.Err())
		case <-tick.C:
		}
	}
}

// functionEnv is env without the variables the package sets, plus the
// function timeout. AWS_LAMBDA_MAX_CONCURRENCY is dropped because it switches
// the emulator into its Lambda Managed Instances mode.
func functionEnv(env []string, timeout time.Duration) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k == "AWS_LAMBDA_FUNCTION_TIMEOUT" || k == "AWS_LAMBDA_MAX_CONCURRENCY" {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(int(timeout/time.Second)))
}

// URL is the invocation endpoint.
func (e *Emulator) URL() string { return e.url }

// Pid is the emulator's process id, which is also its process group id.
func (e *Emulator) Pid() int { return e.cmd.Process.Pid }

// Done is closed once the emulator process has exited and been reaped.
func (e *Emulator) Done() <-chan struct{} { return e.done }

// Invoke sends payload to the function and returns its response. A failure
// of the function itself is a *FunctionError; ErrBusy means another
// invocation is still running; ErrStopped means the emulator is gone; any
// other error means the function could not be reached or answered unreadably.
//
// Invocations are serialized here rather than by the emulator, because
// aws-lambda-rie (v0.0.0-20261030222936) crashes with a nil-pointer panic on a
// concurrent invocation instead of answering HTTP 400. For the same reason,
// cancelling ctx abandons the wait but not the invocation: the emulator stays
// busy, and Invoke returns ErrBusy, until the function returns or times out.
func (e *Emulator) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if e.isStopped() {
		return nil, fmt.Errorf("invoke: %w", ErrStopped)
	}
	if !e.invoking.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("invoke: %w", ErrBusy)
	}
	result := make(chan invokeResult, 1)
	go func() {
		out, err := e.post(payload)
		e.invoking.Store(false) // before the result, so the caller's next Invoke finds the emulator free
		result <- invokeResult{out, err}
	}()
	select {
	case r := <-result:
		return r.out, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("invoke: %w", ctx.Err())
	}
}

type invokeResult struct {
	out []byte
	err error
}

// post runs one invocation to its end. It takes no context: an invocation the
// caller abandons still occupies the emulator, and the busy flag must say so
// until the emulator answers (at the latest after the function timeout) or
// dies.
func (e *Emulator) post(payload []byte) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		if e.isStopped() {
			return nil, fmt.Errorf("invoke: %w: %w", ErrStopped, err)
		}
		return nil, fmt.Errorf("invoke %s: %w", e.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke: read response: %w", err)
	}
	return classify(resp.StatusCode, resp.Header, body)
}

func (e *Emulator) isStopped() bool {
	select {
	case <-e.done:
		return true
	default:
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopped
}

func (e *Emulator) markStopped() {
	e.mu.Lock()
	e.stopped = true
	e.mu.Unlock()
}

// Stop shuts the emulator down: SIGTERM, on which it kills its runtime and
// exits, then Kill if it is still running after Config.StopGrace. It returns
// once the emulator is reaped. Stopping a stopped emulator does nothing.
func (e *Emulator) Stop() error {
	e.markStopped()
	select {
	case <-e.done:
		return nil
	default:
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(e.cfg.StopGrace)
	defer timer.Stop()
	select {
	case <-e.done:
		e.client.CloseIdleConnections()
		return nil
	case <-timer.C:
		return e.Kill()
	}
}

// Kill sends SIGKILL to the emulator and to every process it started (the
// bootstrap runs in a process group of its own), as a crash of the whole
// execution environment would, and returns once the emulator is reaped.
func (e *Emulator) Kill() error {
	e.markStopped()
	defer e.client.CloseIdleConnections()
	select {
	case <-e.done:
		return nil
	default:
	}
	pgid := e.cmd.Process.Pid
	// Freeze the emulator so it cannot start a new runtime while its
	// children are listed and killed.
	_ = syscall.Kill(-pgid, syscall.SIGSTOP)
	kids, listErr := descendants(pgid)
	for _, pid := range kids {
		_ = syscall.Kill(-pid, syscall.SIGKILL) // its group, when it leads one
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-e.done
	if listErr != nil {
		return fmt.Errorf("kill emulator %d: children may survive: %w", pgid, listErr)
	}
	return nil
}
