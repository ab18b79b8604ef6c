package producer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sqsonce/sqsonce/pkg/backoff"
)

// Sender is the SQS call the publisher makes. *sqs.Client implements it.
type Sender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

const (
	// MaxAttemptsDefault is how often an entry is offered before it is
	// reported unsent.
	MaxAttemptsDefault = 6
	// BackoffDefault is the first wait before a retry; it doubles each time.
	BackoffDefault = 50 * time.Millisecond
	// maxBatchEntries and maxBatchBytes are SendMessageBatch's limits.
	maxBatchEntries = 10
	maxBatchBytes   = 256 << 10
)

// Config configures a Publisher.
type Config struct {
	// Client sends the batches. Required.
	Client Sender
	// QueueURL is the queue. Required. A URL ending in ".fifo" is a FIFO
	// queue: messages then need GroupID and DedupID.
	QueueURL string
	// MaxAttempts bounds the offers of one entry. Default MaxAttemptsDefault.
	MaxAttempts int
	// Backoff is the first wait before a retry. Default BackoffDefault.
	Backoff time.Duration
	// Tracing, when set, makes a span per message and sends its context
	// with the message. Default nil: none.
	Tracing *Tracing
}

// Message is one message to publish.
type Message struct {
	Body string
	// GroupID and DedupID are FIFO's MessageGroupId and MessageDeduplicationId.
	GroupID string
	DedupID string
	// Attributes are String message attributes.
	Attributes map[string]string
	// TraceHeader is the AWSTraceHeader system attribute (X-Ray's format);
	// Config.Tracing sets it.
	TraceHeader string
}

// Failure is a message that could not be sent.
type Failure struct {
	Index       int // in the slice given to Send
	Code        string
	Message     string
	SenderFault bool // SQS refused it as invalid: retrying would not help
}

// Report says what Send did.
type Report struct {
	Sent     int
	Retried  int // entries offered again after a refusal or a failed call
	Failures []Failure
}

// ErrNotAllSent is returned by Send, with the report, when some messages
// could not be sent.
var ErrNotAllSent = errors.New("producer: not every message was sent")

// Publisher publishes messages in batches, retrying refused entries.
type Publisher struct {
	cfg  Config
	fifo bool
}

// New returns a Publisher.
func New(cfg Config) (*Publisher, error) {
	if cfg.Client == nil {
		return nil, &ConfigError{"Config.Client", "nil: give an SQS client (sqs.NewFromConfig)"}
	}
	if cfg.QueueURL == "" {
		return nil, &ConfigError{"Config.QueueURL", "empty: give the queue's URL (e.g. from QUEUE_URL)"}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = MaxAttemptsDefault
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = BackoffDefault
	}
	return &Publisher{cfg: cfg, fifo: strings.HasSuffix(cfg.QueueURL, ".fifo")}, nil
}

// FIFO reports whether the queue is a FIFO queue.
func (p *Publisher) FIFO() bool { return p.fifo }

// Send publishes msgs. It returns ErrNotAllSent with a report listing every
// message it could not send; on a cancelled context the unsent ones are
// reported too.
func (p *Publisher) Send(ctx context.Context, msgs []Message) (Report, error) {
	var rep Report
	msgs, spans := p.traced(ctx, msgs)
	defer func() { endSpans(spans, rep) }()
	pending := make([]int, 0, len(msgs))
	for i, m := range msgs {
		if p.fifo && (m.GroupID == "" || m.DedupID == "") {
			rep.Failures = append(rep.Failures, Failure{Index: i, Code: "MissingFIFOIds", Message: "a FIFO queue needs GroupID and DedupID", SenderFault: true})
			continue
		}
		pending = append(pending, i)
	}
	wait := p.cfg.Backoff
	lastErr := map[int]Failure{}
	for attempt := 1; len(pending) > 0; attempt++ {
		var retry []int
		for _, chunk := range p.chunks(msgs, pending) {
			refused, err := p.sendChunk(ctx, msgs, chunk)
			if err != nil {
				for _, i := range chunk {
					lastErr[i] = Failure{Index: i, Code: "SendMessageBatch", Message: err.Error()}
				}
				retry = append(retry, chunk...)
				continue
			}
			rep.Sent += len(chunk) - len(refused)
			endSent(spans, chunk, refused)
			for _, f := range refused {
				if f.SenderFault {
					rep.Failures = append(rep.Failures, f)
					continue
				}
				lastErr[f.Index] = f
				retry = append(retry, f.Index)
			}
		}
		if len(retry) == 0 {
			break
		}
		if attempt == p.cfg.MaxAttempts || backoff.Sleep(ctx, wait) != nil {
			for _, i := range retry {
				rep.Failures = append(rep.Failures, lastErr[i])
			}
			break
		}
		rep.Retried += len(retry)
		wait *= 2
		pending = retry
	}
	if len(rep.Failures) > 0 {
		return rep, fmt.Errorf("%w: %d of %d", ErrNotAllSent, len(rep.Failures), len(msgs))
	}
	return rep, nil
}

// chunks splits the pending indexes into batches within SQS's limits.
func (p *Publisher) chunks(msgs []Message, pending []int) [][]int {
	var out [][]int
	var cur []int
	size := 0
	for _, i := range pending {
		n := len(msgs[i].Body) + len(msgs[i].TraceHeader)
		for k, v := range msgs[i].Attributes {
			n += len(k) + len(v) + len("String")
		}
		if len(cur) == maxBatchEntries || (len(cur) > 0 && size+n > maxBatchBytes) {
			out, cur, size = append(out, cur), nil, 0
		}
		cur, size = append(cur, i), size+n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// sendChunk sends one batch and returns the entries SQS refused.
func (p *Publisher) sendChunk(ctx context.Context, msgs []Message, chunk []int) ([]Failure, error) {
	entries := make([]types.SendMessageBatchRequestEntry, len(chunk))
	for j, i := range chunk {
		m := msgs[i]
		e := types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(m.Body)}
		if p.fifo {
			e.MessageGroupId, e.MessageDeduplicationId = aws.String(m.GroupID), aws.String(m.DedupID)
		}
		if len(m.Attributes) > 0 {
			e.MessageAttributes = make(map[string]types.MessageAttributeValue, len(m.Attributes))
			for k, v := range m.Attributes {
				e.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
			}
		}
		if m.TraceHeader != "" {
			e.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{
				string(types.MessageSystemAttributeNameForSendsAWSTraceHeader): {DataType: aws.String("String"), StringValue: aws.String(m.TraceHeader)},
			}
		}
		entries[j] = e
	}
	out, err := p.cfg.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(p.cfg.QueueURL), Entries: entries})
	if err != nil {
		return nil, err
	}
	refused := make([]Failure, 0, len(out.Failed))
	for _, f := range out.Failed {
		i, err := strconv.Atoi(aws.ToString(f.Id))
		if err != nil {
			return nil, fmt.Errorf("producer: SQS refused an entry with unknown id %q", aws.ToString(f.Id))
		}
		refused = append(refused, Failure{Index: i, Code: aws.ToString(f.Code), Message: aws.ToString(f.Message), SenderFault: f.SenderFault})
	}
	return refused, nil
}
