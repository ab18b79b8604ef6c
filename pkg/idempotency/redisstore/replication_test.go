package redisstore_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/redistest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/redisstore"
	"github.com/sqsonce/sqsonce/pkg/idempotency/storetest"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
)

// The WAIT timeouts of these tests. Where the replica acknowledges, WAIT
// returns as soon as it does, so its timeout is long: a loaded machine
// must not fail the test (ackedClient's ReadTimeout is above it). Where no
// replica can acknowledge, the timeout is what WAIT waits, so it is short.
const (
	ackTimeout  = 10 * time.Second
	waitTimeout = 300 * time.Millisecond
)

// ackedClient is a client of addr (database db) whose ReadTimeout lets a
// WAIT of ackTimeout return.
func ackedClient(t *testing.T, addr string, db int) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db, ReadTimeout: ackTimeout + 5*time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// With a replica that acknowledges, a store waiting for it passes the
// conformance suites. The cases share one primary and its replica, each
// case in a database of its own (they reuse their keys): two servers, not
// two per case, so the package stays quick (the suite's clock starts when
// the package does, and Redis expires keys by its own).
func TestWaitReplicasConformance(t *testing.T) {
	t.Parallel()
	primary := redistest.Start(t, "--databases", "64")
	redistest.StartReplica(t, primary)
	var db atomic.Int32
	newWaiting := func(t *testing.T) *redisstore.Store {
		s, err := redisstore.New(context.Background(), ackedClient(t, primary.Addr(), int(db.Add(1))), redisstore.WithWaitReplicas(1, ackTimeout))
		require.NoError(t, err)
		return s
	}
	t.Run("store", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) idempotency.Store { return newWaiting(t) })
	})
	t.Run("batch", func(t *testing.T) {
		storetest.RunBatch(t, func(t *testing.T) storetest.BatchStore { return newWaiting(t) })
	})
}

// A claim the primary acknowledged but its replica never received is lost
// when the replica is promoted, and the duplicate runs again. Waiting for
// the replica turns the same claim into a store failure: the effect does
// not run until a claim is replicated.
func TestUnreplicatedClaimIsAStoreFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	work := func(runs *atomic.Int32) func(context.Context) ([]byte, error) {
		return func(context.Context) ([]byte, error) { runs.Add(1); return []byte("done"), nil }
	}
	t.Run("without waiting, a failover doubles the effect", func(t *testing.T) {
		t.Parallel()
		primary := redistest.Start(t)
		replica := redistest.StartReplica(t, primary)
		var runs atomic.Int32
		g := newGuard(t, primary.Client())
		cut(t, replica)
		_, err := g.Do(ctx, "evt-1", nil, work(&runs))
		require.NoError(t, err, "acknowledged by the primary alone")
		promote(t, primary, replica)
		_, err = newGuard(t, replica.Client()).Do(ctx, "evt-1", nil, work(&runs))
		require.NoError(t, err)
		require.EqualValues(t, 2, runs.Load(), "the promoted replica never saw the record")
	})
	t.Run("waiting, the claim fails and the effect does not run", func(t *testing.T) {
		t.Parallel()
		primary := redistest.Start(t)
		replica := redistest.StartReplica(t, primary)
		var runs atomic.Int32
		g := newGuard(t, primary.Client(), redisstore.WithWaitReplicas(1, waitTimeout))
		cut(t, replica)
		_, err := g.Do(ctx, "evt-1", nil, work(&runs))
		require.ErrorIs(t, err, idempotency.ErrStoreFailed)
		require.ErrorIs(t, err, redisstore.ErrNotReplicated)
		var rerr *redisstore.ReplicationError
		require.ErrorAs(t, err, &rerr)
		require.Equal(t, redisstore.ReplicationError{Op: "claim", Key: idempotency.StoredKey("test", "evt-1"), Acked: 0, Want: 1, Timeout: waitTimeout}, *rerr)
		require.Zero(t, runs.Load())
		n, err := primary.Client().Exists(ctx, idempotency.StoredKey("test", "evt-1")).Result()
		require.NoError(t, err)
		require.Zero(t, n, "the unreplicated claim is released")
	})
}

// Every write of the protocol waits: a batch's claims, a completion and a
// release that no replica acknowledged are each a *ReplicationError.
func TestEveryWriteWaits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primary := redistest.Start(t)
	replica := redistest.StartReplica(t, primary)
	acked, err := redisstore.New(ctx, ackedClient(t, primary.Addr(), 0), redisstore.WithWaitReplicas(1, ackTimeout))
	require.NoError(t, err)
	s, err := redisstore.New(ctx, primary.Client(), redisstore.WithWaitReplicas(1, waitTimeout))
	require.NoError(t, err)
	now := time.Now()
	claim := func(key, token string) idempotency.ClaimInput {
		return idempotency.ClaimInput{Key: key, Token: token, Now: now, LeaseUntil: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour)}
	}
	for _, k := range []string{"done", "released"} {
		_, err := acked.Claim(ctx, claim(k, "t"))
		require.NoError(t, err)
	}
	replica.Stop()
	require.ErrorIs(t, s.Complete(ctx, "done", "t", []byte("r"), now.Add(time.Hour)), redisstore.ErrNotReplicated)
	require.ErrorIs(t, s.Release(ctx, "released", "t"), redisstore.ErrNotReplicated)
	out, err := s.ClaimBatch(ctx, []idempotency.ClaimInput{claim("b1", "t"), claim("b2", "t"), claim("done", "u")})
	require.NoError(t, err)
	require.ErrorIs(t, out[0].Err, redisstore.ErrNotReplicated)
	require.ErrorIs(t, out[1].Err, redisstore.ErrNotReplicated)
	require.ErrorIs(t, out[2].Err, idempotency.ErrAlreadyCompleted, "another's record is judged as without waiting")
	n, err := primary.Client().Exists(ctx, "b1", "b2").Result()
	require.NoError(t, err)
	require.Zero(t, n, "the batch's unreplicated claims are released")
}

func TestWithWaitReplicasNamesTheInvalidOption(t *testing.T) {
	t.Parallel()
	server := redistest.Start(t)
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": server.Addr()}})
	t.Cleanup(func() { _ = ring.Close() })
	for _, tc := range []struct {
		name    string
		client  redis.UniversalClient
		timeout time.Duration
	}{
		{"negative timeout", server.Client(), -time.Second},
		{"timeout not under the read timeout", server.Client(), time.Second},
		{"ring", ring, 0},
	} {
		_, err := redisstore.New(context.Background(), tc.client, redisstore.WithWaitReplicas(1, tc.timeout))
		requireConfigError(t, err, "WithWaitReplicas")
	}
}

func newGuard(t *testing.T, c *redis.Client, opts ...redisstore.Option) *guard.Guard {
	t.Helper()
	s, err := redisstore.New(context.Background(), c, opts...)
	require.NoError(t, err)
	g, err := guard.NewGuard(s, guard.Config{KeyPrefix: "test"})
	require.NoError(t, err)
	return g
}

// cut detaches replica from its primary: it keeps what it has and receives
// nothing more, as a replica behind a network partition (it replicates a
// closed port instead).
func cut(t *testing.T, replica *redistest.Server) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	require.NoError(t, replica.Client().Do(context.Background(), "replicaof", "127.0.0.1", port).Err())
}

// promote fails over: the primary dies and the replica becomes primary.
func promote(t *testing.T, primary, replica *redistest.Server) {
	t.Helper()
	primary.Stop()
	require.NoError(t, replica.Client().Do(context.Background(), "replicaof", "no", "one").Err())
}
