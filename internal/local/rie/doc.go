// Package rie runs a Lambda function's bootstrap binary under the real AWS
// Lambda runtime interface emulator (aws-lambda-rie), without a container, and
// invokes it over the emulator's HTTP API.
//
// Start finds the emulator (Config.EmulatorPath, then $SQSONCE_RIE, then
// <module root>/bin/aws-lambda-rie, then PATH; `scripts/ensure-tools.sh rie`
// installs it), picks free ports on 127.0.0.1, runs it with the configured
// environment and AWS_LAMBDA_FUNCTION_TIMEOUT, and returns once the emulator
// accepts connections. The function's stdout and stderr, together with the
// emulator's own START/END/REPORT lines, go to Config.Output.
//
// What it guarantees:
//   - Invoke tells a function error apart from a failure to reach the
//     function. The emulator does not send X-Amz-Function-Error as Lambda
//     does: a handler error comes back as HTTP 200 with an
//     {"errorMessage","errorType"} body, a timeout as HTTP 200 with the plain
//     text "Task timed out after N.00 seconds", and a crashed runtime as HTTP
//     502 with a Runtime.ExitError body. All three become a *FunctionError;
//     the header is honoured too, for endpoints that send it.
//   - One emulator serves one invocation at a time: a concurrent Invoke gets
//     ErrBusy without reaching the emulator, which (at the pinned version)
//     crashes on a concurrent invocation instead of answering HTTP 400. Run
//     one Emulator per concurrent worker.
//   - Stop asks the emulator to shut down (SIGTERM; it kills its runtime) and
//     kills it after Config.StopGrace. Kill sends SIGKILL to the emulator and
//     to every process it started: the emulator puts the bootstrap in a
//     process group of its own, so killing the emulator's group alone would
//     leave the bootstrap running. Both reap the emulator before returning.
//
// What it does not do: it does not emulate Lambda's scaling, retries, event
// sources or IAM, and a successful response that happens to be exactly an
// {"errorMessage","errorType"} object is indistinguishable from a handler
// error under this emulator. It runs on Linux and macOS (process groups),
// and finds child processes through /proc, or ps where /proc is absent.
package rie
