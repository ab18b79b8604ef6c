// Command sqsonce is the operator's tool for sqsonce: publish ledger events,
// inspect an idempotency record, list and redrive a dead-letter queue (never
// a message older than the idempotency TTL unless told), pause, resume and
// show the status of the consumer's event source mappings, and run the whole
// pipeline locally with `sqsonce demo`.
//
// Exit codes: 0 success, 1 failure (or an invariant the demo found violated,
// or a record not found, or messages left in the DLQ), 2 usage error, 130 interrupted by Ctrl-C (143 by
// SIGTERM). Progress goes to stderr, results to stdout; a command that
// fails prints no result.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sqsonce/sqsonce/internal/ops/progress"
)

func main() {
	ctx, interrupted := interruptible()
	code := run(ctx, os.Args[1:], cli{
		stdin:       os.Stdin,
		stdout:      os.Stdout,
		stderr:      os.Stderr,
		env:         os.Environ(),
		stderrWidth: progress.Width(os.Stderr),
	})
	if sig, ok := interrupted(); ok {
		fmt.Fprintf(os.Stderr, "sqsonce: interrupted (%v)\n", sig)
		code = 128 + int(sig)
	}
	os.Exit(code)
}

// interruptible returns a context cancelled by the first SIGINT or SIGTERM,
// and a function that reports that signal. A second signal ends the process
// at once, as it would without this handler.
func interruptible() (context.Context, func() (syscall.Signal, bool)) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	got := make(chan syscall.Signal, 1)
	go func() {
		sig := (<-sigs).(syscall.Signal)
		signal.Stop(sigs)
		got <- sig
		cancel(fmt.Errorf("interrupted by %v", sig))
	}()
	return ctx, func() (syscall.Signal, bool) {
		select {
		case sig := <-got:
			return sig, true
		default:
			return 0, false
		}
	}
}
