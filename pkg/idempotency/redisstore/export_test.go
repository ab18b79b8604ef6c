package redisstore

import "github.com/redis/go-redis/v9"

// NewUnchecked is New without the eviction check, for the test that shows
// what the check prevents.
func NewUnchecked(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }
