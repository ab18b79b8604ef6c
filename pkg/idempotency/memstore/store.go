package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/sqsonce/sqsonce/pkg/backoff"
	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// Store is an in-memory idempotency.Store. The zero value is not usable; call
// New.
type Store struct {
	mu         sync.Mutex
	records    map[string]idempotency.Record
	downstream map[string]string // items written by CommitBatch
	latency    time.Duration
}

// Option configures a Store.
type Option func(*Store)

// WithLatency makes every call wait d (or until its context ends) before it
// runs, to model a remote store's round trip in benchmarks.
func WithLatency(d time.Duration) Option { return func(s *Store) { s.latency = d } }

// New returns an empty Store.
func New(opts ...Option) *Store {
	s := &Store{records: make(map[string]idempotency.Record), downstream: make(map[string]string)}
	for _, o := range opts {
		o(s)
	}
	return s
}

var _ idempotency.Store = (*Store)(nil)

func (s *Store) wait(ctx context.Context) error {
	if err := backoff.Sleep(ctx, s.latency); err != nil {
		return err
	}
	return ctx.Err()
}

// Claim implements idempotency.Store.
func (s *Store) Claim(ctx context.Context, in idempotency.ClaimInput) (idempotency.Record, error) {
	if err := s.wait(ctx); err != nil {
		return idempotency.Record{}, err
	}
	return s.claimLocked(in)
}

// claimLocked claims one key; it takes s.mu.
func (s *Store) claimLocked(in idempotency.ClaimInput) (idempotency.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if existing, ok := s.records[in.Key]; ok && existing.Live(in.Now) {
		return existing, idempotency.JudgeConflict(existing, in)
	}
	rec := idempotency.Record{
		Key:         in.Key,
		Status:      idempotency.StatusInProgress,
		ExpiresAt:   in.ExpiresAt.Truncate(time.Second),
		LeaseUntil:  in.LeaseUntil.Truncate(time.Millisecond),
		PayloadHash: in.PayloadHash,
		Token:       in.Token,
	}
	s.records[in.Key] = rec
	return rec, nil
}

// Complete implements idempotency.Store.
func (s *Store) Complete(ctx context.Context, key, token string, result []byte, expiresAt time.Time) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.completeLocked(key, token, result, expiresAt)
}

// completeLocked completes one claim; it takes s.mu.
func (s *Store) completeLocked(key, token string, result []byte, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.records[key]; ok && rec.Status == idempotency.StatusCompleted && rec.Token == token {
		return nil // completed by this claim already
	}
	rec, err := s.owned(key, token)
	if err != nil {
		return err
	}
	rec.Status = idempotency.StatusCompleted
	rec.Result = append([]byte(nil), result...)
	rec.ExpiresAt = expiresAt.Truncate(time.Second)
	s.records[key] = rec
	return nil
}

// owned returns the record if it is in progress under token. s.mu is held.
func (s *Store) owned(key, token string) (idempotency.Record, error) {
	rec, ok := s.records[key]
	if !ok || rec.Token != token || rec.Status != idempotency.StatusInProgress {
		return idempotency.Record{}, idempotency.ErrLeaseLost
	}
	return rec, nil
}

// Release implements idempotency.Store.
func (s *Store) Release(ctx context.Context, key, token string) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.owned(key, token); err != nil {
		return err
	}
	delete(s.records, key)
	return nil
}

// Get implements idempotency.Store.
func (s *Store) Get(ctx context.Context, key string) (idempotency.Record, error) {
	if err := s.wait(ctx); err != nil {
		return idempotency.Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[key]
	if !ok {
		return idempotency.Record{}, idempotency.ErrNotFound
	}
	return rec, nil
}

var _ idempotency.BatchClaimer = (*Store)(nil)

// ClaimBatch implements idempotency.BatchClaimer: one wait for the whole
// batch, then each input claimed as Claim would.
func (s *Store) ClaimBatch(ctx context.Context, in []idempotency.ClaimInput) ([]idempotency.ClaimOutcome, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	out := make([]idempotency.ClaimOutcome, len(in))
	for i, c := range in {
		out[i].Record, out[i].Err = s.claimLocked(c)
	}
	return out, nil
}

var _ idempotency.BatchCompleter = (*Store)(nil)

// CompleteBatch implements idempotency.BatchCompleter: one wait for the
// whole batch, then each input completed as Complete would.
func (s *Store) CompleteBatch(ctx context.Context, in []idempotency.CompleteInput) []error {
	out := make([]error, len(in))
	if err := s.wait(ctx); err != nil {
		for i := range out {
			out[i] = err
		}
		return out
	}
	for i, c := range in {
		out[i] = s.completeLocked(c.Key, c.Token, c.Result, c.ExpiresAt)
	}
	return out
}

// Write is a write to the store's own in-memory items, committed with a
// record by CommitBatch (for tests, examples and modelled benchmarks).
type Write struct {
	Item     string
	Value    string
	IfAbsent bool // the write's condition: Item does not exist yet
}

var _ idempotency.BatchCommitter[Write] = (*Store)(nil)

// CommitBatch implements idempotency.BatchCommitter: one wait for the whole
// batch, then each input, in order, committed whole or not at all.
func (s *Store) CommitBatch(ctx context.Context, in []idempotency.CommitInput[Write]) []idempotency.CommitOutcome {
	out := make([]idempotency.CommitOutcome, len(in))
	if err := s.wait(ctx); err != nil {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range in {
		if existing, ok := s.records[c.Key]; ok && existing.Live(c.Now) {
			out[i] = idempotency.CommitOutcome{Record: existing, Err: idempotency.JudgeConflict(existing, idempotency.ClaimInput{Key: c.Key, PayloadHash: c.PayloadHash, Now: c.Now})}
			continue
		}
		if j, v, failed := s.failedCondition(c.Writes); failed {
			out[i].Err = &idempotency.WriteConditionError{Index: j, Existing: v}
			continue
		}
		for _, w := range c.Writes {
			s.downstream[w.Item] = w.Value
		}
		s.records[c.Key] = idempotency.Record{
			Key: c.Key, Status: idempotency.StatusCompleted, ExpiresAt: c.ExpiresAt.Truncate(time.Second),
			PayloadHash: c.PayloadHash, Result: append([]byte(nil), c.Result...),
		}
	}
	return out
}

// failedCondition returns the first write whose condition fails, with the
// existing value. s.mu is held.
func (s *Store) failedCondition(writes []Write) (index int, existing string, failed bool) {
	for j, w := range writes {
		if v, ok := s.downstream[w.Item]; ok && w.IfAbsent {
			return j, v, true
		}
	}
	return 0, "", false
}

// Item returns the value CommitBatch wrote to item, and false if none.
func (s *Store) Item(item string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.downstream[item]
	return v, ok
}
