// Package redisstore is a Valkey / Redis (ElastiCache) adapter of
// idempotency.Store, for consumers that already sit next to a cache and want
// sub-millisecond idempotency checks. It passes the same conformance suite
// as the DynamoDB store (storetest.Run and storetest.RunBatch).
//
// A record is a hash under its stored key (prefix#sha256), and every step is
// one round trip, atomic on the server (one Lua script on one key):
//
//   - Claim writes an INPROGRESS record when the key is absent, its record
//     expired, or its lease expired; otherwise it returns the live record in
//     the same reply, so a duplicate costs one round trip. A retried claim
//     whose first attempt succeeded finds its own owner token: success.
//   - Complete and Release are fenced by the owner token; a retried
//     completion whose first attempt succeeded is recognised by its token.
//   - ClaimBatch pipelines one claim script per key: a whole SQS batch in
//     one round trip, each key atomic on its own, so it works with Redis
//     Cluster and ElastiCache's cluster mode (keys of a batch fall in many
//     hash slots; no step ever touches two keys).
//   - The record's TTL is the server's own expiry (PEXPIREAT), so nothing
//     needs a sweeper.
//
// What it needs of the server, checked or offered:
//
//   - No eviction. Every record has an expiry, so under ElastiCache's
//     default maxmemory-policy (volatile-lru), any volatile-* or any
//     allkeys-* policy, a full server evicts completed records and their
//     duplicates run again. New reads INFO memory (every master of a
//     cluster) and refuses anything but noeviction with an
//     *EvictionPolicyError (ErrEvictionPolicy): set maxmemory-policy =
//     noeviction in the ElastiCache parameter group, and size the cache for
//     one TTL of records (a full noeviction server refuses writes: a store
//     failure, never a forgotten record).
//   - Durable writes across a failover, when asked. Replication is
//     asynchronous: a claim or completion the primary acknowledged can
//     vanish when a replica is promoted. WithWaitReplicas sends WAIT after
//     each write in the same round trip and makes a write fewer replicas
//     acknowledged a store failure (ErrNotReplicated). Without it, a
//     failover can lose the records of the last moments before it.
//
// What it cannot do: commit a DynamoDB write atomically with a record. It
// does not implement idempotency.BatchCommitter, so sqsonce.NewDynamoDB
// does not take it:
// use sqsonce.New, whose effect runs under a lease and is fenced at its
// completion (make the effect idempotent itself where it can repeat).
//
// The client is go-redis v9 (github.com/redis/go-redis/v9): maintained by
// Redis, it speaks to Redis and Valkey alike, and one interface,
// redis.UniversalClient, covers a single node, Sentinel and Cluster, with
// TLS and ACL users in its options. Build it yourself (NewClient,
// NewClusterClient) or from a URL with ParseURL, as the consumer function
// does.
package redisstore
