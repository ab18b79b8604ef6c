package redisstore

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidConfig is matched (errors.Is) by every *ConfigError.
var ErrInvalidConfig = errors.New("redisstore: invalid config")

// ConfigError names the argument or option of New, or the argument of Dial,
// that is invalid and why.
type ConfigError struct {
	Field   string
	Problem string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("redisstore: %s: %s", e.Field, e.Problem)
}

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// ErrEvictionPolicy is matched (errors.Is) by every *EvictionPolicyError.
var ErrEvictionPolicy = errors.New("redisstore: the server may evict records")

// EvictionPolicyError is New's refusal of a server whose maxmemory-policy is
// not noeviction. Every record carries an expiry (its TTL), so under
// volatile-* policies (ElastiCache's default is volatile-lru), as under any
// allkeys-* policy, a full server evicts completed records, and their
// duplicates would run again.
type EvictionPolicyError struct {
	// Addr is the server (a cluster's master) that reported Policy.
	Addr string
	// Policy is its maxmemory_policy, empty when INFO memory did not report
	// one.
	Policy string
}

func (e *EvictionPolicyError) Error() string {
	policy := fmt.Sprintf("maxmemory-policy is %s", e.Policy)
	if e.Policy == "" {
		policy = "INFO memory reports no maxmemory_policy, so eviction cannot be ruled out"
	}
	return fmt.Sprintf("redisstore: server %s: %s; a full server would evict completed records and let their duplicates run again: "+
		"set maxmemory-policy = noeviction (on ElastiCache, in the cluster's parameter group; on a self-managed server, in redis.conf or valkey.conf), "+
		"and size the cache for the records of one TTL", e.Addr, policy)
}

// Is makes errors.Is(err, ErrEvictionPolicy) true.
func (e *EvictionPolicyError) Is(target error) bool { return target == ErrEvictionPolicy }

// ErrNotReplicated is matched (errors.Is) by every *ReplicationError.
var ErrNotReplicated = errors.New("redisstore: write not acknowledged by enough replicas")

// ReplicationError is a claim, completion or release that the primary made
// but fewer replicas than WithWaitReplicas asks acknowledged within its
// timeout: a failover could lose it, so it is a store failure. A claim is
// released again (best effort) before the error is returned.
type ReplicationError struct {
	Op, Key     string
	Acked, Want int
	Timeout     time.Duration
}

func (e *ReplicationError) Error() string {
	return fmt.Sprintf("redisstore: %s %s: %d of %d replicas acknowledged it within %s; a failover could lose it", e.Op, e.Key, e.Acked, e.Want, e.Timeout)
}

// Is makes errors.Is(err, ErrNotReplicated) true.
func (e *ReplicationError) Is(target error) bool { return target == ErrNotReplicated }
