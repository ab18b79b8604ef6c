package sqsonce

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// ProbeEvent is the event that makes Invoke run Probe, for a schedule's
// input (EventBridge's scheduled events, detail-type "Scheduled Event",
// do too).
const ProbeEvent = `{"sqsonce":"probe"}`

// Invoke makes a Handler a lambda.Handler (pass it to lambda.StartHandler)
// for a function that both consumes a queue and probes its store on a
// schedule: an SQS event is processed as Handle does, and answered with its
// events.SQSEventResponse; ProbeEvent, or an EventBridge scheduled event,
// runs Probe and is answered with its ProbeReport.
func (h *Handler[R]) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var kind struct {
		Sqsonce    string `json:"sqsonce"`
		DetailType string `json:"detail-type"`
	}
	if err := json.Unmarshal(payload, &kind); err != nil {
		return nil, fmt.Errorf("sqsonce: read the event: %w", err)
	}
	if kind.Sqsonce == "probe" || kind.DetailType == "Scheduled Event" {
		rep, err := h.Probe(ctx)
		if err != nil {
			return nil, err
		}
		return json.Marshal(rep)
	}
	if kind.Sqsonce != "" {
		return nil, fmt.Errorf("sqsonce: unknown event {\"sqsonce\": %q}: the one event sqsonce takes besides SQS's is %s", kind.Sqsonce, ProbeEvent)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("sqsonce: read the SQS event: %w", err)
	}
	resp, err := h.Handle(ctx, ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}
