package awstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// endpointVars are the variables that point the SDK at a non-default endpoint.
var endpointVars = []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_LAMBDA"}

// Config loads the SDK configuration from the environment, as a Lambda
// function would. It fails the test when no endpoint is configured and
// SQSONCE_REAL_AWS is not set, so a stray `go test` never touches a real
// account by accident.
func Config(t testing.TB) aws.Config {
	t.Helper()
	configured := os.Getenv("SQSONCE_REAL_AWS") != ""
	for _, v := range endpointVars {
		if os.Getenv(v) != "" {
			configured = true
		}
	}
	if !configured {
		t.Fatalf("no local AWS endpoint: run `make test`, or `scripts/with-local-aws.sh go test ./...` " +
			"(starts moto), or set AWS_ENDPOINT_URL (LocalStack) or SQSONCE_REAL_AWS=1 (a real account)")
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	return cfg
}

// DynamoDB returns a DynamoDB client for the configured endpoint.
func DynamoDB(t testing.TB, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	t.Helper()
	return dynamodb.NewFromConfig(Config(t), optFns...)
}

// SQS returns an SQS client for the configured endpoint.
func SQS(t testing.TB, optFns ...func(*sqs.Options)) *sqs.Client {
	t.Helper()
	return sqs.NewFromConfig(Config(t), optFns...)
}

// UniqueName returns prefix followed by a random suffix, safe as a table or
// queue name.
func UniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return strings.TrimSuffix(prefix, "-") + "-" + hex.EncodeToString(b[:])
}

// ClosedAddr returns a 127.0.0.1 address on which nothing listens, to model
// an unreachable endpoint.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}
