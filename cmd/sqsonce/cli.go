package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/logging"

	"github.com/sqsonce/sqsonce/internal/ops/progress"
)

// Exit codes that scripts can trust.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// cli is what a command runs with: its streams, its environment and the
// width of the terminal stderr is (0 when it is not one).
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            []string
	stderrWidth    int
}

// progress returns a progress line on stderr: drawn in place on a terminal,
// plain lines otherwise.
func (c cli) progress() *progress.Line { return progress.New(c.stderr, c.stderrWidth) }

// awsFlags are the AWS CLI's connection flags, on every command. Unset, the
// environment and the shared config files decide, as for the AWS CLI.
type awsFlags struct {
	region, profile string
	endpoint        endpointFlag
	// debug logs the SDK's requests, responses and retries to log.
	debug bool
	log   io.Writer
	// env is the command's environment, whose AWS_ENDPOINT_URL* variables
	// are checked before any request.
	env []string
}

func (a *awsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.region, "region", "", "the AWS Region (default: AWS_REGION, then the profile's region)")
	fs.StringVar(&a.profile, "profile", "", "a profile of the shared config and credentials files (default: AWS_PROFILE)")
	fs.Var(&a.endpoint, "endpoint-url", "send every request to this `URL`, e.g. http://localhost:4566 for LocalStack (default: AWS_ENDPOINT_URL)")
	fs.BoolVar(&a.debug, "debug", false, "log every AWS request, response (status and headers) and retry to stderr")
}

// environ returns env with the flags given as the variables the SDK, the AWS
// CLI and the functions read, for the processes a command starts.
func (a awsFlags) environ(env []string) []string {
	out := env
	for k, v := range map[string]string{"AWS_REGION": a.region, "AWS_PROFILE": a.profile, "AWS_ENDPOINT_URL": string(a.endpoint)} {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// session is a loaded AWS configuration and the endpoint given by flag,
// which wins over every endpoint of the environment, as in the AWS CLI.
type session struct {
	cfg      aws.Config
	endpoint string
}

// session loads the SDK configuration (credentials, region, endpoints) from
// the flags, then the environment and the shared files.
func (a awsFlags) session(ctx context.Context) (session, error) {
	if a.endpoint == "" { // given, the flag wins over every endpoint variable
		if err := checkEndpointEnv(a.env); err != nil {
			return session{}, err
		}
	}
	var opts []func(*config.LoadOptions) error
	if a.region != "" {
		opts = append(opts, config.WithRegion(a.region))
	}
	if a.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(a.profile))
	}
	if a.debug {
		opts = append(opts, config.WithClientLogMode(aws.LogRequest|aws.LogResponse|aws.LogRetries),
			config.WithLogger(logging.NewStandardLogger(a.log)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return session{}, fmt.Errorf("load the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return session{}, errors.New("no AWS Region: give --region, or set AWS_REGION or a profile's region")
	}
	return session{cfg: cfg, endpoint: string(a.endpoint)}, nil
}

// endpointFlag is --endpoint-url: a URL with a scheme and a host, checked
// when it is given, as the AWS CLI does, so a typo fails at once instead of
// after the SDK's retries.
type endpointFlag string

func (e *endpointFlag) String() string { return string(*e) }

func (e *endpointFlag) Set(s string) error {
	if err := checkEndpoint(s); err != nil {
		return err
	}
	*e = endpointFlag(s)
	return nil
}

// checkEndpoint returns an error unless s is an http or https URL with a
// host.
func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("not a URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q has no http:// or https:// scheme; an endpoint is a URL like http://localhost:4566 or https://sqs.eu-west-1.amazonaws.com", s)
	case u.Host == "":
		return fmt.Errorf("%q has no host; an endpoint is a URL like http://localhost:4566 or https://sqs.eu-west-1.amazonaws.com", s)
	}
	return nil
}

// checkEndpointEnv checks the endpoint variables the SDK reads
// (AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>), unless
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS tells it to ignore them.
func checkEndpointEnv(env []string) error {
	if strings.EqualFold(envLookup(env)("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return nil
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "AWS_ENDPOINT_URL") || v == "" {
			continue
		}
		if err := checkEndpoint(v); err != nil {
			return fmt.Errorf("environment variable %s: %w; fix it, unset it, or give --endpoint-url, which wins over it", k, err)
		}
	}
	return nil
}

func (s session) sqs() *sqs.Client {
	return sqs.NewFromConfig(s.cfg, func(o *sqs.Options) {
		if s.endpoint != "" {
			o.BaseEndpoint = aws.String(s.endpoint)
		}
	})
}

func (s session) dynamodb() *dynamodb.Client {
	return dynamodb.NewFromConfig(s.cfg, func(o *dynamodb.Options) {
		if s.endpoint != "" {
			o.BaseEndpoint = aws.String(s.endpoint)
		}
	})
}

func (s session) cloudformation() *cloudformation.Client {
	return cloudformation.NewFromConfig(s.cfg, func(o *cloudformation.Options) {
		if s.endpoint != "" {
			o.BaseEndpoint = aws.String(s.endpoint)
		}
	})
}

func (s session) lambda() *lambda.Client {
	return lambda.NewFromConfig(s.cfg, func(o *lambda.Options) {
		if s.endpoint != "" {
			o.BaseEndpoint = aws.String(s.endpoint)
		}
	})
}

func (s session) cloudwatch() *cloudwatch.Client {
	return cloudwatch.NewFromConfig(s.cfg, func(o *cloudwatch.Options) {
		if s.endpoint != "" {
			o.BaseEndpoint = aws.String(s.endpoint)
		}
	})
}

// stackFlags name a stack of template.yaml whose outputs give the queue
// URLs and table names, so nobody copies them by hand.
type stackFlags struct {
	name string
	fifo bool
	// stack is the described stack, once read.
	stack *cftypes.Stack
}

func (s *stackFlags) register(fs *flag.FlagSet, queues bool) {
	fs.StringVar(&s.name, "stack-name", "", "read queue URLs and table names from this stack's outputs (explicit flags win)")
	if queues {
		fs.BoolVar(&s.fifo, "fifo", false, "with --stack-name: the FIFO queue and its DLQ instead of the standard ones")
	}
}

// Outputs of template.yaml that the commands read.
const (
	outputQueue            = "EventsQueueUrl"
	outputDLQ              = "EventsDLQUrl"
	outputFIFOQueue        = "FifoEventsQueueUrl"
	outputFIFODLQ          = "FifoEventsDLQUrl"
	outputIdempotencyTable = "IdempotencyTableName"
	outputConsumer         = "ConsumerFunctionArn"
)

var fifoOutputs = map[string]string{outputQueue: outputFIFOQueue, outputDLQ: outputFIFODLQ}

// fill sets each empty *target to the stack output its key names. It does
// nothing without --stack-name.
func (s *stackFlags) fill(ctx context.Context, sess session, targets map[string]*string) error {
	if s.name == "" {
		return nil
	}
	stack, err := s.describe(ctx, sess)
	if err != nil {
		return err
	}
	outputs := map[string]string{}
	for _, o := range stack.Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	for key, target := range targets {
		if fifo, ok := fifoOutputs[key]; ok && s.fifo {
			key = fifo
		}
		if *target != "" {
			continue
		}
		v, ok := outputs[key]
		if !ok || v == "" {
			return fmt.Errorf("stack %s has no output %s: is it a stack of sqsonce's template.yaml?", s.name, key)
		}
		*target = v
	}
	return nil
}

// checkQueueURL returns a usage error's text unless the value of the flag
// named is a queue URL: an http or https URL with a host and a path.
func checkQueueURL(flagName, v string) string {
	if v == "" {
		return ""
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return fmt.Sprintf("--%s %q is not a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME); give the queue's URL, or --stack-name to read it from the stack", flagName, v)
	}
	return ""
}

// describe reads the stack once.
func (s *stackFlags) describe(ctx context.Context, sess session) (cftypes.Stack, error) {
	if s.stack != nil {
		return *s.stack, nil
	}
	out, err := sess.cloudformation().DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(s.name)})
	if err != nil {
		return cftypes.Stack{}, fmt.Errorf("read the outputs of stack %s: %w", s.name, err)
	}
	if len(out.Stacks) != 1 {
		return cftypes.Stack{}, fmt.Errorf("stack %s: %d stacks found", s.name, len(out.Stacks))
	}
	s.stack = &out.Stacks[0]
	return *s.stack, nil
}

// parameter returns the value of the stack's parameter key, and false when
// the stack has no such parameter (or no --stack-name was given).
func (s *stackFlags) parameter(ctx context.Context, sess session, key string) (string, bool, error) {
	if s.name == "" {
		return "", false, nil
	}
	stack, err := s.describe(ctx, sess)
	if err != nil {
		return "", false, err
	}
	for _, p := range stack.Parameters {
		if aws.ToString(p.ParameterKey) == key {
			if v := aws.ToString(p.ResolvedValue); v != "" {
				return v, true, nil
			}
			return aws.ToString(p.ParameterValue), true, nil
		}
	}
	return "", false, nil
}

// outputFlag is --output: how results are written to stdout.
type outputFlag string

const (
	outputTable outputFlag = "table"
	outputJSON  outputFlag = "json"
)

func (o *outputFlag) String() string { return string(*o) }

func (o *outputFlag) Set(s string) error {
	switch outputFlag(s) {
	case outputTable, outputJSON:
		*o = outputFlag(s)
		return nil
	}
	return fmt.Errorf("%q is not table or json", s)
}

func registerOutput(fs *flag.FlagSet) *outputFlag {
	o := outputTable
	fs.Var(&o, "output", "the format of the result on stdout: table or json")
	return &o
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// command describes a subcommand for the usage texts.
type command struct{ name, args, summary string }

var commands = []command{
	{"send", "(--queue-url URL | --stack-name STACK [--fifo]) (--file FILE | --count N) [flags]", "publish ledger events from a JSON-lines file, or generate them"},
	{"inspect", "(--table TABLE | --stack-name STACK) [flags] KEY", "show the idempotency record of a key, decoded"},
	{"dlq", "(--dlq-url URL | --stack-name STACK [--fifo]) [flags]", "list what sits in a dead-letter queue, and why, without consuming it"},
	{"redrive", "(--dlq-url URL --queue-url URL | --stack-name STACK [--fifo]) [flags]", "move a dead-letter queue's messages back to their source queue"},
	{"pause", "(--function-name NAME | --stack-name STACK) [--reason TEXT] [flags]", "stop consumption: tag and disable the consumer's event source mappings"},
	{"resume", "(--function-name NAME | --stack-name STACK) [flags]", "restart consumption: enable the consumer's event source mappings and remove the pause tags"},
	{"status", "(--function-name NAME | --stack-name STACK) [flags]", "show each mapping's state and why it is paused, its queue's depth and oldest message, and the store's health"},
	{"outbox", "(--table TABLE | --stack-name STACK) [resend (--all-failed | ID...)] [flags]", "show the outbox: pending items, the oldest's age, failed ones; resend failed items"},
	{"demo", "[flags]", "run the whole pipeline locally (in a checkout) and check it applied every event exactly once"},
	{"version", "", "print the version"},
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
Run 'sqsonce COMMAND --help' for a command's flags. Every command takes the
AWS CLI's --region, --profile and --endpoint-url; unset, the environment
(AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, ...) and the shared config files
decide, as for the AWS CLI. --stack-name reads queue URLs and table names
from a deployed stack's outputs. inspect, dlq, redrive, pause, resume,
status and outbox take --output table|json. Durations are Go durations (30s, 5m, 1h30m).

Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted (Ctrl-C).
A command that fails prints its error on stderr and no result on stdout;
send and redrive, which act, still report what they did when only part of
it failed (exit 1).
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
	case "-version", "--version", "version":
		fmt.Fprintln(c.stdout, versionLine())
		return exitOK
	}
	runners := map[string]func(context.Context, cli, []string) int{
		"send": runSend, "inspect": runInspect, "dlq": runDLQ, "redrive": runRedrive, "demo": runDemo,
		"pause": runPause, "resume": runResume, "status": runStatus, "outbox": runOutbox,
	}
	if r, ok := runners[args[0]]; ok {
		return r(ctx, c, args[1:])
	}
	fmt.Fprintf(c.stderr, "sqsonce: unknown command %q\n\n", args[0])
	usage(c.stderr)
	return exitUsage
}

// newFlags returns the flag set of a subcommand, with the AWS connection
// flags. Its usage is printed by parse: to stdout for --help, to stderr
// after an error.
func newFlags(c cli, name string) (*flag.FlagSet, *awsFlags) {
	fs := flag.NewFlagSet("sqsonce "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {}
	a := awsFlags{log: c.stderr, env: c.env}
	a.register(fs)
	return fs, &a
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
