package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// SQSAPI, SNSAPI and EventBridgeAPI are the calls the relay makes to its
// destinations. The SDK's clients implement them.
type (
	SQSAPI interface {
		SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	}
	SNSAPI interface {
		Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
	}
	EventBridgeAPI interface {
		PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
	}
)

var (
	_ SQSAPI         = (*sqs.Client)(nil)
	_ SNSAPI         = (*sns.Client)(nil)
	_ EventBridgeAPI = (*eventbridge.Client)(nil)
)

// RefusedError is the error of an item its destination refuses for good
// (a queue or topic that does not exist, an invalid message): the relay
// marks it failed instead of retrying it.
type RefusedError struct {
	Code string
	Err  error
}

func (e *RefusedError) Error() string { return fmt.Sprintf("refused (%s): %v", e.Code, e.Err) }
func (e *RefusedError) Unwrap() error { return e.Err }

// refusedCodes are the error codes (without an "Exception" suffix) of a
// destination that refuses an item for good. Anything else (throttling,
// a network error, a denied permission an operator can grant) is retried.
var refusedCodes = map[string]bool{
	"InvalidMessageContents": true, "InvalidParameterValue": true, "InvalidParameter": true, "MissingParameter": true,
	"QueueDoesNotExist": true, "AWS.SimpleQueueService.NonExistentQueue": true, "UnsupportedOperation": true,
	"InvalidAttributeName": true, "InvalidAttributeValue": true, "NotFound": true, "ResourceNotFound": true,
	"Validation": true, "ValidationError": true, "MalformedDetail": true, "InvalidArgument": true,
}

// refused makes err a *RefusedError when its code is one of refusedCodes.
func refused(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && refusedCodes[strings.TrimSuffix(ae.ErrorCode(), "Exception")] {
		return &RefusedError{Code: ae.ErrorCode(), Err: err}
	}
	return err
}

// send sends one item to its destination.
func (r *Relay) send(ctx context.Context, it Item) error {
	e := it.Event
	switch d := e.To.(type) {
	case SQS:
		if r.sqs == nil {
			return errors.New("no SQS client")
		}
		attrs := messageAttributes(it, func(v string) sqstypes.MessageAttributeValue {
			return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		})
		in := &sqs.SendMessageInput{QueueUrl: aws.String(d.QueueURL), MessageBody: aws.String(e.Body), MessageAttributes: attrs}
		if strings.HasSuffix(d.QueueURL, ".fifo") {
			in.MessageGroupId, in.MessageDeduplicationId = aws.String(d.GroupID), aws.String(dedupOf(d.DeduplicationID, it.ID))
		} else if d.GroupID != "" {
			in.MessageGroupId = aws.String(d.GroupID) // a fair queue
		}
		_, err := r.sqs.SendMessage(ctx, in)
		return refused(err)
	case SNS:
		if r.sns == nil {
			return errors.New("no SNS client")
		}
		attrs := messageAttributes(it, func(v string) snstypes.MessageAttributeValue {
			return snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		})
		in := &sns.PublishInput{TopicArn: aws.String(d.TopicARN), Message: aws.String(e.Body), MessageAttributes: attrs}
		if strings.HasSuffix(d.TopicARN, ".fifo") {
			in.MessageGroupId, in.MessageDeduplicationId = aws.String(d.GroupID), aws.String(dedupOf(d.DeduplicationID, it.ID))
		}
		_, err := r.sns.Publish(ctx, in)
		return refused(err)
	case EventBridge:
		if r.events == nil {
			return errors.New("no EventBridge client")
		}
		out, err := r.events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String(d.target()), Source: aws.String(d.Source), DetailType: aws.String(d.DetailType),
			Detail: aws.String(e.Body), Resources: append([]string{ResourceEventIDPrefix + it.ID}, d.Resources...),
		}}})
		if err != nil {
			return refused(err)
		}
		if out.FailedEntryCount > 0 && len(out.Entries) > 0 {
			code := aws.ToString(out.Entries[0].ErrorCode)
			err := fmt.Errorf("PutEvents: %s: %s", code, aws.ToString(out.Entries[0].ErrorMessage))
			if code == "InternalFailure" || strings.HasPrefix(code, "Throttling") {
				return err
			}
			return &RefusedError{Code: code, Err: err}
		}
		return nil
	}
	return &RefusedError{Code: "UnknownDestination", Err: fmt.Errorf("item %s: no destination", it.ID)}
}

// messageAttributes are an item's string message attributes and its event
// ID, as values made by str.
func messageAttributes[V any](it Item, str func(string) V) map[string]V {
	out := make(map[string]V, len(it.Event.Attributes)+1)
	for k, v := range it.Event.Attributes {
		out[k] = str(v)
	}
	out[AttrEventID] = str(it.ID)
	return out
}

// dedupOf is a FIFO deduplication ID: the event's own, or its ID.
func dedupOf(dedup, id string) string {
	if dedup != "" {
		return dedup
	}
	return id
}
