// Command echo is a tiny Lambda function for the rie tests. It answers with
// the payload it received, and obeys a few instructions in that payload:
// "error" makes it return an error, "sleepMillis" makes it sleep (to trip the
// function timeout), "print" writes a line to stdout and stderr, "env" names
// an environment variable whose value it reports, and "exit" ends the process
// with that code. Every answer carries the process id, so tests can check
// that the process is gone after Kill.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	Error       string `json:"error"`
	SleepMillis int    `json:"sleepMillis"`
	Print       string `json:"print"`
	Env         string `json:"env"`
	Exit        int    `json:"exit"`
}

type response struct {
	Echo json.RawMessage `json:"echo"`
	Env  string          `json:"env,omitempty"`
	Pid  int             `json:"pid"`
}

func handle(_ context.Context, payload json.RawMessage) (response, error) {
	var req request
	_ = json.Unmarshal(payload, &req) // any JSON is echoed; only objects carry instructions
	if req.Print != "" {
		fmt.Fprintln(os.Stdout, "stdout:", req.Print)
		fmt.Fprintln(os.Stderr, "stderr:", req.Print)
	}
	if req.SleepMillis > 0 {
		// Ignore ctx on purpose: a function that returned at its deadline would
		// race the emulator's own timeout, which is what the tests want to see.
		time.Sleep(time.Duration(req.SleepMillis) * time.Millisecond)
	}
	if req.Exit != 0 {
		os.Exit(req.Exit)
	}
	if req.Error != "" {
		return response{}, errors.New(req.Error)
	}
	resp := response{Echo: payload, Pid: os.Getpid()}
	if req.Env != "" {
		resp.Env = os.Getenv(req.Env)
	}
	return resp, nil
}

func main() {
	lambda.Start(handle)
}
