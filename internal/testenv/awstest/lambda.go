package awstest

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Event source mappings on moto: moto's Lambda checks, when a mapping is
// created, that its SQS queue exists in the same moto process, and invokes
// the function (with Docker, absent here) when a message is sent to a
// mapped queue of that process. scripts/with-local-aws.sh therefore serves
// Lambda and IAM from a moto of their own, AWS_ENDPOINT_URL_LAMBDA: the
// helpers below create the role, the function and a placeholder queue of the
// mapped queue's name there, while the test's messages go to the real queue
// on the SQS endpoint. Without AWS_ENDPOINT_URL_LAMBDA everything is on one
// endpoint: never send a message to a mapped queue then.

// lambdaEndpoint is the endpoint of the Lambda API, "" for the SDK's own
// resolution.
func lambdaEndpoint() string { return os.Getenv("AWS_ENDPOINT_URL_LAMBDA") }

// Lambda returns a Lambda client for the configured endpoint
// (AWS_ENDPOINT_URL_LAMBDA, which the SDK honours, else AWS_ENDPOINT_URL).
func Lambda(t testing.TB, optFns ...func(*lambda.Options)) *lambda.Client {
	t.Helper()
	return lambda.NewFromConfig(Config(t), optFns...)
}

// onLambdaEndpoint points a client of another service at the Lambda
// endpoint, where the IAM roles and placeholder queues of the functions and
// mappings must live.
func onLambdaEndpoint[O any](base func(*O) **string) func(*O) {
	return func(o *O) {
		if e := lambdaEndpoint(); e != "" {
			*base(o) = aws.String(e)
		}
	}
}

// Function is a Lambda function created for a test.
type Function struct {
	Name    string
	ARN     string
	RoleARN string
}

// NewFunction creates an IAM role and a function that uses it on the Lambda
// endpoint (runtime provided.al2023, a zip holding a file named bootstrap:
// it is never invoked), and deletes both when the test ends.
func NewFunction(t testing.TB) Function {
	t.Helper()
	ctx := context.Background()
	cfg := Config(t)
	roles := iam.NewFromConfig(cfg, onLambdaEndpoint(func(o *iam.Options) **string { return &o.BaseEndpoint }))
	name := UniqueName("sqsonce-fn")
	role, err := roles.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, _ = roles.DeleteRole(context.Background(), &iam.DeleteRoleInput{RoleName: aws.String(name)})
	})

	var code bytes.Buffer
	zw := zip.NewWriter(&code)
	w, err := zw.Create("bootstrap")
	if err == nil {
		_, err = w.Write([]byte("#!/bin/sh\nexit 1\n"))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatalf("zip the function's code: %v", err)
	}
	client := Lambda(t)
	fn, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Role:         role.Role.Arn,
		Runtime:      lambdatypes.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		Code:         &lambdatypes.FunctionCode{ZipFile: code.Bytes()},
	})
	if err != nil {
		t.Fatalf("create function %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteFunction(context.Background(), &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
	})
	return Function{Name: name, ARN: aws.ToString(fn.FunctionArn), RoleARN: aws.ToString(role.Role.Arn)}
}

// NewMapping creates an event source mapping from the queue whose ARN is
// queueARN to fn, enabled, and deletes it when the test ends. When the
// Lambda endpoint is a moto of its own, it first creates there a
// placeholder queue of the same name (moto checks that the queue exists in
// its process), deleted at the end too. It returns the mapping.
func NewMapping(t testing.TB, fn Function, queueARN string) lambdatypes.EventSourceMappingConfiguration {
	t.Helper()
	ctx := context.Background()
	if lambdaEndpoint() != "" {
		placeholderQueue(t, queueARN[strings.LastIndex(queueARN, ":")+1:])
	}
	client := Lambda(t)
	m, err := client.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		FunctionName:   aws.String(fn.Name),
		EventSourceArn: aws.String(queueARN),
		BatchSize:      aws.Int32(10),
		Enabled:        aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("create the event source mapping %s -> %s: %v", queueARN, fn.Name, err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteEventSourceMapping(context.Background(), &lambda.DeleteEventSourceMappingInput{UUID: m.UUID})
	})
	return lambdatypes.EventSourceMappingConfiguration{
		UUID: m.UUID, EventSourceArn: m.EventSourceArn, EventSourceMappingArn: m.EventSourceMappingArn,
		FunctionArn: m.FunctionArn, State: m.State,
	}
}

// placeholderQueue makes sure a queue named name exists on the Lambda
// endpoint.
func placeholderQueue(t testing.TB, name string) {
	t.Helper()
	ctx := context.Background()
	client := sqs.NewFromConfig(Config(t), onLambdaEndpoint(func(o *sqs.Options) **string { return &o.BaseEndpoint }))
	if _, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)}); err == nil {
		return
	} else if _, missing := errors.AsType[*sqstypes.QueueDoesNotExist](err); !missing {
		t.Fatalf("look for queue %s on the Lambda endpoint: %v", name, err)
	}
	attrs := map[string]string{}
	if strings.HasSuffix(name, ".fifo") {
		attrs[string(sqstypes.QueueAttributeNameFifoQueue)] = "true"
	}
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create placeholder queue %s on the Lambda endpoint: %v", name, err)
	}
	t.Cleanup(func() { _, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl}) })
}

// MappingState returns the State of the event source mapping uuid (Enabled,
// Disabled, ...).
func MappingState(t testing.TB, uuid string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := Lambda(t).GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(uuid)})
	if err != nil {
		t.Fatalf("get event source mapping %s: %v", uuid, err)
	}
	return aws.ToString(m.State)
}

// MappingTags returns the tags of the event source mapping m.
func MappingTags(t testing.TB, m lambdatypes.EventSourceMappingConfiguration) map[string]string {
	t.Helper()
	out, err := Lambda(t).ListTags(context.Background(), &lambda.ListTagsInput{Resource: m.EventSourceMappingArn})
	if err != nil {
		t.Fatalf("list tags of %s: %v", aws.ToString(m.EventSourceMappingArn), err)
	}
	return out.Tags
}
