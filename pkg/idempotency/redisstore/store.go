package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// Store is an idempotency.Store on Valkey / Redis. It is safe for concurrent
// use.
type Store struct {
	rdb         redis.UniversalClient
	replicas    int           // WithWaitReplicas; 0: no waiting
	waitTimeout time.Duration // WithWaitReplicas
}

var (
	_ idempotency.Store        = (*Store)(nil)
	_ idempotency.BatchClaimer = (*Store)(nil)
)

// Option configures a Store.
type Option func(*Store)

// New returns a Store on rdb (a *redis.Client, *redis.ClusterClient, ...),
// once it has checked that the server cannot evict records: its
// maxmemory-policy (on a cluster, every master's) must be noeviction, or New
// returns an *EvictionPolicyError (errors.Is ErrEvictionPolicy), since
// every record has an expiry and any other policy lets a full server drop
// completed records and their duplicates run again. The check reads INFO
// memory, one round trip per master under ctx; a server that cannot be
// reached fails New. A policy changed after New is not seen until the next
// New (a new execution environment).
func New(ctx context.Context, rdb redis.UniversalClient, opts ...Option) (*Store, error) {
	if rdb == nil {
		return nil, &ConfigError{"client", "nil: give a Valkey/Redis client (Dial)"}
	}
	s := &Store{rdb: rdb}
	for _, o := range opts {
		o(s)
	}
	if err := s.validateWait(); err != nil {
		return nil, err
	}
	if err := checkEviction(ctx, rdb); err != nil {
		return nil, err
	}
	return s, nil
}

// Fields of a record's hash (the names of the DynamoDB store's attributes).
const (
	fieldStatus = "status"
	fieldExp    = "expiration"             // epoch seconds
	fieldLease  = "in_progress_expiration" // epoch milliseconds
	fieldHash   = "validation"
	fieldToken  = "owner_token"
	fieldData   = "data"
)

// claimScript claims KEYS[1] unless a live record holds it; it returns {1}
// when it wrote the claim, else {0, the live record's fields}. A record is
// live while its TTL (seconds) has not passed and, if INPROGRESS, its lease
// (milliseconds) has not: Record.Live, at the stored precision.
// ARGV: token, payload hash, now (s), now (ms), lease until (ms), expires (s).
var claimScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'status', 'expiration', 'in_progress_expiration', 'validation', 'owner_token', 'data')
if r[1] then
  local live = tonumber(r[2]) >= tonumber(ARGV[3])
  if r[1] == 'INPROGRESS' and tonumber(r[3] or '0') < tonumber(ARGV[4]) then live = false end
  if live then
    return {0, r[1], r[2], r[3] or '', r[4] or '', r[5] or '', r[6] or ''}
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'status', 'INPROGRESS', 'expiration', ARGV[6], 'in_progress_expiration', ARGV[5], 'owner_token', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'validation', ARGV[2]) end
redis.call('PEXPIREAT', KEYS[1], (tonumber(ARGV[6]) + 1) * 1000)
return {1}
`)

// completeScript completes KEYS[1] if it is INPROGRESS under ARGV[1]; a
// record already COMPLETED under it is a retried request: 1 as well.
// ARGV: token, result, expires (s).
var completeScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'status', 'owner_token')
if r[1] == 'COMPLETED' and r[2] == ARGV[1] then return 1 end
if r[1] ~= 'INPROGRESS' or r[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'COMPLETED', 'expiration', ARGV[3])
redis.call('HDEL', KEYS[1], 'in_progress_expiration')
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'data', ARGV[2]) else redis.call('HDEL', KEYS[1], 'data') end
redis.call('PEXPIREAT', KEYS[1], (tonumber(ARGV[3]) + 1) * 1000)
return 1
`)

// releaseScript deletes KEYS[1] if it is INPROGRESS under ARGV[1].
var releaseScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'status', 'owner_token')
if r[1] ~= 'INPROGRESS' or r[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)

func claimArgs(in idempotency.ClaimInput) []any {
	return []any{in.Token, in.PayloadHash, in.Now.Unix(), in.Now.UnixMilli(), in.LeaseUntil.UnixMilli(), in.ExpiresAt.Unix()}
}

// Claim implements idempotency.Store with one script call (and WAIT, in
// the same round trip, with WithWaitReplicas).
func (s *Store) Claim(ctx context.Context, in idempotency.ClaimInput) (idempotency.Record, error) {
	cmd, werr := s.run(ctx, "claim", claimScript, in.Key, claimArgs(in)...)
	reply, err := cmd.Slice()
	if err != nil {
		return idempotency.Record{}, fmt.Errorf("claim %s: %w", in.Key, err)
	}
	rec, err := judgeClaim(in, reply)
	if err == nil && werr != nil {
		s.unclaim(ctx, in)
		return idempotency.Record{}, werr
	}
	return rec, err
}

// judgeClaim reads a claim script's reply.
func judgeClaim(in idempotency.ClaimInput, reply []any) (idempotency.Record, error) {
	if len(reply) == 1 && reply[0] == int64(1) {
		return idempotency.Record{
			Key: in.Key, Status: idempotency.StatusInProgress, Token: in.Token, PayloadHash: in.PayloadHash,
			ExpiresAt: time.Unix(in.ExpiresAt.Unix(), 0), LeaseUntil: time.UnixMilli(in.LeaseUntil.UnixMilli()),
		}, nil
	}
	if len(reply) != 7 {
		return idempotency.Record{}, fmt.Errorf("claim %s: unexpected reply %v", in.Key, reply)
	}
	f := make([]string, 6)
	for i := range f {
		f[i], _ = reply[i+1].(string)
	}
	rec, err := decode(in.Key, map[string]string{
		fieldStatus: f[0], fieldExp: f[1], fieldLease: f[2], fieldHash: f[3], fieldToken: f[4], fieldData: f[5],
	})
	if err != nil {
		return idempotency.Record{}, fmt.Errorf("claim %s: existing record: %w", in.Key, err)
	}
	return rec, idempotency.JudgeConflict(rec, in)
}

// Complete implements idempotency.Store with one script call (and WAIT
// with WithWaitReplicas: a completion its replicas did not acknowledge is a
// store failure, the record staying COMPLETED on the primary).
func (s *Store) Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error {
	cmd, werr := s.run(ctx, "complete", completeScript, key, token, result, expiresAt.Unix())
	ok, err := cmd.Int()
	if err := fenced("complete", key, ok, err); err != nil {
		return err
	}
	return werr
}

// Release implements idempotency.Store with one script call (and WAIT with
// WithWaitReplicas).
func (s *Store) Release(ctx context.Context, key, token string) error {
	cmd, werr := s.run(ctx, "release", releaseScript, key, token)
	ok, err := cmd.Int()
	if err := fenced("release", key, ok, err); err != nil {
		return err
	}
	return werr
}

func fenced(op, key string, ok int, err error) error {
	switch {
	case err != nil:
		return fmt.Errorf("%s %s: %w", op, key, err)
	case ok != 1:
		return fmt.Errorf("%s %s: %w", op, key, idempotency.ErrLeaseLost)
	}
	return nil
}

// Get implements idempotency.Store with HGETALL.
func (s *Store) Get(ctx context.Context, key string) (idempotency.Record, error) {
	fields, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return idempotency.Record{}, fmt.Errorf("get %s: %w", key, err)
	}
	if len(fields) == 0 {
		return idempotency.Record{}, fmt.Errorf("get %s: %w", key, idempotency.ErrNotFound)
	}
	rec, err := decode(key, fields)
	if err != nil {
		return idempotency.Record{}, fmt.Errorf("get %s: %w", key, err)
	}
	return rec, nil
}

// ClaimBatch implements idempotency.BatchClaimer: one claim script per key,
// pipelined, so the batch costs one round trip and each key is claimed as
// Claim claims it (a pipeline is not a transaction: keys are independent).
// With WithWaitReplicas one WAIT follows the claims in the pipeline (on a
// cluster, one pipeline per master, in parallel).
func (s *Store) ClaimBatch(ctx context.Context, in []idempotency.ClaimInput) ([]idempotency.ClaimOutcome, error) {
	if s.replicas > 0 {
		return s.claimBatchWaited(ctx, in), nil
	}
	cmds := make([]*redis.Cmd, len(in))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range in {
			cmds[i] = claimScript.Eval(ctx, p, []string{c.Key}, claimArgs(c)...)
		}
		return nil
	})
	out := make([]idempotency.ClaimOutcome, len(in))
	for i, cmd := range cmds {
		reply, cerr := cmd.Slice()
		if cerr != nil {
			out[i].Err = fmt.Errorf("claim %s in a batch: %w", in[i].Key, cerr)
			continue
		}
		out[i].Record, out[i].Err = judgeClaim(in[i], reply)
	}
	if err != nil && len(cmds) == 0 {
		return nil, err
	}
	return out, nil
}

// decode reads a record's hash.
func decode(key string, f map[string]string) (idempotency.Record, error) {
	rec := idempotency.Record{
		Key: key, Status: idempotency.Status(f[fieldStatus]), PayloadHash: f[fieldHash], Token: f[fieldToken],
	}
	if d, ok := f[fieldData]; ok && d != "" {
		rec.Result = []byte(d)
	}
	exp, err := strconv.ParseInt(f[fieldExp], 10, 64)
	if err != nil {
		return rec, fmt.Errorf("field %s: %w", fieldExp, err)
	}
	rec.ExpiresAt = time.Unix(exp, 0)
	if v := f[fieldLease]; v != "" {
		lease, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return rec, fmt.Errorf("field %s: %w", fieldLease, err)
		}
		rec.LeaseUntil = time.UnixMilli(lease)
	}
	return rec, nil
}

// DialTimeout is the dial, read and write timeout of a client from Dial.
const DialTimeout = time.Second

// Dial returns a client of the server at url: redis://[user:password@]host:port[/db]
// or rediss://... for TLS (ElastiCache in-transit encryption; AUTH or ACL
// user and password in the URL). With cluster, a cluster client (Redis
// Cluster, ElastiCache cluster mode), url naming one node. Timeouts are short
// (1s to dial, read and write, one retry), so an unreachable server fails a
// record fast and the breaker can do its work.
func Dial(url string, cluster bool) (redis.UniversalClient, error) {
	const timeout = DialTimeout
	if cluster {
		o, err := redis.ParseClusterURL(url)
		if err != nil {
			return nil, &ConfigError{"url", fmt.Sprintf("not a cluster URL (redis://host:port or rediss://user:password@host:port): %v", err)}
		}
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries = timeout, timeout, timeout, 1
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, &ConfigError{"url", fmt.Sprintf("not a URL of the form redis://[user:password@]host:port[/db] or rediss://...: %v", err)}
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries = timeout, timeout, timeout, 1
	return redis.NewClient(o), nil
}
