package sqsonce_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

var errBoom = errors.New("boom")

// TestOnceDo runs calls of Once.Do one after another: each step's result
// is the function's run count ("r-1", "r-2"...) when it runs.
func TestOnceDo(t *testing.T) {
	t.Parallel()
	type step struct {
		key, payload string
		fail         error // the function's error, when it runs
		want         string
		replayed     bool
		wantErr      error
	}
	tests := []struct {
		name  string
		cfg   sqsonce.OnceConfig
		steps []step
		runs  int
	}{
		{
			name:  "the first call runs",
			steps: []step{{key: "k", payload: "p", want: "r-1"}},
			runs:  1,
		},
		{
			name:  "a repeat gets the stored result without running",
			steps: []step{{key: "k", payload: "p", want: "r-1"}, {key: "k", payload: "p", want: "r-1", replayed: true}},
			runs:  1,
		},
		{
			name: "a repeat is replayed by the store without the cache",
			cfg:  sqsonce.OnceConfig{CacheSize: -1},
			steps: []step{
				{key: "k", payload: "p", want: "r-1"},
				{key: "k", payload: "p", want: "r-1", replayed: true},
			},
			runs: 1,
		},
		{
			name:  "another key runs",
			steps: []step{{key: "k", payload: "p", want: "r-1"}, {key: "k2", payload: "p", want: "r-2"}},
			runs:  2,
		},
		{
			name: "a key reused with another payload is refused",
			steps: []step{
				{key: "k", payload: "p", want: "r-1"},
				{key: "k", payload: "other", wantErr: sqsonce.ErrPayloadMismatch},
				{key: "k", payload: "p", want: "r-1", replayed: true},
			},
			runs: 1,
		},
		{
			name:  "an empty key is refused",
			steps: []step{{key: "", payload: "p", wantErr: sqsonce.ErrMissingKey}},
			runs:  0,
		},
		{
			name: "a failure stores nothing and is returned as it is: the retry runs",
			steps: []step{
				{key: "k", payload: "p", fail: errBoom, wantErr: errBoom},
				{key: "k", payload: "p", want: "r-2"},
				{key: "k", payload: "p", want: "r-2", replayed: true},
			},
			runs: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.KeyPrefix = "test"
			once, err := sqsonce.NewOnce[string](memstore.New(), tt.cfg)
			require.NoError(t, err)
			runs := 0
			for i, s := range tt.steps {
				got, replayed, err := once.Do(context.Background(), s.key, []byte(s.payload), func(context.Context) (string, error) {
					runs++
					return fmt.Sprintf("r-%d", runs), s.fail
				})
				if s.wantErr != nil {
					require.ErrorIs(t, err, s.wantErr, "step %d", i)
					if s.wantErr == s.fail {
						require.Equal(t, s.fail, err, "step %d: the function's own error", i)
					}
					continue
				}
				require.NoError(t, err, "step %d", i)
				require.Equal(t, s.want, got, "step %d", i)
				require.Equal(t, s.replayed, replayed, "step %d", i)
			}
			require.Equal(t, tt.runs, runs)
		})
	}
}

type receipt struct {
	ID     string            `json:"id"`
	Amount int64             `json:"amount"`
	Tags   map[string]string `json:"tags"`
}

// TestOnceReplaysTheTypedResult: a replay decodes the stored result into
// R, whatever R is.
func TestOnceReplaysTheTypedResult(t *testing.T) {
	t.Parallel()
	t.Run("struct", func(t *testing.T) {
		t.Parallel()
		testReplay(t, receipt{ID: "ch-1", Amount: 500, Tags: map[string]string{"a": "b"}})
	})
	t.Run("pointer", func(t *testing.T) { t.Parallel(); testReplay(t, &receipt{ID: "ch-1"}) })
	t.Run("nil pointer", func(t *testing.T) { t.Parallel(); testReplay[*receipt](t, nil) })
	t.Run("slice", func(t *testing.T) { t.Parallel(); testReplay(t, []int{1, 2}) })
	t.Run("bytes", func(t *testing.T) { t.Parallel(); testReplay(t, []byte("raw")) })
	t.Run("zero", func(t *testing.T) { t.Parallel(); testReplay(t, 0) })
}

func testReplay[R any](t *testing.T, want R) {
	t.Helper()
	for _, cache := range []int{0, -1} {
		once, err := sqsonce.NewOnce[R](memstore.New(), sqsonce.OnceConfig{KeyPrefix: "test", CacheSize: cache})
		require.NoError(t, err)
		for i, wantReplayed := range []bool{false, true} {
			got, replayed, err := once.Do(context.Background(), "k", nil, func(context.Context) (R, error) { return want, nil })
			require.NoError(t, err)
			require.Equal(t, want, got, "call %d, CacheSize %d", i, cache)
			require.Equal(t, wantReplayed, replayed, "call %d, CacheSize %d", i, cache)
		}
	}
}

// upperCodec stores results as JSON with a marker, to show which codec ran.
type upperCodec struct{ sqsonce.JSONCodec }

func (c upperCodec) Marshal(v any) ([]byte, error) {
	b, err := c.JSONCodec.Marshal(v)
	return append([]byte("U"), b...), err
}

func (c upperCodec) Unmarshal(data []byte, v any) error {
	if len(data) == 0 || data[0] != 'U' {
		return errors.New("not encoded by upperCodec")
	}
	return c.JSONCodec.Unmarshal(data[1:], v)
}

// TestOnceCodec: the Codec encodes what is stored and decodes the replay;
// a result it cannot encode fails the call and frees the key, and a stored
// result it cannot decode fails the replay.
func TestOnceCodec(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	cfg := sqsonce.OnceConfig{KeyPrefix: "test", CacheSize: -1, Codec: upperCodec{}}
	once, err := sqsonce.NewOnce[string](store, cfg)
	require.NoError(t, err)
	do := func(o *sqsonce.Once[string]) (string, bool, error) {
		return o.Do(context.Background(), "k", nil, func(context.Context) (string, error) { return "v", nil })
	}
	_, _, err = do(once)
	require.NoError(t, err)
	got, replayed, err := do(once)
	require.NoError(t, err)
	require.True(t, replayed)
	require.Equal(t, "v", got)

	cfg.Codec = nil // JSONCodec cannot read what upperCodec wrote
	plain, err := sqsonce.NewOnce[string](store, cfg)
	require.NoError(t, err)
	_, replayed, err = do(plain)
	require.Error(t, err)
	require.True(t, replayed, "the key was completed: the function did not run")

	unencodable, err := sqsonce.NewOnce[func()](memstore.New(), sqsonce.OnceConfig{KeyPrefix: "test"})
	require.NoError(t, err)
	runs := 0
	for range 2 {
		_, _, err = unencodable.Do(context.Background(), "k", nil, func(context.Context) (func(), error) { runs++; return func() {}, nil })
		require.Error(t, err)
	}
	require.Equal(t, 2, runs, "a result that cannot be stored frees the key")
}

// TestOnceConcurrentDuplicate: a call with a key whose first call still
// runs gets ErrInProgress and does not run; once the first completes, the
// next call gets its result.
func TestOnceConcurrentDuplicate(t *testing.T) {
	t.Parallel()
	once, err := sqsonce.NewOnce[string](memstore.New(), sqsonce.OnceConfig{KeyPrefix: "test"})
	require.NoError(t, err)
	started, finish := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	var wg sync.WaitGroup
	var first string
	var firstErr error
	wg.Go(func() {
		first, _, firstErr = once.Do(context.Background(), "k", []byte("p"), func(context.Context) (string, error) {
			runs.Add(1)
			close(started)
			<-finish
			return "first", nil
		})
	})
	<-started
	_, _, err = once.Do(context.Background(), "k", []byte("p"), func(context.Context) (string, error) {
		runs.Add(1)
		return "second", nil
	})
	require.ErrorIs(t, err, sqsonce.ErrInProgress)
	close(finish)
	wg.Wait()
	require.NoError(t, firstErr)
	require.Equal(t, "first", first)
	got, replayed, err := once.Do(context.Background(), "k", []byte("p"), func(context.Context) (string, error) {
		runs.Add(1)
		return "third", nil
	})
	require.NoError(t, err)
	require.True(t, replayed)
	require.Equal(t, "first", got)
	require.Equal(t, int32(1), runs.Load())
}

// settableClock is a Clock that a test advances.
type settableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *settableClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *settableClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestOnceTTL: a key is forgotten once its TTL has passed, and runs again.
func TestOnceTTL(t *testing.T) {
	t.Parallel()
	clk := &settableClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	once, err := sqsonce.NewOnce[int](memstore.New(), sqsonce.OnceConfig{KeyPrefix: "test", TTL: time.Hour, Clock: clk.Now})
	require.NoError(t, err)
	runs := 0
	do := func() (int, bool) {
		got, replayed, err := once.Do(context.Background(), "k", nil, func(context.Context) (int, error) { runs++; return runs, nil })
		require.NoError(t, err)
		return got, replayed
	}
	do()
	clk.Advance(59 * time.Minute)
	got, replayed := do()
	require.True(t, replayed)
	require.Equal(t, 1, got)
	clk.Advance(2 * time.Minute)
	got, replayed = do()
	require.False(t, replayed)
	require.Equal(t, 2, got)
}

// TestOnceLeaseLost: a call whose lease expired while it ran, and whose key
// another call took over, returns its result with ErrLeaseLost; the record
// is the other call's.
func TestOnceLeaseLost(t *testing.T) {
	t.Parallel()
	clk := &settableClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	once, err := sqsonce.NewOnce[string](memstore.New(), sqsonce.OnceConfig{KeyPrefix: "test", CacheSize: -1, Clock: clk.Now})
	require.NoError(t, err)
	do := func(result string, during func()) (string, bool, error) {
		return once.Do(context.Background(), "k", nil, func(context.Context) (string, error) {
			if during != nil {
				during()
			}
			return result, nil
		})
	}
	got, _, err := do("stalled", func() {
		clk.Advance(guard.LeaseWithoutDeadlineDefault + time.Minute)
		_, replayed, err := do("took over", nil)
		require.NoError(t, err)
		require.False(t, replayed)
	})
	require.ErrorIs(t, err, sqsonce.ErrLeaseLost)
	require.Equal(t, "stalled", got, "the function ran: its result comes with the error")
	got, replayed, err := do("again", nil)
	require.NoError(t, err)
	require.True(t, replayed)
	require.Equal(t, "took over", got)
}

// failingStore fails every claim, and counts them.
type failingStore struct {
	idempotency.Store
	fail   bool
	claims atomic.Int32
}

func (s *failingStore) Claim(ctx context.Context, in idempotency.ClaimInput) (idempotency.Record, error) {
	s.claims.Add(1)
	if s.fail {
		return idempotency.Record{}, errors.New("connection refused")
	}
	return s.Store.Claim(ctx, in)
}

// TestOnceStore: a store failure fails the call without running the
// function; the cache answers a repeat without a claim, unless disabled.
func TestOnceStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fail       bool
		cacheSize  int
		wantErr    error
		wantClaims int32
		wantRuns   int
	}{
		{name: "the store fails", fail: true, wantErr: sqsonce.ErrStoreFailed, wantClaims: 2, wantRuns: 0},
		{name: "the cache answers the repeat", wantClaims: 1, wantRuns: 1},
		{name: "a negative CacheSize disables the cache", cacheSize: -1, wantClaims: 2, wantRuns: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &failingStore{Store: memstore.New(), fail: tt.fail}
			once, err := sqsonce.NewOnce[string](store, sqsonce.OnceConfig{KeyPrefix: "test", CacheSize: tt.cacheSize})
			require.NoError(t, err)
			runs := 0
			for range 2 {
				_, _, err := once.Do(context.Background(), "k", nil, func(context.Context) (string, error) { runs++; return "v", nil })
				if tt.wantErr != nil {
					require.ErrorIs(t, err, tt.wantErr)
				} else {
					require.NoError(t, err)
				}
			}
			require.Equal(t, tt.wantClaims, store.claims.Load())
			require.Equal(t, tt.wantRuns, runs)
		})
	}
}

// TestNewOnceConfig: an invalid OnceConfig is a *ConfigError naming its
// field.
func TestNewOnceConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		nilStore  bool
		cfg       sqsonce.OnceConfig
		wantField string
	}{
		{name: "defaults", cfg: sqsonce.OnceConfig{KeyPrefix: "p"}},
		{name: "cache disabled", cfg: sqsonce.OnceConfig{KeyPrefix: "p", CacheSize: -1}},
		{name: "no key prefix", cfg: sqsonce.OnceConfig{}, wantField: "OnceConfig.KeyPrefix"},
		{name: "no store", nilStore: true, cfg: sqsonce.OnceConfig{KeyPrefix: "p"}, wantField: "store"},
		{name: "negative TTL", cfg: sqsonce.OnceConfig{KeyPrefix: "p", TTL: -time.Hour}, wantField: "OnceConfig.TTL"},
		{name: "TTL shorter than a lease", cfg: sqsonce.OnceConfig{KeyPrefix: "p", TTL: time.Minute}, wantField: "OnceConfig.TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var store idempotency.Store = memstore.New()
			if tt.nilStore {
				store = nil
			}
			_, err := sqsonce.NewOnce[string](store, tt.cfg)
			if tt.wantField == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, sqsonce.ErrInvalidConfig)
			var ce *sqsonce.ConfigError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tt.wantField, ce.Field)
		})
	}
}

// TestIdempotencyKeyHeader runs requests through the example's HTTP API
// handler (ExampleOnce_apiGateway) one after another.
func TestIdempotencyKeyHeader(t *testing.T) {
	t.Parallel()
	type request struct {
		key, body  string
		wantStatus int
		wantBody   string
		replayed   bool
		wantErr    error
	}
	created := func(n int) string { return fmt.Sprintf(`{"charge":"ch-%d"}`, n) }
	tests := []struct {
		name     string
		requests []request
		runs     int
	}{
		{
			name:     "a first request runs",
			requests: []request{{key: "k", body: "a", wantStatus: 201, wantBody: created(1)}},
			runs:     1,
		},
		{
			name: "a repeat gets the stored response",
			requests: []request{
				{key: "k", body: "a", wantStatus: 201, wantBody: created(1)},
				{key: "k", body: "a", wantStatus: 201, wantBody: created(1), replayed: true},
			},
			runs: 1,
		},
		{
			name: "a key reused with another body gets 422",
			requests: []request{
				{key: "k", body: "a", wantStatus: 201, wantBody: created(1)},
				{key: "k", body: "b", wantStatus: 422},
			},
			runs: 1,
		},
		{
			name:     "a request without the header gets 400",
			requests: []request{{body: "a", wantStatus: 400}},
			runs:     0,
		},
		{
			name: "a failed request stores nothing: its retry runs",
			requests: []request{
				{key: "k", body: "fail", wantErr: errBoom},
				{key: "k", body: "fail", wantStatus: 201, wantBody: created(2)},
				{key: "k", body: "fail", wantStatus: 201, wantBody: created(2), replayed: true},
			},
			runs: 2,
		},
		{
			name: "another key runs",
			requests: []request{
				{key: "k", body: "a", wantStatus: 201, wantBody: created(1)},
				{key: "k2", body: "a", wantStatus: 201, wantBody: created(2)},
			},
			runs: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			once, err := sqsonce.NewOnce[events.APIGatewayV2HTTPResponse](memstore.New(), sqsonce.OnceConfig{KeyPrefix: "api"})
			require.NoError(t, err)
			runs := 0
			h := idempotent(once, func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				runs++
				if req.Body == "fail" && runs == 1 {
					return events.APIGatewayV2HTTPResponse{}, errBoom
				}
				return events.APIGatewayV2HTTPResponse{StatusCode: 201, Body: created(runs)}, nil
			})
			for i, r := range tt.requests {
				resp, err := h(context.Background(), post(r.key, r.body))
				if r.wantErr != nil {
					require.ErrorIs(t, err, r.wantErr, "request %d", i)
					continue
				}
				require.NoError(t, err, "request %d", i)
				require.Equal(t, r.wantStatus, resp.StatusCode, "request %d", i)
				if r.wantBody != "" {
					require.Equal(t, r.wantBody, resp.Body, "request %d", i)
				}
				require.Equal(t, r.replayed, resp.Headers["Idempotent-Replayed"] == "true", "request %d", i)
			}
			require.Equal(t, tt.runs, runs)
		})
	}
}

// TestIdempotencyKeyHeaderConcurrentDuplicate: a request sent while the
// first with its key still runs gets 409, and the handler runs once.
func TestIdempotencyKeyHeaderConcurrentDuplicate(t *testing.T) {
	t.Parallel()
	once, err := sqsonce.NewOnce[events.APIGatewayV2HTTPResponse](memstore.New(), sqsonce.OnceConfig{KeyPrefix: "api"})
	require.NoError(t, err)
	started, finish := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	h := idempotent(once, func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if runs.Add(1) == 1 {
			close(started)
			<-finish
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 201, Body: "created"}, nil
	})
	var wg sync.WaitGroup
	var first events.APIGatewayV2HTTPResponse
	var firstErr error
	wg.Go(func() { first, firstErr = h(context.Background(), post("k", "a")) })
	<-started
	resp, err := h(context.Background(), post("k", "a"))
	require.NoError(t, err)
	require.Equal(t, 409, resp.StatusCode)
	close(finish)
	wg.Wait()
	require.NoError(t, firstErr)
	require.Equal(t, 201, first.StatusCode)
	resp, err = h(context.Background(), post("k", "a"))
	require.NoError(t, err)
	require.Equal(t, 201, resp.StatusCode)
	require.Equal(t, "true", resp.Headers["Idempotent-Replayed"])
	require.Equal(t, int32(1), runs.Load())
}
