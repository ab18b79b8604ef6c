package redisstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// WaitTimeoutDefault is the timeout of WithWaitReplicas when it is given
// zero: how long a claim, completion or release waits for its replicas.
const WaitTimeoutDefault = 500 * time.Millisecond

// WithWaitReplicas makes every claim, completion and release wait until n
// replicas have acknowledged it (WAIT n timeout, sent in the same round trip
// as the write, on the same connection), and report a *ReplicationError
// (ErrNotReplicated), a store failure, when fewer did within timeout.
// Replication is asynchronous: without waiting, a write the primary
// acknowledged can vanish when a replica is promoted, and with it a claim or
// a completion, so a duplicate could run again. WAIT narrows that window to
// the writes whose replicas did not answer (it is not a consensus: a replica
// that acknowledged can still lose the race to be promoted, see the README).
//
// Default: no waiting. n of zero or less disables it. A timeout of zero is
// WaitTimeoutDefault (500ms); it must be shorter than the client's
// ReadTimeout (Dial sets 1s), since the reply is read under that deadline.
// Not for a *redis.Ring, whose keyless WAIT would go to any shard.
func WithWaitReplicas(n int, timeout time.Duration) Option {
	return func(s *Store) { s.replicas, s.waitTimeout = n, timeout }
}

// validateWait applies the default timeout and checks WithWaitReplicas
// against the client.
func (s *Store) validateWait() error {
	if s.replicas <= 0 {
		s.replicas = 0
		return nil
	}
	switch {
	case s.waitTimeout < 0:
		return &ConfigError{"WithWaitReplicas", fmt.Sprintf("timeout %s: must not be negative (zero takes %s)", s.waitTimeout, WaitTimeoutDefault)}
	case s.waitTimeout == 0:
		s.waitTimeout = WaitTimeoutDefault
	}
	var read time.Duration
	switch c := s.rdb.(type) {
	case *redis.Ring:
		return &ConfigError{"WithWaitReplicas", "a *redis.Ring spreads keys over independent servers: WAIT cannot follow a key there; use a cluster client"}
	case *redis.Client:
		read = c.Options().ReadTimeout
	case *redis.ClusterClient:
		read = c.Options().ReadTimeout
	}
	if read == 0 {
		read = 3 * time.Second // go-redis's default
	}
	if read > 0 && s.waitTimeout >= read {
		return &ConfigError{"WithWaitReplicas", fmt.Sprintf("timeout %s is not shorter than the client's ReadTimeout %s: the reply would time out first", s.waitTimeout, read)}
	}
	return nil
}

// pipeliner is a client that pipelines commands on one connection.
type pipeliner interface {
	Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error)
}

// nodeFor is where key's write and its WAIT go: the client itself, or on a
// cluster the client of the master that owns key, so that WAIT runs on the
// connection that made the write.
func (s *Store) nodeFor(ctx context.Context, key string) (pipeliner, error) {
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		node, err := c.MasterForKey(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("master of %s: %w", key, err)
		}
		return node, nil
	}
	return s.rdb, nil
}

// run runs script on key and, with WithWaitReplicas, WAIT after it in the
// same pipeline. It returns the script's reply and, apart, what WAIT said
// (nil when enough replicas acknowledged, or when not waiting).
func (s *Store) run(ctx context.Context, op string, script *redis.Script, key string, args ...any) (*redis.Cmd, error) {
	if s.replicas == 0 {
		return script.Run(ctx, s.rdb, []string{key}, args...), nil
	}
	node, err := s.nodeFor(ctx, key)
	if err != nil {
		cmd := redis.NewCmd(ctx)
		cmd.SetErr(err)
		return cmd, nil
	}
	var cmd *redis.Cmd
	var wait *redis.Cmd
	_, _ = node.Pipelined(ctx, func(p redis.Pipeliner) error {
		cmd = script.Eval(ctx, p, []string{key}, args...)
		wait = p.Do(ctx, "wait", s.replicas, s.waitTimeout.Milliseconds())
		return nil
	})
	return cmd, s.waited(op, key, wait)
}

// waited judges WAIT's reply.
func (s *Store) waited(op, key string, wait *redis.Cmd) error {
	n, err := wait.Int64()
	if err != nil {
		return fmt.Errorf("%s %s: WAIT %d %s: %w", op, key, s.replicas, s.waitTimeout, err)
	}
	if int(n) < s.replicas {
		return &ReplicationError{Op: op, Key: key, Acked: int(n), Want: s.replicas, Timeout: s.waitTimeout}
	}
	return nil
}

// unclaim releases a claim whose replication failed, so its redelivery
// need not wait for the lease; best effort (the lease ends it otherwise).
func (s *Store) unclaim(ctx context.Context, in ...idempotency.ClaimInput) {
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range in {
			releaseScript.Eval(ctx, p, []string{c.Key}, c.Token)
		}
		return nil
	})
}

// claimBatchWaited is ClaimBatch with WithWaitReplicas: one pipeline per
// master (one on a single node), its claims then one WAIT, the masters in
// parallel.
func (s *Store) claimBatchWaited(ctx context.Context, in []idempotency.ClaimInput) []idempotency.ClaimOutcome {
	out := make([]idempotency.ClaimOutcome, len(in))
	groups := map[pipeliner][]int{}
	for i, c := range in {
		node, err := s.nodeFor(ctx, c.Key)
		if err != nil {
			out[i].Err = fmt.Errorf("claim %s in a batch: %w", c.Key, err)
			continue
		}
		groups[node] = append(groups[node], i)
	}
	var wg sync.WaitGroup
	for node, idx := range groups {
		wg.Go(func() { s.claimGroup(ctx, node, in, idx, out) })
	}
	wg.Wait()
	return out
}

// claimGroup claims in[i] for each i of idx on node, then waits for the
// replicas; a claim made but not replicated is released and fails with the
// *ReplicationError. It fills out[i] for each i of idx.
func (s *Store) claimGroup(ctx context.Context, node pipeliner, in []idempotency.ClaimInput, idx []int, out []idempotency.ClaimOutcome) {
	cmds := make([]*redis.Cmd, len(idx))
	var wait *redis.Cmd
	_, _ = node.Pipelined(ctx, func(p redis.Pipeliner) error {
		for j, i := range idx {
			cmds[j] = claimScript.Eval(ctx, p, []string{in[i].Key}, claimArgs(in[i])...)
		}
		wait = p.Do(ctx, "wait", s.replicas, s.waitTimeout.Milliseconds())
		return nil
	})
	var unreplicated []idempotency.ClaimInput
	for j, i := range idx {
		reply, err := cmds[j].Slice()
		if err != nil {
			out[i].Err = fmt.Errorf("claim %s in a batch: %w", in[i].Key, err)
			continue
		}
		out[i].Record, out[i].Err = judgeClaim(in[i], reply)
		if out[i].Err != nil {
			continue // a live record of another claim: judged as without waiting
		}
		if werr := s.waited("claim", in[i].Key, wait); werr != nil {
			out[i] = idempotency.ClaimOutcome{Err: werr}
			unreplicated = append(unreplicated, in[i])
		}
	}
	if len(unreplicated) > 0 {
		s.unclaim(ctx, unreplicated...)
	}
}
