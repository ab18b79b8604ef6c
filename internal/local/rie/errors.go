package rie

import (
	"errors"
	"fmt"
)

// ErrEmulatorNotFound is returned by Start and FindEmulator when no
// aws-lambda-rie binary can be found.
var ErrEmulatorNotFound = errors.New("aws-lambda-rie not found: run scripts/ensure-tools.sh rie")

// ErrBusy is returned by Invoke when the emulator is already running an
// invocation, including one whose caller gave up waiting.
var ErrBusy = errors.New("emulator busy with another invocation")

// ErrStopped is returned by Invoke after Stop or Kill, or once the emulator
// process has exited.
var ErrStopped = errors.New("emulator stopped")

// FunctionError is the function's own failure, as Lambda would report it
// with X-Amz-Function-Error: the handler returned an error or panicked, the
// invocation timed out, or the runtime exited. The function was reached;
// whether it had effects is unknown.
type FunctionError struct {
	// Type is the errorType: the Go error's type name for a handler error,
	// TimeoutErrorType for a timeout, Runtime.ExitError for a crash.
	Type string
	// Message is the errorMessage.
	Message string
	// StatusCode is the emulator's HTTP status (200 or 502).
	StatusCode int
	// Payload is the raw response body.
	Payload []byte
}

// TimeoutErrorType is FunctionError.Type for an invocation that outlived
// the function timeout; Lambda reports the same type.
const TimeoutErrorType = "Sandbox.Timedout"

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// Timeout reports whether the invocation timed out.
func (e *FunctionError) Timeout() bool { return e.Type == TimeoutErrorType }
