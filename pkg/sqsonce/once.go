package sqsonce

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
)

// OnceConfig configures a [Once]. KeyPrefix is required; every other field's
// zero value takes the default noted.
type OnceConfig struct {
	// KeyPrefix namespaces the keys of one use (for example "payments-api").
	// Required; never derived from the function's name, which may change.
	KeyPrefix string
	// TTL is how long a completed key is remembered and its result
	// replayed. Default [idempotency.TTLDefault] (336h). It must be at least
	// Lambda's longest timeout plus a margin (15m5s), so that no record
	// expires while its claim is live.
	TTL time.Duration
	// CacheSize bounds the completed keys kept in memory per execution
	// environment, so a repeated duplicate costs no store request. Default
	// [CacheSizeDefault]; negative disables the cache.
	CacheSize int
	// Codec encodes a result for the store and decodes it on a replay.
	// Default [JSONCodec].
	Codec Codec
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Tracing, when set, makes a span of each Do, "sqsonce once", the child
	// of the span in its context, with fn's requests under it. Default nil:
	// none, at no cost.
	Tracing *Tracing
}

// WithDefaults returns a copy of c with defaults applied to zero fields.
func (c OnceConfig) WithDefaults() OnceConfig {
	if c.TTL == 0 {
		c.TTL = idempotency.TTLDefault
	}
	if c.CacheSize == 0 {
		c.CacheSize = CacheSizeDefault
	}
	if c.Codec == nil {
		c.Codec = JSONCodec{}
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

// Once runs a function once per idempotency key, for a handler of any
// trigger (API Gateway, a Lambda function URL, EventBridge, a direct
// invocation): the first call with a key runs it and stores its result of
// type R; a later call with the key gets the stored result back, decoded,
// without running it. It is the idempotency core that [New] runs for each
// SQS record: a claim with a lease, the function, then a completion fenced
// by the claim's owner token. It is safe for concurrent use; build it once
// per execution environment, outside the handler.
type Once[R any] struct {
	guard   *guard.Guard
	codec   Codec
	prefix  string
	tracing *Tracing // nil: no spans
}

// NewOnce returns a Once over store (dynamostore.New, redisstore.New, or
// memstore.New in tests). It fails with a *[ConfigError] naming the field
// when cfg is invalid.
func NewOnce[R any](store idempotency.Store, cfg OnceConfig) (*Once[R], error) {
	if store == nil {
		return nil, &ConfigError{"store", "nil: give an idempotency store (dynamostore.New)"}
	}
	cfg = cfg.WithDefaults()
	if cfg.TTL < 0 {
		return nil, &ConfigError{"OnceConfig.TTL", fmt.Sprintf("must not be negative, got %s", cfg.TTL)}
	}
	g, err := guard.NewGuard(store, guard.Config{
		KeyPrefix: cfg.KeyPrefix,
		TTL:       cfg.TTL,
		CacheSize: cfg.CacheSize,
		Clock:     cfg.Clock,
	})
	if err != nil {
		return nil, fromGuard(err, "OnceConfig")
	}
	return &Once[R]{guard: g, codec: cfg.Codec, prefix: cfg.KeyPrefix, tracing: cfg.Tracing.withDefaults()}, nil
}

// Do runs fn once for key and returns its result; replayed is false. If the
// key was completed before, with the same payload, Do returns the stored
// result decoded, with replayed true, and fn does not run. payload is what
// the calls with one key must agree on (its SHA-256 is stored), for example
// an HTTP request's body.
//
// The claim's lease lasts until ctx's deadline (the Lambda invocation's)
// plus a margin, so a call that dies mid-way frees its key for a retry once
// its invocation could no longer be running.
//
// Errors, matched with errors.Is:
//
//   - [ErrMissingKey]: key is empty. fn did not run.
//   - [ErrInProgress]: another call holds the key (the first request is
//     still running). fn did not run; retry later.
//   - [ErrPayloadMismatch]: the key was used with another payload. fn did
//     not run; this is permanent.
//   - [ErrStoreFailed]: the store failed. fn did not run, unless the failure
//     was in storing its result: then Do returns fn's result with the error.
//   - [ErrLeaseLost]: fn ran, but its claim had been taken over, so its
//     result was not stored. Do returns fn's result with the error.
//   - fn's own error, returned as it is: nothing is stored and the key is
//     released, so a retry runs fn again. A result the Codec cannot encode
//     fails likewise. A panic in fn releases the key and is re-raised.
//   - A stored result the Codec cannot decode (R changed incompatibly
//     since it was stored): replayed is true and the result is R's zero
//     value.
func (o *Once[R]) Do(ctx context.Context, key string, payload []byte, fn func(ctx context.Context) (R, error)) (result R, replayed bool, err error) {
	if o.tracing == nil || key == "" {
		return o.do(ctx, key, payload, fn)
	}
	ctx, span := o.tracing.tracer.Start(ctx, "sqsonce once", trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String("sqsonce.key_stored", idempotency.StoredKey(o.prefix, key))))
	defer span.End()
	result, replayed, err = o.do(ctx, key, payload, fn)
	switch {
	case err != nil:
		span.SetAttributes(semconv.ErrorTypeKey.String(onceClass(err)))
		span.SetStatus(codes.Error, onceClass(err))
	case replayed:
		span.SetAttributes(attribute.String("sqsonce.idempotency", string(IdempotencyReplayed)))
	default:
		span.SetAttributes(attribute.String("sqsonce.idempotency", string(IdempotencyExecuted)))
	}
	return result, replayed, err
}

// onceClass is the error class of a Do's error: the store's, the
// protocol's, or the function's own (ClassEffect).
func onceClass(err error) string {
	switch {
	case errors.Is(err, ErrInProgress):
		return ClassInProgress
	case errors.Is(err, ErrPayloadMismatch):
		return ClassPayloadMismatch
	case errors.Is(err, ErrLeaseLost):
		return ClassLeaseLost
	case errors.Is(err, ErrStoreFailed):
		return ClassStoreFailed
	}
	return ClassEffect
}

// do is Do without its span.
func (o *Once[R]) do(ctx context.Context, key string, payload []byte, fn func(ctx context.Context) (R, error)) (result R, replayed bool, err error) {
	var zero R
	if key == "" {
		return zero, false, fmt.Errorf("sqsonce: Once.Do: empty key: %w", ErrMissingKey)
	}
	var ran R
	res, err := o.guard.Do(ctx, key, payload, func(ctx context.Context) ([]byte, error) {
		r, err := fn(ctx)
		if err != nil {
			return nil, err
		}
		ran = r
		return encodeResult(o.codec, r)
	})
	if he := (*guard.HandlerError)(nil); errors.As(err, &he) {
		return zero, false, he.Err
	}
	switch {
	case err != nil && res.Outcome == guard.OutcomeExecuted: // fn ran, its completion failed
		return ran, false, fmt.Errorf("sqsonce: Once.Do: %w", err)
	case err != nil:
		return zero, false, fmt.Errorf("sqsonce: Once.Do: %w", err)
	case res.Outcome == guard.OutcomeReplayed:
		r, err := decodeResult[R](o.codec, res.Data)
		if err != nil {
			return zero, true, fmt.Errorf("sqsonce: Once.Do: replay: %w", err)
		}
		return r, true, nil
	}
	return ran, false, nil
}
