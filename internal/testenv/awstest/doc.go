// Package awstest gives tests real AWS resources on a local endpoint.
//
// Tests talk through the real AWS SDK over HTTP to whatever endpoint the
// environment names: `make test` (scripts/with-local-aws.sh) starts moto and
// exports AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SQS; pointing
// AWS_ENDPOINT_URL at LocalStack or leaving it unset with real credentials
// runs the same tests elsewhere. Every helper creates uniquely named resources
// and deletes them in t.Cleanup, so tests can run with t.Parallel and never
// share state.
//
// Without an endpoint the helpers fail the test with instructions; they never
// skip, because a skipped integration test hides a broken guarantee.
package awstest
