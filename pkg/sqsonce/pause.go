package sqsonce

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// PauseAfterDefault is the default Pause.After.
const PauseAfterDefault = time.Minute

// Pause stops consumption while the idempotency store is down, so that a
// store outage of any length moves no message to a dead-letter queue: SQS
// counts every receive, and after maxReceiveCount failed receives it
// dead-letters a healthy message.
//
// The store is judged down when, in one execution environment, it has
// failed (records failed with ClassStoreFailed, or the breaker stopped
// them) and answered no call since, for at least After. The Handler then
// tags its function's event source mapping for the batch's queue
// (TagPausedBy PausedByStoreOutage, TagPausedAt, TagPausedReason) and
// disables it (UpdateEventSourceMapping Enabled=false): Lambda stops
// polling, and the messages wait in the queue without spending receives.
// [Handler.Probe], run on a schedule, reads the store (CheckStore) and
// enables the mappings it paused once the store answers. A blip shorter
// than After never pauses: the store's first answer clears the judgement.
//
// IAM: lambda:ListEventSourceMappings (no resource-level permissions),
// lambda:UpdateEventSourceMapping on the function's own mappings (condition
// lambda:FunctionArn), and lambda:TagResource, lambda:UntagResource and
// lambda:ListTags on them.
type Pause struct {
	// Lambda is the client that reads, tags, disables and enables the
	// function's event source mappings. Required; *lambda.Client
	// satisfies it.
	Lambda LambdaAPI
	// FunctionName is the function whose mappings are paused. Default
	// lambdacontext.FunctionName (AWS_LAMBDA_FUNCTION_NAME, which Lambda
	// sets).
	FunctionName string
	// After is how long the store must have failed, with no answer, before
	// consumption pauses. Default PauseAfterDefault (1m); keep it well
	// below the queue's visibility timeout times maxReceiveCount.
	After time.Duration
}

// LambdaAPI is the part of the Lambda API that pausing and resuming call.
type LambdaAPI interface {
	ListEventSourceMappings(ctx context.Context, in *lambda.ListEventSourceMappingsInput, optFns ...func(*lambda.Options)) (*lambda.ListEventSourceMappingsOutput, error)
	UpdateEventSourceMapping(ctx context.Context, in *lambda.UpdateEventSourceMappingInput, optFns ...func(*lambda.Options)) (*lambda.UpdateEventSourceMappingOutput, error)
	TagResource(ctx context.Context, in *lambda.TagResourceInput, optFns ...func(*lambda.Options)) (*lambda.TagResourceOutput, error)
	UntagResource(ctx context.Context, in *lambda.UntagResourceInput, optFns ...func(*lambda.Options)) (*lambda.UntagResourceOutput, error)
	ListTags(ctx context.Context, in *lambda.ListTagsInput, optFns ...func(*lambda.Options)) (*lambda.ListTagsOutput, error)
}

func (p Pause) withDefaults() Pause {
	if p.FunctionName == "" {
		p.FunctionName = lambdacontext.FunctionName
	}
	if p.After == 0 {
		p.After = PauseAfterDefault
	}
	return p
}

func (p Pause) validate() error {
	switch {
	case p.Lambda == nil:
		return &ConfigError{"Config.Pause.Lambda", "required: the Lambda client that disables and enables the function's event source mappings"}
	case p.FunctionName == "":
		return &ConfigError{"Config.Pause.FunctionName", "required outside Lambda (AWS_LAMBDA_FUNCTION_NAME is not set)"}
	case p.After < 0:
		return &ConfigError{"Config.Pause.After", "must not be negative"}
	}
	return nil
}

// Mapping is one event source mapping of the function, as Probe saw it.
type Mapping struct {
	UUID           string
	ARN            string // the mapping's own ARN, which its tags are on
	EventSourceARN string
	State          string // Enabled, Disabled, Enabling, Disabling, ...
	// PausedBy, PausedAt and Reason are read from the mapping's tags when
	// it is disabled; PausedBy is "" when sqsonce did not pause it.
	PausedBy string
	PausedAt time.Time
	Reason   string
}

// Paused reports whether the mapping does not deliver.
func (m Mapping) Paused() bool { return m.State == "Disabled" || m.State == "Disabling" }

// pauser disables and enables one function's mappings.
type pauser struct {
	cfg Pause
	now func() time.Time
}

// mappings lists the function's event source mappings (of one source when
// sourceARN is set).
func (p *pauser) mappings(ctx context.Context, sourceARN string) ([]types.EventSourceMappingConfiguration, error) {
	in := &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(p.cfg.FunctionName)}
	if sourceARN != "" {
		in.EventSourceArn = aws.String(sourceARN)
	}
	var all []types.EventSourceMappingConfiguration
	for {
		out, err := p.cfg.Lambda.ListEventSourceMappings(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list the event source mappings of %s: %w", p.cfg.FunctionName, err)
		}
		all = append(all, out.EventSourceMappings...)
		if aws.ToString(out.NextMarker) == "" {
			return all, nil
		}
		in.Marker = out.NextMarker
	}
}

// pause tags and disables the function's enabled mappings of sourceARN. It
// returns the UUIDs it disabled.
func (p *pauser) pause(ctx context.Context, sourceARN, reason string) ([]string, error) {
	ms, err := p.mappings(ctx, sourceARN)
	if err != nil {
		return nil, err
	}
	var paused []string
	var errs []error
	for _, m := range ms {
		if s := aws.ToString(m.State); s != "Enabled" && s != "Enabling" && s != "Updating" {
			continue // disabled already: by an operator, or another environment
		}
		// Tag first: a disabled mapping without the tags would never be
		// resumed by a probe.
		_, err := p.cfg.Lambda.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(mappingARN(m)), Tags: map[string]string{
			TagPausedBy:     PausedByStoreOutage,
			TagPausedAt:     p.now().UTC().Format(time.RFC3339),
			TagPausedReason: truncate(reason, 256),
		}})
		if err == nil {
			_, err = p.cfg.Lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(false)})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("pause mapping %s: %w", aws.ToString(m.UUID), err))
			continue
		}
		paused = append(paused, aws.ToString(m.UUID))
	}
	return paused, errors.Join(errs...)
}

// ListMappings returns the event source mappings of function (a name, or an
// ARN), each with its state and, from its tags, who paused it, when and
// why: what Probe reads, for an operator's tools (sqsonce status).
func ListMappings(ctx context.Context, api LambdaAPI, function string) ([]Mapping, error) {
	return (&pauser{cfg: Pause{Lambda: api, FunctionName: function}}).status(ctx)
}

// status reads the function's mappings and who paused them.
func (p *pauser) status(ctx context.Context) ([]Mapping, error) {
	ms, err := p.mappings(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]Mapping, 0, len(ms))
	for _, m := range ms {
		mp := Mapping{UUID: aws.ToString(m.UUID), ARN: mappingARN(m), EventSourceARN: aws.ToString(m.EventSourceArn), State: aws.ToString(m.State)}
		tags, err := p.cfg.Lambda.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(mp.ARN)})
		if err != nil {
			return nil, fmt.Errorf("read the tags of mapping %s: %w", mp.UUID, err)
		}
		mp.PausedBy, mp.Reason = tags.Tags[TagPausedBy], tags.Tags[TagPausedReason]
		mp.PausedAt, _ = time.Parse(time.RFC3339, tags.Tags[TagPausedAt])
		out = append(out, mp)
	}
	return out, nil
}

// resume enables a mapping paused by a store outage and removes its tags;
// for a mapping enabled already, it removes stale tags.
func (p *pauser) resume(ctx context.Context, m Mapping) error {
	if m.Paused() {
		if _, err := p.cfg.Lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(m.UUID), Enabled: aws.Bool(true)}); err != nil {
			return fmt.Errorf("resume mapping %s: %w", m.UUID, err)
		}
	}
	_, err := p.cfg.Lambda.UntagResource(ctx, &lambda.UntagResourceInput{
		Resource: aws.String(m.ARN),
		TagKeys:  []string{TagPausedBy, TagPausedAt, TagPausedReason},
	})
	if err != nil {
		return fmt.Errorf("untag mapping %s: %w", m.UUID, err)
	}
	return nil
}

// mappingARN is the ARN of an event source mapping, for its tags.
func mappingARN(m types.EventSourceMappingConfiguration) string {
	if arn := aws.ToString(m.EventSourceMappingArn); arn != "" {
		return arn
	}
	// Built from the function's ARN (partition, region, account) where the
	// endpoint does not return it.
	parts := strings.SplitN(aws.ToString(m.FunctionArn), ":", 6)
	if len(parts) < 6 {
		return aws.ToString(m.UUID)
	}
	return strings.Join(parts[:5], ":") + ":event-source-mapping:" + aws.ToString(m.UUID)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
