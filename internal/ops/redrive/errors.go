package redrive

import (
	"errors"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// ErrMoveTaskUnsupported is returned with MethodMoveTask when the endpoint
// does not implement StartMessageMoveTask.
var ErrMoveTaskUnsupported = errors.New("StartMessageMoveTask is not supported by this endpoint")

// ErrTaskFailed is returned when a move task ends FAILED or CANCELLED.
var ErrTaskFailed = errors.New("message move task did not complete")

// unsupportedCodes are the error codes of endpoints that lack an operation.
var unsupportedCodes = map[string]bool{
	"InvalidAction":                               true,
	"UnknownOperation":                            true,
	"UnknownOperationException":                   true,
	"UnsupportedOperation":                        true,
	"AWS.SimpleQueueService.UnsupportedOperation": true,
	"NotImplemented":                              true,
}

// unsupported reports whether err means the endpoint does not implement the
// operation: an unknown- or unsupported-operation error code, HTTP 501, or
// an HTTP 500 or 404 whose body is not an AWS error at all (moto 5 answers
// StartMessageMoveTask with an HTML 500 page).
func unsupported(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && unsupportedCodes[apiErr.ErrorCode()] {
		return true
	}
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) {
		return false
	}
	switch respErr.HTTPStatusCode() {
	case http.StatusNotImplemented:
		return true
	case http.StatusInternalServerError, http.StatusNotFound:
		return !errors.As(err, &apiErr)
	}
	return false
}
