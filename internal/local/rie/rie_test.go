package rie_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/local/rie"
)

// echoBootstrap is the testdata/echo function, built once by TestMain.
var echoBootstrap string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rie-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	echoBootstrap = filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-o", echoBootstrap, "./testdata/echo")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build testdata/echo:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type echoResponse struct {
	Echo json.RawMessage `json:"echo"`
	Env  string          `json:"env"`
	Pid  int             `json:"pid"`
}

func start(t *testing.T, cfg rie.Config) *rie.Emulator {
	t.Helper()
	cfg.Bootstrap = echoBootstrap
	em, err := rie.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = em.Kill() })
	return em
}

func invokeEcho(t *testing.T, em *rie.Emulator, payload string) echoResponse {
	t.Helper()
	out, err := em.Invoke(context.Background(), []byte(payload))
	require.NoError(t, err)
	var resp echoResponse
	require.NoError(t, json.Unmarshal(out, &resp), "response %s", out)
	return resp
}

func TestInvokeEchoesAndPassesEnvironment(t *testing.T) {
	t.Parallel()
	out := &rie.Buffer{}
	em := start(t, rie.Config{
		Env:             append(os.Environ(), "SQSONCE_TEST_TABLE=ledger-42"),
		FunctionTimeout: 7 * time.Second,
		Output:          out,
	})

	resp := invokeEcho(t, em, `{"hello":"world"}`)
	require.JSONEq(t, `{"hello":"world"}`, string(resp.Echo))

	resp = invokeEcho(t, em, `{"env":"SQSONCE_TEST_TABLE"}`)
	require.Equal(t, "ledger-42", resp.Env)
	resp = invokeEcho(t, em, `{"env":"AWS_LAMBDA_FUNCTION_TIMEOUT"}`)
	require.Equal(t, "7", resp.Env)

	invokeEcho(t, em, `{"print":"captured line"}`)
	require.NoError(t, em.Stop())
	require.Contains(t, out.String(), "stdout: captured line")
	require.Contains(t, out.String(), "stderr: captured line")

	_, err := em.Invoke(context.Background(), []byte(`{}`))
	require.ErrorIs(t, err, rie.ErrStopped)
}

func TestFunctionErrors(t *testing.T) {
	t.Parallel()
	em := start(t, rie.Config{FunctionTimeout: time.Second})

	cases := []struct {
		name       string
		payload    string
		wantType   string
		wantStatus int
		wantMsg    string
	}{
		{name: "handler error", payload: `{"error":"boom"}`, wantType: "errorString", wantStatus: 200, wantMsg: "boom"},
		{name: "timeout", payload: `{"sleepMillis":30000}`, wantType: rie.TimeoutErrorType, wantStatus: 200, wantMsg: "Task timed out after 1.00 seconds"},
		{name: "runtime exit", payload: `{"exit":3}`, wantType: "Runtime.ExitError", wantStatus: 502, wantMsg: "exit status 3"},
	}
	for _, tc := range cases { // sequential: one emulator serves one invocation at a time
		t.Run(tc.name, func(t *testing.T) {
			out, err := em.Invoke(context.Background(), []byte(tc.payload))
			require.Nil(t, out)
			var fe *rie.FunctionError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.wantType, fe.Type)
			require.Equal(t, tc.wantStatus, fe.StatusCode)
			require.Contains(t, fe.Message, tc.wantMsg)
			require.Equal(t, tc.wantType == rie.TimeoutErrorType, fe.Timeout())

			// The function serves the next invocation after any failure.
			resp := invokeEcho(t, em, `{"after":"`+tc.name+`"}`)
			require.Contains(t, string(resp.Echo), tc.name)
		})
	}
}

func TestConcurrentInvocationIsBusy(t *testing.T) {
	t.Parallel()
	out := &rie.Buffer{}
	em := start(t, rie.Config{Output: out})

	first := make(chan error, 1)
	go func() {
		_, err := em.Invoke(context.Background(), []byte(`{"print":"first running","sleepMillis":1500}`))
		first <- err
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "stdout: first running") },
		10*time.Second, 10*time.Millisecond)

	_, err := em.Invoke(context.Background(), []byte(`{}`))
	require.ErrorIs(t, err, rie.ErrBusy)
	require.NoError(t, <-first)
}

func TestKillAndStopLeaveNoProcessBehind(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		stop     func(*rie.Emulator) error
		inFlight bool
	}{
		{name: "kill idle", stop: (*rie.Emulator).Kill},
		{name: "kill during an invocation", stop: (*rie.Emulator).Kill, inFlight: true},
		{name: "stop idle", stop: (*rie.Emulator).Stop},
		{name: "stop during an invocation", stop: (*rie.Emulator).Stop, inFlight: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := &rie.Buffer{}
			em := start(t, rie.Config{Output: out})
			bootstrapPid := invokeEcho(t, em, `{}`).Pid
			require.NotZero(t, bootstrapPid)

			invoked := make(chan error, 1)
			if tc.inFlight {
				go func() {
					_, err := em.Invoke(context.Background(), []byte(`{"print":"in flight","sleepMillis":60000}`))
					invoked <- err
				}()
				require.Eventually(t, func() bool { return strings.Contains(out.String(), "stdout: in flight") },
					10*time.Second, 10*time.Millisecond)
			}

			require.NoError(t, tc.stop(em))
			select {
			case <-em.Done():
			default:
				t.Fatal("returned before the emulator was reaped")
			}
			require.True(t, gone(em.Pid()), "emulator %d survived", em.Pid())
			require.Eventually(t, func() bool { return gone(bootstrapPid) }, 5*time.Second, 10*time.Millisecond,
				"bootstrap %d survived", bootstrapPid)
			if tc.inFlight {
				err := <-invoked
				require.ErrorIs(t, err, rie.ErrStopped)
				var fe *rie.FunctionError
				require.NotErrorAs(t, err, &fe, "a killed environment is not a function error")
			}
			require.NoError(t, em.Kill(), "a second Kill is harmless")
			require.NoError(t, em.Stop(), "Stop after Kill is harmless")
		})
	}
}

// gone reports whether pid no longer runs: absent, or a zombie awaiting its
// reaper.
func gone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err == nil {
		after := data[bytes.LastIndexByte(data, ')')+1:]
		fields := strings.Fields(string(after))
		return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
	}
	if _, statErr := os.Stat("/proc/self/stat"); statErr == nil {
		return true // /proc exists and the process is not in it
	}
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		cfg     rie.Config
		wantErr error
		wantMsg string
	}{
		{name: "no bootstrap", cfg: rie.Config{}, wantErr: rie.ErrInvalidConfig, wantMsg: "Bootstrap"},
		{name: "fractional timeout", cfg: rie.Config{Bootstrap: "x", FunctionTimeout: 1500 * time.Millisecond}, wantErr: rie.ErrInvalidConfig, wantMsg: "FunctionTimeout"},
		{name: "missing emulator", cfg: rie.Config{Bootstrap: "x", EmulatorPath: "/nonexistent/aws-lambda-rie"}, wantErr: rie.ErrEmulatorNotFound, wantMsg: "run scripts/ensure-tools.sh rie"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := rie.Start(context.Background(), tc.cfg)
			require.ErrorIs(t, err, tc.wantErr)
			require.Contains(t, err.Error(), tc.wantMsg)
		})
	}
}

func TestFindEmulator(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fake := filepath.Join(dir, "aws-lambda-rie")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755))
	notExec := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(notExec, []byte("x"), 0o644))

	cases := []struct {
		name     string
		explicit string
		env      []string
		want     string
		wantErr  error
	}{
		{name: "explicit wins", explicit: fake, env: []string{"SQSONCE_RIE=/elsewhere"}, want: fake},
		{name: "SQSONCE_RIE", env: []string{"SQSONCE_RIE=" + fake}, want: fake},
		{name: "explicit missing", explicit: filepath.Join(dir, "missing"), wantErr: rie.ErrEmulatorNotFound},
		{name: "SQSONCE_RIE not executable", env: []string{"SQSONCE_RIE=" + notExec}, wantErr: rie.ErrEmulatorNotFound},
		{name: "module bin before PATH", env: []string{"PATH=" + dir}, want: moduleBin(t)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := rie.FindEmulator(tc.explicit, tc.env)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// moduleBin is where scripts/ensure-tools.sh installs the emulator.
func moduleBin(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	require.NoError(t, err)
	return filepath.Join(root, "bin", "aws-lambda-rie")
}

func TestAbandonedInvocationKeepsEmulatorBusy(t *testing.T) {
	t.Parallel()
	out := &rie.Buffer{}
	em := start(t, rie.Config{Output: out})

	ctx, cancel := context.WithCancel(context.Background())
	abandoned := make(chan error, 1)
	go func() {
		_, err := em.Invoke(ctx, []byte(`{"print":"abandoned","sleepMillis":1000}`))
		abandoned <- err
	}()
	// Generous waits: they end as soon as the condition holds, and a loaded
	// machine (a cold bootstrap under -race) must not fail the test.
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "stdout: abandoned") },
		2*time.Minute, 10*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-abandoned, context.Canceled)

	_, err := em.Invoke(context.Background(), []byte(`{}`))
	require.ErrorIs(t, err, rie.ErrBusy, "the function is still running")
	require.Eventually(t, func() bool {
		_, err := em.Invoke(context.Background(), []byte(`{}`))
		return err == nil
	}, 2*time.Minute, 20*time.Millisecond)
}
