package guard

import (
	"github.com/sqsonce/sqsonce/pkg/idempotency"

	"container/list"
	"sync"
	"time"
)

// completedCache is a bounded LRU of completed records keyed by stored key.
// It only ever holds COMPLETED records and drops an entry once its TTL has
// passed, so a hit is exactly what the store would have replayed.
type completedCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // front = most recently used; values are Record
	items map[string]*list.Element
}

func newCompletedCache(size int) *completedCache {
	if size <= 0 {
		return nil
	}
	return &completedCache{size: size, order: list.New(), items: make(map[string]*list.Element, size)}
}

func (c *completedCache) get(key string, now time.Time) (idempotency.Record, bool) {
	if c == nil {
		return idempotency.Record{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return idempotency.Record{}, false
	}
	rec := el.Value.(idempotency.Record)
	if !rec.Live(now) {
		c.order.Remove(el)
		delete(c.items, key)
		return idempotency.Record{}, false
	}
	c.order.MoveToFront(el)
	return rec, true
}

func (c *completedCache) put(rec idempotency.Record) {
	if c == nil || rec.Status != idempotency.StatusCompleted {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[rec.Key]; ok {
		el.Value = rec
		c.order.MoveToFront(el)
		return
	}
	c.items[rec.Key] = c.order.PushFront(rec)
	for c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(idempotency.Record).Key)
	}
}
