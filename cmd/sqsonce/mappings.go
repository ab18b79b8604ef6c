package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// consumerFlags name the consumer function whose event source mappings
// pause, resume and status act on.
type consumerFlags struct {
	function string
	stack    stackFlags
}

func (f *consumerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.function, "function-name", "", "the consumer function, by name or ARN (or --stack-name)")
	f.stack.register(fs, false)
}

// parse parses a pause, resume or status command line, which takes no
// argument and names the consumer. It returns false with the exit code on
// a usage error or --help.
func (f *consumerFlags) parse(c cli, fs *flag.FlagSet, args []string) (int, bool) {
	name := strings.TrimPrefix(fs.Name(), "sqsonce ")
	rest, err := parse(c, fs, args)
	switch {
	case err != nil:
		return parseExit(err), false
	case len(rest) > 0:
		return usageError(c, name, "unexpected argument %q", rest[0]), false
	case f.function == "" && f.stack.name == "":
		return usageError(c, name, "give --function-name or --stack-name"), false
	}
	return exitOK, true
}

// resolve sets the function from the stack's ConsumerFunctionArn output
// unless --function-name gave it.
func (f *consumerFlags) resolve(ctx context.Context, sess session) error {
	return f.stack.fill(ctx, sess, map[string]*string{outputConsumer: &f.function})
}

// mapping is an event source mapping of the consumer as the commands show
// it: sqsonce.Mapping and the queue it reads.
type mapping struct {
	sqsonce.Mapping
	Queue string
}

// pauseTags are the tags that say who paused a mapping, when and why.
var pauseTags = []string{sqsonce.TagPausedBy, sqsonce.TagPausedAt, sqsonce.TagPausedReason}

// mappings lists the function's event source mappings with their pause
// tags. It fails when the function has none: then it is not a consumer.
func mappings(ctx context.Context, api *lambda.Client, function string) ([]mapping, error) {
	// By name: Lambda takes a name or an ARN, moto only the name given
	// when the mapping was created.
	name := function
	if f := strings.Split(function, ":"); len(f) == 7 && f[0] == "arn" && f[5] == "function" {
		name = f[6]
	}
	ms, err := sqsonce.ListMappings(ctx, api, name)
	if err != nil {
		return nil, err
	}
	out := make([]mapping, 0, len(ms))
	for _, m := range ms {
		out = append(out, mapping{Mapping: m, Queue: arnName(m.EventSourceARN)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("function %s has no event source mapping: give the consumer function (--function-name, or --stack-name for the stack's ConsumerFunctionArn)", function)
	}
	return out, nil
}

// arnName is the last field of an ARN: a queue's name.
func arnName(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }

// mappingJSON is a mapping in --output json.
type mappingJSON struct {
	UUID             string     `json:"uuid"`
	Queue            string     `json:"queue"`
	EventSourceARN   string     `json:"eventSourceArn"`
	State            string     `json:"state"`
	Action           string     `json:"action,omitempty"`
	PausedBy         string     `json:"pausedBy,omitempty"`
	PausedAt         *time.Time `json:"pausedAt,omitempty"`
	PausedForSeconds *int64     `json:"pausedForSeconds,omitempty"`
	Reason           string     `json:"reason,omitempty"`
}

// toJSON renders m; the pause fields only while it is paused, since an
// enabled mapping's tags are stale.
func (m mapping) toJSON(action string, now time.Time) mappingJSON {
	out := mappingJSON{UUID: m.UUID, Queue: m.Queue, EventSourceARN: m.EventSourceARN, State: m.State, Action: action}
	if !m.Paused() {
		return out
	}
	out.PausedBy, out.Reason = m.PausedBy, m.Reason
	if !m.PausedAt.IsZero() {
		at := m.PausedAt.UTC()
		secs := int64(now.Sub(at).Seconds())
		out.PausedAt, out.PausedForSeconds = &at, &secs
	}
	return out
}

// pausedBy says who paused m, for a table.
func (j mappingJSON) pausedBy() string {
	switch {
	case j.PausedBy != "":
		return j.PausedBy
	case j.State == "Disabled" || j.State == "Disabling":
		return "unknown (no sqsonce tags: disabled by hand or by the stack)"
	}
	return "-"
}

// pausedFor says since when and for how long, for a table.
func (j mappingJSON) pausedFor() string {
	if j.PausedAt == nil {
		return "-"
	}
	return fmt.Sprintf("%s (%v)", j.PausedAt.Format(time.RFC3339), time.Duration(*j.PausedForSeconds)*time.Second)
}
