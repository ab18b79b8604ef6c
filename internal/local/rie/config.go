package rie

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Defaults for Config fields left at their zero value.
const (
	// FunctionTimeoutDefault is the emulator's own default.
	FunctionTimeoutDefault = 300 * time.Second
	StartTimeoutDefault    = 10 * time.Second
	StopGraceDefault       = 5 * time.Second
)

// Config configures Start.
type Config struct {
	// Bootstrap is the path of the function's executable. Required. The
	// function runs with its directory as working directory, as /var/task is
	// on Lambda.
	Bootstrap string

	// EmulatorPath is the aws-lambda-rie binary. Default: found by
	// FindEmulator ($SQSONCE_RIE, <module root>/bin/aws-lambda-rie, PATH).
	EmulatorPath string

	// Env is the environment of the emulator and so of the function (the
	// emulator passes its environment on), as KEY=value strings: endpoints
	// such as AWS_ENDPOINT_URL_SQS, credentials, table names. Default (nil):
	// the calling process's environment, as with exec.Cmd. It is also where
	// FindEmulator looks for SQSONCE_RIE and PATH.
	Env []string

	// FunctionTimeout becomes AWS_LAMBDA_FUNCTION_TIMEOUT, overriding any
	// value in Env; the emulator takes whole seconds. Default
	// FunctionTimeoutDefault (300s).
	FunctionTimeout time.Duration

	// Output receives the emulator's stdout and stderr, which carry the
	// function's output and the emulator's log. Default: discarded.
	Output io.Writer

	// StartTimeout bounds how long Start waits for the emulator to accept
	// connections. Default StartTimeoutDefault (10s).
	StartTimeout time.Duration

	// StopGrace is how long Stop waits after SIGTERM before killing.
	// Default StopGraceDefault (5s).
	StopGrace time.Duration
}

// WithDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.FunctionTimeout == 0 {
		c.FunctionTimeout = FunctionTimeoutDefault
	}
	if c.Output == nil {
		c.Output = io.Discard
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = StartTimeoutDefault
	}
	if c.StopGrace == 0 {
		c.StopGrace = StopGraceDefault
	}
	return c
}

// ErrInvalidConfig is wrapped by every validation error from Start.
var ErrInvalidConfig = errors.New("invalid rie config")

func (c Config) validate() error {
	switch {
	case c.Bootstrap == "":
		return fmt.Errorf("%w: Bootstrap is required", ErrInvalidConfig)
	case c.FunctionTimeout < time.Second || c.FunctionTimeout%time.Second != 0:
		return fmt.Errorf("%w: FunctionTimeout %v must be a whole number of seconds, at least 1s", ErrInvalidConfig, c.FunctionTimeout)
	case c.StartTimeout < 0:
		return fmt.Errorf("%w: StartTimeout %v is negative", ErrInvalidConfig, c.StartTimeout)
	case c.StopGrace < 0:
		return fmt.Errorf("%w: StopGrace %v is negative", ErrInvalidConfig, c.StopGrace)
	}
	return nil
}
