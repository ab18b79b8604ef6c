package redrive

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"
)

func responseError(status int, err error) error {
	return &smithy.OperationError{ServiceID: "SQS", OperationName: "StartMessageMoveTask", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err},
	}}
}

func TestUnsupported(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{name: "moto HTML 500", err: responseError(500, errors.New("deserialization failed")), want: true},
		{name: "501", err: responseError(501, errors.New("x")), want: true},
		{name: "unknown operation code", err: responseError(400, &smithy.GenericAPIError{Code: "UnknownOperationException"}), want: true},
		{name: "invalid action code", err: responseError(400, &smithy.GenericAPIError{Code: "InvalidAction"}), want: true},
		{name: "AWS 500 with an error code", err: responseError(500, &smithy.GenericAPIError{Code: "InternalError"}), want: false},
		{name: "access denied", err: responseError(403, &smithy.GenericAPIError{Code: "AccessDenied"}), want: false},
		{name: "not a DLQ", err: responseError(400, &smithy.GenericAPIError{Code: "InvalidParameterValue"}), want: false},
		{name: "network", err: fmt.Errorf("dial: %w", errors.New("connection refused")), want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, unsupported(tc.err))
		})
	}
}
