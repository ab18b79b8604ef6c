package redisstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// PolicyNoEviction is the only maxmemory-policy New accepts.
const PolicyNoEviction = "noeviction"

// checkEviction refuses, with an *EvictionPolicyError, a server (or any
// master of a cluster, any shard of a ring) whose maxmemory-policy is not
// noeviction. It reads INFO memory, which ElastiCache serves (CONFIG GET is
// restricted there).
func checkEviction(ctx context.Context, rdb redis.UniversalClient) error {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return checkNodeEviction(ctx, node, node.Options().Addr)
		})
	case *redis.Ring:
		return c.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error {
			return checkNodeEviction(ctx, node, node.Options().Addr)
		})
	case *redis.Client:
		return checkNodeEviction(ctx, c, c.Options().Addr)
	default:
		return checkNodeEviction(ctx, rdb, "(unknown address)")
	}
}

func checkNodeEviction(ctx context.Context, c redis.Cmdable, addr string) error {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return fmt.Errorf("redisstore: check maxmemory-policy of %s (INFO memory): %w", addr, err)
	}
	policy := infoField(info, "maxmemory_policy")
	if policy != PolicyNoEviction {
		return &EvictionPolicyError{Addr: addr, Policy: policy}
	}
	return nil
}

// infoField is the value of field in an INFO reply ("field:value" lines),
// or "".
func infoField(info, field string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}
