package esm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrInvalidResponse marks a function response that fails the whole batch:
// not JSON, not an events.SQSEventResponse, or a failure entry whose
// itemIdentifier is missing, empty or not a message of the batch.
var ErrInvalidResponse = errors.New("invalid batch response")

// failedRecords reads the function's response as Lambda does with
// ReportBatchItemFailures: an empty or null response, or an empty or null
// batchItemFailures, is a complete success; otherwise it returns the set of
// listed message ids, all of which must be in the batch.
func failedRecords(resp []byte, batch map[string]bool) (map[string]bool, error) {
	resp = bytes.TrimSpace(resp)
	if len(resp) == 0 || bytes.Equal(resp, []byte("null")) {
		return nil, nil
	}
	var parsed struct {
		BatchItemFailures []map[string]json.RawMessage `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(resp, &parsed); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	failed := make(map[string]bool, len(parsed.BatchItemFailures))
	for i, entry := range parsed.BatchItemFailures {
		raw, ok := entry["itemIdentifier"]
		if !ok {
			return nil, fmt.Errorf("%w: batchItemFailures[%d] has no itemIdentifier", ErrInvalidResponse, i)
		}
		var id *string
		if err := json.Unmarshal(raw, &id); err != nil {
			return nil, fmt.Errorf("%w: batchItemFailures[%d].itemIdentifier: %w", ErrInvalidResponse, i, err)
		}
		switch {
		case id == nil || *id == "":
			return nil, fmt.Errorf("%w: batchItemFailures[%d].itemIdentifier is empty", ErrInvalidResponse, i)
		case !batch[*id]:
			return nil, fmt.Errorf("%w: batchItemFailures[%d].itemIdentifier %q is not in the batch", ErrInvalidResponse, i, *id)
		}
		failed[*id] = true
	}
	return failed, nil
}
