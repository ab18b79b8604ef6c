package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Exit codes that scripts can trust.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// cli is what a command runs with: its streams and its environment.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            []string
}

// awsConfig loads the SDK configuration (endpoints, credentials, region)
// from the environment, as the AWS CLI and the functions do.
func (c cli) awsConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load the AWS configuration: %w", err)
	}
	return cfg, nil
}

// command describes a subcommand for the usage texts.
type command struct{ name, args, summary string }

var commands = []command{
	{"send", "--queue-url URL (--file FILE | --count N) [flags]", "publish ledger events from a JSON-lines file, or generate them"},
	{"inspect", "--table TABLE [--prefix PREFIX] KEY", "show the idempotency record of a key, decoded"},
	{"redrive", "--dlq-url URL --queue-url URL [flags]", "move a dead-letter queue's messages back to their source queue"},
	{"demo", "[flags]", "run the whole pipeline locally and check it applied every event exactly once"},
}

func usage(w io.Writer) {
	fmt.Fprint(w, `sqsonce: exactly-once effects for AWS Lambda SQS consumers, from the command line.

Usage:
  sqsonce COMMAND [flags] [args]

Commands:
`)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprint(w, `
Run 'sqsonce COMMAND --help' for a command's flags. The AWS endpoints,
credentials and region come from the environment (AWS_ENDPOINT_URL,
AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION, ...), as for
the AWS CLI.

Exit codes: 0 success, 1 failure, 2 usage error.
`)
}

// run runs the command line args (without the program name) and returns the
// exit code.
func run(ctx context.Context, args []string, c cli) int {
	if len(args) == 0 {
		usage(c.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(c.stdout)
		return exitOK
	}
	runners := map[string]func(context.Context, cli, []string) int{
		"send": runSend, "inspect": runInspect, "redrive": runRedrive, "demo": runDemo,
	}
	if r, ok := runners[args[0]]; ok {
		return r(ctx, c, args[1:])
	}
	fmt.Fprintf(c.stderr, "sqsonce: unknown command %q\n\n", args[0])
	usage(c.stderr)
	return exitUsage
}

// newFlags returns the flag set of a subcommand. Its usage is printed by
// parse: to stdout for --help, to stderr after an error.
func newFlags(c cli, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("sqsonce "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {}
	return fs
}

// errUsage marks an error in the command line.
var errUsage = errors.New("usage")

// parse parses args, letting flags and positional arguments mix
// (`inspect KEY --table T` as well as `inspect --table T KEY`), and returns
// the positional ones. It returns flag.ErrHelp after printing the usage to
// stdout for --help, and errUsage after printing it to stderr.
func parse(c cli, fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			printUsage(c.stdout, fs)
			return nil, flag.ErrHelp
		}
		if err != nil {
			printUsage(c.stderr, fs)
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func printUsage(w io.Writer, fs *flag.FlagSet) {
	name := strings.TrimPrefix(fs.Name(), "sqsonce ")
	for _, cmd := range commands {
		if cmd.name == name {
			fmt.Fprintf(w, "Usage: sqsonce %s %s\n\n%s.\n\nFlags:\n", cmd.name, cmd.args, upperFirst(cmd.summary))
		}
	}
	prev := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(prev)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parseExit is the exit code of a parse error: 0 for --help, 2 otherwise.
func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// usageError prints a usage error naming the command and returns exitUsage.
func usageError(c cli, name, format string, args ...any) int {
	fmt.Fprintf(c.stderr, "sqsonce %s: %s\nRun 'sqsonce %s --help' for its flags.\n", name, fmt.Sprintf(format, args...), name)
	return exitUsage
}

// failure prints an error naming the command and returns exitFailure.
func failure(c cli, name string, err error) int {
	fmt.Fprintf(c.stderr, "sqsonce %s: %v\n", name, err)
	return exitFailure
}
