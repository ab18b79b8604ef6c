// Command sqsonce is the operator's tool for sqsonce: publish ledger events,
// inspect an idempotency record, move a dead-letter queue back, and run the
// whole pipeline locally with `sqsonce demo`.
//
// Exit codes: 0 success, 1 failure (or an invariant the demo found violated,
// or a record not found), 2 usage error. Progress goes to stderr, results to
// stdout.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], cli{
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		env:    os.Environ(),
	})
	stop()
	os.Exit(code)
}
