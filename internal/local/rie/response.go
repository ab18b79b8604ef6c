package rie

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// Response shapes of aws-lambda-rie (standard mode), as measured:
//
//	handler returned an error   200  {"errorMessage":"boom","errorType":"errorString"}
//	function timed out          200  Task timed out after 2.00 seconds
//	runtime exited / crashed    502  {"errorType":"Runtime.ExitError","errorMessage":"RequestId: ... exit status 3"}
//	concurrent invocation       400  (empty)
//
// Lambda itself marks function errors with the X-Amz-Function-Error header,
// which the emulator never sends; it is honoured when present.
const (
	functionErrorHeader = "X-Amz-Function-Error"
	timeoutPrefix       = "Task timed out after "
	unknownErrorType    = "Runtime.Unknown"
)

// classify turns the emulator's answer into the function's response or an
// error: *FunctionError when the function failed, ErrBusy for a concurrent
// invocation, another error for anything the emulator should never answer.
func classify(status int, header http.Header, body []byte) ([]byte, error) {
	switch status {
	case http.StatusOK, http.StatusBadGateway:
	case http.StatusBadRequest:
		return nil, fmt.Errorf("invoke: HTTP %d: %w", status, ErrBusy)
	default:
		return nil, fmt.Errorf("invoke: emulator answered HTTP %d: %q", status, truncate(body, 512))
	}
	if kind := header.Get(functionErrorHeader); kind != "" {
		fe, ok := parseErrorBody(status, body)
		if !ok {
			fe = &FunctionError{Type: kind, Message: string(body), StatusCode: status, Payload: body}
		}
		return nil, fe
	}
	if status == http.StatusOK && bytes.HasPrefix(body, []byte(timeoutPrefix)) {
		return nil, &FunctionError{Type: TimeoutErrorType, Message: string(body), StatusCode: status, Payload: body}
	}
	if fe, ok := parseErrorBody(status, body); ok {
		return nil, fe
	}
	if status == http.StatusBadGateway {
		return nil, &FunctionError{Type: unknownErrorType, Message: string(truncate(body, 512)), StatusCode: status, Payload: body}
	}
	return body, nil
}

// errorBodyKeys are the only keys of a Lambda error payload
// (aws-lambda-go's messages.InvokeResponse_Error and the runtime's errors).
var errorBodyKeys = map[string]bool{"errorType": true, "errorMessage": true, "stackTrace": true}

// parseErrorBody recognises a Lambda error payload: a JSON object with a
// string errorType and errorMessage and no keys besides errorBodyKeys.
func parseErrorBody(status int, body []byte) (*FunctionError, bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, false
	}
	for k := range fields {
		if !errorBodyKeys[k] {
			return nil, false
		}
	}
	var typ, msg string
	if json.Unmarshal(fields["errorType"], &typ) != nil || json.Unmarshal(fields["errorMessage"], &msg) != nil {
		return nil, false
	}
	return &FunctionError{Type: typ, Message: msg, StatusCode: status, Payload: body}, true
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
