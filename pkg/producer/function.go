package producer

import (
	"context"
	"encoding/json"
	"fmt"
)

// Request is the producer function's input: events to publish, to the
// standard queue or, with FIFO, to the FIFO queue.
type Request struct {
	Events []json.RawMessage `json:"events"`
	FIFO   bool              `json:"fifo,omitempty"`
}

// Rejected is an event that was not published because it is invalid.
type Rejected struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// Response is the producer function's output.
type Response struct {
	Sent     int        `json:"sent"`
	Retried  int        `json:"retried"`
	Rejected []Rejected `json:"rejected"`
	Failures []Failure  `json:"failures"`
}

// Function is the producer Lambda function: it validates events and
// publishes the valid ones, never dropping a refused entry silently.
type Function struct {
	Standard *Publisher
	FIFO     *Publisher // nil when no FIFO queue is configured
	// Encode validates one event and returns its message (body, FIFO group
	// and deduplication ID, attributes); an error rejects the event.
	// Required.
	Encode func(event json.RawMessage) (Message, error)
}

// Handle publishes a request. The error is non-nil when some valid events
// could not be sent, so the caller (or Lambda's retry of an async invoke)
// sends them again; consumers deduplicate on the event id.
func (f *Function) Handle(ctx context.Context, req Request) (Response, error) {
	if f.Encode == nil {
		return Response{}, &ConfigError{"Function.Encode", "nil: give the event encoder (e.g. ledger.EncodeEvent)"}
	}
	pub := f.Standard
	if req.FIFO {
		if f.FIFO == nil {
			return Response{}, &ConfigError{"Function.FIFO", "nil, but the request is for the FIFO queue: set FIFO_QUEUE_URL"}
		}
		pub = f.FIFO
	}
	resp := Response{Rejected: []Rejected{}, Failures: []Failure{}}
	var msgs []Message
	var origin []int // request index of each message
	for i, raw := range req.Events {
		msg, err := f.Encode(raw)
		if err != nil {
			resp.Rejected = append(resp.Rejected, Rejected{Index: i, Error: err.Error()})
			continue
		}
		msgs = append(msgs, msg)
		origin = append(origin, i)
	}
	rep, err := pub.Send(ctx, msgs)
	resp.Sent, resp.Retried = rep.Sent, rep.Retried
	for _, fl := range rep.Failures {
		fl.Index = origin[fl.Index]
		resp.Failures = append(resp.Failures, fl)
	}
	if err != nil {
		return resp, fmt.Errorf("producer: %d of %d valid events not sent: %w", len(rep.Failures), len(msgs), err)
	}
	return resp, nil
}
