package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/redistest"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
	"github.com/sqsonce/sqsonce/pkg/idempotency/redisstore"
	"github.com/sqsonce/sqsonce/pkg/internal/guard"
)

// New refuses a server that may evict records (ElastiCache's default
// volatile-lru, any volatile-* or allkeys-* policy) with an error naming the
// parameter group setting, and accepts noeviction.
func TestNewRefusesAnEvictingServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	server := redistest.Start(t, "--maxmemory", "2mb", "--maxmemory-policy", "volatile-lru")
	c := server.Client()
	for _, policy := range []string{"volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu", "volatile-random", "allkeys-random", "volatile-ttl", "noeviction"} {
		require.NoError(t, c.ConfigSet(ctx, "maxmemory-policy", policy).Err())
		s, err := redisstore.New(ctx, c)
		if policy == redisstore.PolicyNoEviction {
			require.NoError(t, err)
			require.NotNil(t, s)
			continue
		}
		require.ErrorIs(t, err, redisstore.ErrEvictionPolicy, policy)
		var perr *redisstore.EvictionPolicyError
		require.ErrorAs(t, err, &perr)
		require.Equal(t, policy, perr.Policy)
		require.Equal(t, server.Addr(), perr.Addr)
		require.Contains(t, err.Error(), "maxmemory-policy = noeviction")
		require.Contains(t, err.Error(), "parameter group")
		require.Nil(t, s)
	}
}

// A server that cannot be reached fails New (it is not taken as checked).
func TestNewFailsWhenTheServerIsDown(t *testing.T) {
	t.Parallel()
	server := redistest.Start(t)
	c := server.Client()
	server.Stop()
	_, err := redisstore.New(context.Background(), c)
	require.Error(t, err)
	require.NotErrorIs(t, err, redisstore.ErrEvictionPolicy)
}

// Why New refuses: on a full volatile-lru server (ElastiCache's default),
// other keys with an expiry push a completed record out, and its duplicate
// runs the effect again.
func TestEvictionWouldDoubleAnEffect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	server := redistest.Start(t, "--maxmemory", "2mb", "--maxmemory-policy", "volatile-lru")
	c := server.Client()
	g, err := guard.NewGuard(redisstore.NewUnchecked(c), guard.Config{KeyPrefix: "test", CacheSize: -1})
	require.NoError(t, err)
	var runs atomic.Int32
	work := func(context.Context) ([]byte, error) { runs.Add(1); return []byte("done"), nil }
	_, err = g.Do(ctx, "evt-1", []byte("p"), work)
	require.NoError(t, err)
	fill(t, c, 8<<20)
	n, err := c.Exists(ctx, idempotency.StoredKey("test", "evt-1")).Result()
	require.NoError(t, err)
	require.Zero(t, n, "the completed record was evicted")
	_, err = g.Do(ctx, "evt-1", []byte("p"), work)
	require.NoError(t, err)
	require.EqualValues(t, 2, runs.Load(), "the duplicate ran again")

	_, err = redisstore.New(ctx, c)
	require.ErrorIs(t, err, redisstore.ErrEvictionPolicy, "New refuses this server")
}

// fill writes about size bytes of keys with an expiry, as other users of a
// shared cache (or the records themselves) would.
func fill(t *testing.T, c *redis.Client, size int) {
	t.Helper()
	value := strings.Repeat("x", 32<<10)
	_, err := c.Pipelined(context.Background(), func(p redis.Pipeliner) error {
		for i := range size / len(value) {
			p.Set(context.Background(), "fill-"+strconv.Itoa(i), value, time.Hour)
		}
		return nil
	})
	require.NoError(t, err)
}
