package sqsonce_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// downStore is a memstore that fails every call while down is set.
type downStore struct {
	*memstore.Store
	down atomic.Bool
}

var errStoreDown = errors.New("connection refused")

func (s *downStore) fail() error {
	if s.down.Load() {
		return errStoreDown
	}
	return nil
}

func (s *downStore) Claim(ctx context.Context, in idempotency.ClaimInput) (idempotency.Record, error) {
	if err := s.fail(); err != nil {
		return idempotency.Record{}, err
	}
	return s.Store.Claim(ctx, in)
}

func (s *downStore) ClaimBatch(ctx context.Context, in []idempotency.ClaimInput) ([]idempotency.ClaimOutcome, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.ClaimBatch(ctx, in)
}

func (s *downStore) Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Store.Complete(ctx, key, token, result, expiresAt)
}

func (s *downStore) Get(ctx context.Context, key string) (idempotency.Record, error) {
	if err := s.fail(); err != nil {
		return idempotency.Record{}, err
	}
	return s.Store.Get(ctx, key)
}

// fakeLambda holds event source mappings and their tags, as the Lambda API
// does.
type fakeLambda struct {
	mu       sync.Mutex
	mappings map[string]*lambdatypes.EventSourceMappingConfiguration // by UUID
	tags     map[string]map[string]string                            // by mapping ARN
	updates  []string                                                // "UUID=enabled|disabled"
}

const fnARN = "arn:aws:lambda:us-east-1:000000000000:function:orders"

func newFakeLambda(sources ...string) *fakeLambda {
	f := &fakeLambda{mappings: map[string]*lambdatypes.EventSourceMappingConfiguration{}, tags: map[string]map[string]string{}}
	for i, src := range sources {
		uuid := fmt.Sprintf("uuid-%d", i)
		f.mappings[uuid] = &lambdatypes.EventSourceMappingConfiguration{
			UUID: aws.String(uuid), EventSourceArn: aws.String(src), FunctionArn: aws.String(fnARN), State: aws.String("Enabled"),
		}
	}
	return f
}

func (f *fakeLambda) ListEventSourceMappings(_ context.Context, in *lambda.ListEventSourceMappingsInput, _ ...func(*lambda.Options)) (*lambda.ListEventSourceMappingsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &lambda.ListEventSourceMappingsOutput{}
	for _, uuid := range []string{"uuid-0", "uuid-1", "uuid-2"} {
		m, ok := f.mappings[uuid]
		if !ok || (in.EventSourceArn != nil && aws.ToString(in.EventSourceArn) != aws.ToString(m.EventSourceArn)) {
			continue
		}
		out.EventSourceMappings = append(out.EventSourceMappings, *m)
	}
	return out, nil
}

func (f *fakeLambda) UpdateEventSourceMapping(_ context.Context, in *lambda.UpdateEventSourceMappingInput, _ ...func(*lambda.Options)) (*lambda.UpdateEventSourceMappingOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.mappings[aws.ToString(in.UUID)]
	state := map[bool]string{true: "Enabled", false: "Disabled"}[aws.ToBool(in.Enabled)]
	m.State = aws.String(state)
	f.updates = append(f.updates, aws.ToString(in.UUID)+"="+state)
	return &lambda.UpdateEventSourceMappingOutput{}, nil
}

func (f *fakeLambda) TagResource(_ context.Context, in *lambda.TagResourceInput, _ ...func(*lambda.Options)) (*lambda.TagResourceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.Resource)
	if f.tags[arn] == nil {
		f.tags[arn] = map[string]string{}
	}
	for k, v := range in.Tags {
		f.tags[arn][k] = v
	}
	return &lambda.TagResourceOutput{}, nil
}

func (f *fakeLambda) UntagResource(_ context.Context, in *lambda.UntagResourceInput, _ ...func(*lambda.Options)) (*lambda.UntagResourceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range in.TagKeys {
		delete(f.tags[aws.ToString(in.Resource)], k)
	}
	return &lambda.UntagResourceOutput{}, nil
}

func (f *fakeLambda) ListTags(_ context.Context, in *lambda.ListTagsInput, _ ...func(*lambda.Options)) (*lambda.ListTagsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tags := map[string]string{}
	for k, v := range f.tags[aws.ToString(in.Resource)] {
		tags[k] = v
	}
	return &lambda.ListTagsOutput{Tags: tags}, nil
}

func (f *fakeLambda) state(uuid string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return aws.ToString(f.mappings[uuid].State)
}

func (f *fakeLambda) tagsOf(uuid string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tags["arn:aws:lambda:us-east-1:000000000000:event-source-mapping:"+uuid]
}

// fakeSQS records visibility changes.
type fakeSQS struct {
	mu         sync.Mutex
	visibility map[string]int32 // receipt handle -> seconds
}

func (f *fakeSQS) GetQueueUrl(_ context.Context, in *sqs.GetQueueUrlInput, _ ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error) {
	return &sqs.GetQueueUrlOutput{QueueUrl: aws.String("https://sqs.local/" + aws.ToString(in.QueueOwnerAWSAccountId) + "/" + aws.ToString(in.QueueName))}, nil
}

func (f *fakeSQS) GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{"VisibilityTimeout": "30"}}, nil
}

func (f *fakeSQS) ChangeMessageVisibilityBatch(_ context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &sqs.ChangeMessageVisibilityBatchOutput{}
	for _, e := range in.Entries {
		f.visibility[aws.ToString(e.ReceiptHandle)] = e.VisibilityTimeout
		out.Successful = append(out.Successful, sqstypes.ChangeMessageVisibilityBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

// outageRig is a New handler on a store that can go down, with pausing
// and back-off on fakes of the Lambda and SQS APIs.
type outageRig struct {
	store   *downStore
	lambda  *fakeLambda
	sqs     *fakeSQS
	h       *sqsonce.Handler[[]byte]
	metrics *bytes.Buffer
	applied atomic.Int64
	n       int
}

func newOutageRig(t *testing.T, after time.Duration) *outageRig {
	t.Helper()
	r := &outageRig{
		store:   &downStore{Store: memstore.New()},
		lambda:  newFakeLambda(standardARN, fifoARN),
		sqs:     &fakeSQS{visibility: map[string]int32{}},
		metrics: &bytes.Buffer{},
	}
	h, err := sqsonce.New(r.store, sqsonce.JSON(sqsonce.BodyKey(func(o order) string { return o.ID })),
		func(context.Context, order) ([]byte, error) { r.applied.Add(1); return nil, nil },
		sqsonce.Config{
			KeyPrefix: "orders",
			Logger:    slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Metrics:   &sqsonce.EMF{Writer: r.metrics},
			Pause:     &sqsonce.Pause{Lambda: r.lambda, FunctionName: "orders", After: after},
			Backoff:   &sqsonce.Backoff{SQS: r.sqs},
		})
	require.NoError(t, err)
	r.h = h
	return r
}

// deliver processes a batch of three new orders, received receives times.
func (r *outageRig) deliver(t *testing.T, receives int) sqsonce.Report[[]byte] {
	t.Helper()
	var ev events.SQSEvent
	for range 3 {
		r.n++
		id := fmt.Sprintf("o-%d", r.n)
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: id, ReceiptHandle: "rh-" + id, Body: fmt.Sprintf(`{"id":%q}`, id), EventSourceARN: standardARN,
			Attributes: map[string]string{"ApproximateReceiveCount": fmt.Sprint(receives)},
		})
	}
	rep, err := r.h.Process(context.Background(), ev)
	require.NoError(t, err)
	return rep
}

// TestStoreBlipDoesNotPause: a store that fails for a few seconds, or for
// less than Pause.After in all, never pauses consumption: its first answer
// clears the judgement.
func TestStoreBlipDoesNotPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newOutageRig(t, time.Minute)
		for _, blip := range []time.Duration{5 * time.Second, 30 * time.Second, 55 * time.Second} {
			r.store.down.Store(true)
			require.Len(t, failures(r.deliver(t, 1)), 3, "the store is down: the batch fails")
			time.Sleep(blip)
			require.Len(t, failures(r.deliver(t, 1)), 3)
			r.store.down.Store(false)
			require.Empty(t, failures(r.deliver(t, 1)), "the store answers again")
			time.Sleep(time.Minute)
		}
		require.Empty(t, r.lambda.updates, "no blip may pause consumption")
		require.Equal(t, "Enabled", r.lambda.state("uuid-0"))
	})
}

// TestStoreOutagePausesAndProbeResumes: a store that fails for Pause.After
// with no answer pauses the mapping of the failing queue (tagged as a store
// outage's pause); a probe while the store is down keeps it paused and
// reports it; the first probe that finds the store answering resumes it.
func TestStoreOutagePausesAndProbeResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newOutageRig(t, time.Minute)
		r.store.down.Store(true)
		for range 6 {
			r.deliver(t, 1)
			require.Equal(t, "Enabled", r.lambda.state("uuid-0"), "not yet down for a minute")
			time.Sleep(10 * time.Second)
		}
		r.deliver(t, 1) // 60 s of failures
		require.Equal(t, "Disabled", r.lambda.state("uuid-0"), "the store has failed for Pause.After: paused")
		require.Equal(t, "Enabled", r.lambda.state("uuid-1"), "only the failing queue's mapping is paused")
		tags := r.lambda.tagsOf("uuid-0")
		require.Equal(t, sqsonce.PausedByStoreOutage, tags[sqsonce.TagPausedBy])
		require.Contains(t, tags[sqsonce.TagPausedReason], "idempotency store")
		require.NotEmpty(t, tags[sqsonce.TagPausedAt])

		time.Sleep(2 * time.Minute)
		rep, err := r.h.Probe(context.Background())
		require.NoError(t, err)
		require.Contains(t, rep.StoreError, errStoreDown.Error())
		require.Empty(t, rep.Resumed, "the store is still down")
		require.Equal(t, "Disabled", r.lambda.state("uuid-0"))
		require.Contains(t, lastLine(r.metrics), `"ConsumerPaused":1`)
		require.Contains(t, lastLine(r.metrics), `"PausedSeconds":120`)

		r.store.down.Store(false)
		rep, err = r.h.Probe(context.Background())
		require.NoError(t, err)
		require.Empty(t, rep.StoreError)
		require.Equal(t, []string{"uuid-0"}, rep.Resumed)
		require.Equal(t, "Enabled", r.lambda.state("uuid-0"))
		require.Empty(t, r.lambda.tagsOf("uuid-0"), "the pause's tags are removed")
		require.Empty(t, failures(r.deliver(t, 2)), "consumption goes on")
		require.Equal(t, []string{"uuid-0=Disabled", "uuid-0=Enabled"}, r.lambda.updates)
	})
}

// TestProbeNeverResumesAnOperatorsPause: a mapping an operator paused stays
// paused, store healthy or not, and the probe reports it.
func TestProbeNeverResumesAnOperatorsPause(t *testing.T) {
	r := newOutageRig(t, time.Minute)
	ctx := context.Background()
	arn := "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:uuid-1"
	_, err := r.lambda.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{
		sqsonce.TagPausedBy: sqsonce.PausedByOperator, sqsonce.TagPausedAt: time.Now().UTC().Format(time.RFC3339),
	}})
	require.NoError(t, err)
	_, err = r.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String("uuid-1"), Enabled: aws.Bool(false)})
	require.NoError(t, err)
	rep, err := r.h.Probe(ctx)
	require.NoError(t, err)
	require.Empty(t, rep.Resumed)
	require.Equal(t, "Disabled", r.lambda.state("uuid-1"))
	require.Equal(t, sqsonce.PausedByOperator, rep.Mappings[1].PausedBy)
	require.Contains(t, lastLine(r.metrics), `"ConsumerPaused":1`)
}

// TestBackoffHidesStoreFailuresLongerEachReceive: records failed by the
// store are hidden for the queue's visibility timeout doubled once per
// receive, capped below SQS's 12 hours; records of a batch that succeeded
// are not touched.
func TestBackoffHidesStoreFailuresLongerEachReceive(t *testing.T) {
	r := newOutageRig(t, time.Hour)
	r.deliver(t, 1)
	require.Empty(t, r.sqs.visibility, "nothing failed")
	r.store.down.Store(true)
	for _, tc := range []struct {
		receives int
		want     int32
	}{{1, 60}, {2, 120}, {5, 960}, {20, int32((sqsonce.VisibilityMax - 6*time.Minute) / time.Second)}} {
		r.deliver(t, tc.receives)
		require.Len(t, r.sqs.visibility, 3)
		for rh, got := range r.sqs.visibility {
			// The cap leaves room for the batching window and the run.
			require.InDelta(t, tc.want, got, 5, "receive %d of %s", tc.receives, rh)
		}
		clear(r.sqs.visibility)
	}
}

// TestInvokeRoutesProbeAndSQSEvents: Invoke answers an SQS event with the
// batch response and the probe event (or a scheduled event) with a probe
// report.
func TestInvokeRoutesProbeAndSQSEvents(t *testing.T) {
	r := newOutageRig(t, time.Minute)
	ctx := context.Background()
	for _, probe := range []string{sqsonce.ProbeEvent, `{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}`} {
		out, err := r.h.Invoke(ctx, []byte(probe))
		require.NoError(t, err)
		var rep sqsonce.ProbeReport
		require.NoError(t, json.Unmarshal(out, &rep))
		require.Len(t, rep.Mappings, 2)
	}
	ev, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: `{"id":"x"}`, EventSourceARN: standardARN}}})
	require.NoError(t, err)
	out, err := r.h.Invoke(ctx, ev)
	require.NoError(t, err)
	require.JSONEq(t, `{"batchItemFailures":[]}`, string(out))
	_, err = r.h.Invoke(ctx, []byte(`{"sqsonce":"pause"}`))
	require.ErrorContains(t, err, sqsonce.ProbeEvent)
}

func lastLine(b *bytes.Buffer) string {
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	return lines[len(lines)-1]
}

// TestBackoffHidesAHeldRecordUntilItsLease: a record whose key another
// delivery holds (its completion lost, say) is hidden until that claim's
// lease ends, not retried every visibility timeout: each retry before then
// would spend a receive on meeting the same claim.
func TestBackoffHidesAHeldRecordUntilItsLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newOutageRig(t, time.Hour)
		now := time.Now()
		for i := 1; i <= 3; i++ { // the keys deliver will use
			_, err := r.store.Store.Claim(context.Background(), idempotency.ClaimInput{
				Key: idempotency.StoredKey("orders", fmt.Sprintf("o-%d", i)), Token: "another delivery",
				Now: now, LeaseUntil: now.Add(90 * time.Second), ExpiresAt: now.Add(time.Hour),
			})
			require.NoError(t, err)
		}
		rep := r.deliver(t, 1)
		require.Equal(t, 3, rep.Counts.InProgress)
		require.Len(t, r.sqs.visibility, 3)
		for rh, got := range r.sqs.visibility {
			require.EqualValues(t, 91, got, "%s: hidden until the lease ends", rh)
		}
		require.Empty(t, r.lambda.updates, "a held key is no outage")
	})
}
