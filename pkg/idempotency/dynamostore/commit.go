package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sqsonce/sqsonce/pkg/idempotency"
)

// DynamoDB's limits on one TransactWriteItems.
const (
	// MaxActionsPerTx is the most actions in one transaction.
	MaxActionsPerTx = 100
	// MaxTxSize is the most bytes of items in one transaction: 4 MB.
	MaxTxSize = 4 << 20
	// MaxItemSize is the most bytes of one item, attribute names included:
	// 400 KB.
	MaxItemSize = 400 << 10
)

// commit is one input of CommitBatch on its way: its writes sorted into
// exclusive ones (one action each, the only action on their item in a
// transaction) and additions (merged per item across inputs).
type commit struct {
	in        idempotency.CommitInput[Write]
	exclusive []int            // indices into in.Writes
	adds      map[string][]int // item -> indices into in.Writes
	items     map[string]bool  // every item it writes, true if exclusively
	size      int              // estimated bytes of its actions (Write.size)
}

// CommitBatch implements idempotency.BatchCommitter: each input's COMPLETED
// record (a put under Claim's condition) and its writes go in one
// TransactWriteItems with other inputs' (up to MaxActionsPerTx actions and
// MaxTxSize bytes, and never two actions on one item: Adds to one item are merged into one
// update of their exact sum; an input whose other writes touch an item of an
// earlier input waits for a later transaction, so writes to one item keep
// the inputs' order). A cancelled transaction's reasons, with the existing
// items (ALL_OLD), decide the inputs whose condition failed; the others are
// sent again at once, and contention is retried with jittered backoff.
//
// One input's invalid writes fail that input alone, with ErrInvalidWrite:
// writes DynamoDB would refuse are refused before any request (an item over
// MaxItemSize, an input over MaxTxSize, see newCommit), and a write that
// DynamoDB cancels with a ValidationError fails its input while the others
// are sent again. When the invalid write is a merged Add, its contributors
// leave the transaction and are committed one by one, so that only the
// input whose Add is invalid fails.
//
// Cost: a transactional write consumes 2 write units per KB instead of 1,
// so an effect of one item costs 4 WRU (record and item), plus its share of
// the merged Adds; in exchange, up to about 50 effects cost one request.
func (s *Store) CommitBatch(ctx context.Context, in []idempotency.CommitInput[Write]) []idempotency.CommitOutcome {
	out := make([]idempotency.CommitOutcome, len(in))
	pending := make([]*commit, 0, len(in))
	index := make(map[*commit]int, len(in))
	for i := range in {
		c, err := s.newCommit(in[i])
		if err != nil {
			out[i].Err = fmt.Errorf("commit %s: %w", in[i].Key, err)
			continue
		}
		index[c] = i
		pending = append(pending, c)
	}
	for len(pending) > 0 {
		round, later := splitRound(pending)
		results := make(map[*commit]idempotency.CommitOutcome, len(round))
		var mu sync.Mutex
		sem := make(chan struct{}, s.txs)
		var wg sync.WaitGroup
		for _, chunk := range packCommits(round) {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				got := s.commitChunk(ctx, chunk)
				mu.Lock()
				defer mu.Unlock()
				for c, o := range got {
					results[c] = o
				}
			})
		}
		wg.Wait()
		for c, o := range results {
			out[index[c]] = o
		}
		pending = later
	}
	return out
}

// newCommit sorts an input's writes, refusing what DynamoDB would refuse.
func (s *Store) newCommit(in idempotency.CommitInput[Write]) (*commit, error) {
	c := &commit{in: in, adds: map[string][]int{}, items: map[string]bool{}}
	record := Write{item: types.TransactWriteItem{Put: s.claimPut(s.completedItem(in), in.Now)}}
	if n := itemSize(record.item.Put.Item); n > MaxItemSize {
		return nil, fmt.Errorf("%w: the record with its result is an item of about %d bytes, over DynamoDB's %d", ErrInvalidWrite, n, MaxItemSize)
	}
	c.size = record.size()
	for i, w := range in.Writes {
		table, key, err := w.target()
		if err != nil {
			return nil, fmt.Errorf("write %d: %w", i, err)
		}
		if p := w.item.Put; p != nil && itemSize(p.Item) > MaxItemSize {
			return nil, fmt.Errorf("write %d: %w: an item of about %d bytes, over DynamoDB's %d", i, ErrInvalidWrite, itemSize(p.Item), MaxItemSize)
		}
		c.size += w.size()
		id := itemID(table, key)
		exclusive, seen := c.items[id]
		if w.add == nil {
			if seen {
				return nil, fmt.Errorf("write %d: %w: a second write to one item (merge them, or use Add for counters)", i, ErrInvalidWrite)
			}
			c.exclusive = append(c.exclusive, i)
			c.items[id] = true
			continue
		}
		if seen && exclusive {
			return nil, fmt.Errorf("write %d: %w: an Add to an item that another write of the effect writes", i, ErrInvalidWrite)
		}
		c.adds[id] = append(c.adds[id], i)
		c.items[id] = false
	}
	if 1+len(c.exclusive)+len(c.adds) > MaxActionsPerTx {
		return nil, fmt.Errorf("%w: %d writes to %d items, at most %d fit in one transaction with the record",
			ErrInvalidWrite, len(in.Writes), len(c.exclusive)+len(c.adds), MaxActionsPerTx-1)
	}
	if c.size > MaxTxSize {
		return nil, fmt.Errorf("%w: the record and writes are about %d bytes, over the %d of one transaction", ErrInvalidWrite, c.size, MaxTxSize)
	}
	return c, nil
}

// splitRound takes, in order, the commits that touch no item another one
// taken writes exclusively (Adds to one item go together); the rest wait
// for a later round, and so does any commit that touches their items, so
// that writes to one item commit in the inputs' order.
func splitRound(pending []*commit) (round, later []*commit) {
	used := map[string]bool{} // item -> written exclusively
	for _, c := range pending {
		clash := false
		for id, exclusive := range c.items {
			if ex, seen := used[id]; seen && (ex || exclusive) {
				clash = true
				break
			}
		}
		for id, exclusive := range c.items {
			used[id] = used[id] || exclusive || clash
		}
		if clash {
			later = append(later, c)
		} else {
			round = append(round, c)
		}
	}
	return round, later
}

// packCommits cuts a round into transactions of at most MaxActionsPerTx
// actions (one per record and exclusive write, one per added-to item) and
// MaxTxSize estimated bytes (each commit's size counts its Adds in full). The
// round is first sorted by the items its commits add to (nothing in a round
// depends on its order), so that the commits of one counter share
// transactions, and their merged update.
func packCommits(round []*commit) [][]*commit {
	first := func(c *commit) string {
		if len(c.adds) == 0 {
			return ""
		}
		return slices.Min(slices.Collect(maps.Keys(c.adds)))
	}
	sorted := slices.Clone(round)
	slices.SortStableFunc(sorted, func(a, b *commit) int { return strings.Compare(first(a), first(b)) })
	round = sorted
	var chunks [][]*commit
	var cur []*commit
	actions, size, addItems := 0, 0, map[string]bool{}
	for _, c := range round {
		need := 1 + len(c.exclusive)
		for id := range c.adds {
			if !addItems[id] {
				need++
			}
		}
		if actions+need > MaxActionsPerTx || size+c.size > MaxTxSize {
			chunks = append(chunks, cur)
			cur, actions, size, addItems = nil, 0, 0, map[string]bool{}
			need = 1 + len(c.exclusive) + len(c.adds)
		}
		cur = append(cur, c)
		actions += need
		size += c.size
		for id := range c.adds {
			addItems[id] = true
		}
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// action says what one item of a transaction does: an input's record
// (write -1) or one of its writes, or a merged addition to item (c nil).
type action struct {
	c     *commit
	write int
	item  string
}

// transaction builds the items of one attempt over the live commits.
func (s *Store) transaction(live []*commit) ([]types.TransactWriteItem, []action, error) {
	items := make([]types.TransactWriteItem, 0, MaxActionsPerTx)
	acts := make([]action, 0, MaxActionsPerTx)
	type sum struct {
		w     Write // the first Add: its table and key
		attrs map[string]*big.Int
		order []string
	}
	sums := map[string]*sum{}
	var order []string
	for _, c := range live {
		items = append(items, types.TransactWriteItem{Put: s.claimPut(s.completedItem(c.in), c.in.Now)})
		acts = append(acts, action{c: c, write: -1})
		for _, i := range c.exclusive {
			items = append(items, c.in.Writes[i].withAllOld())
			acts = append(acts, action{c: c, write: i})
		}
		for id, writes := range c.adds {
			sm := sums[id]
			if sm == nil {
				sm = &sum{w: c.in.Writes[writes[0]], attrs: map[string]*big.Int{}}
				sums[id] = sm
				order = append(order, id)
			}
			for _, i := range writes {
				a := c.in.Writes[i].add
				if sm.attrs[a.attr] == nil {
					sm.attrs[a.attr] = new(big.Int)
					sm.order = append(sm.order, a.attr)
				}
				sm.attrs[a.attr].Add(sm.attrs[a.attr], big.NewInt(a.n))
			}
		}
	}
	for _, id := range order {
		sm := sums[id]
		expr := "ADD "
		names := map[string]string{}
		values := map[string]types.AttributeValue{}
		for k, attr := range sm.order {
			if k > 0 {
				expr += ", "
			}
			n, v := fmt.Sprintf("#a%d", k), fmt.Sprintf(":v%d", k)
			expr += n + " " + v
			names[n] = attr
			digits := sm.attrs[attr].String()
			if len(digits) > 39 || (len(digits) == 39 && digits[0] != '-') {
				return nil, nil, fmt.Errorf("%w: the sum added to %s, %s, has more than the 38 digits DynamoDB holds", ErrInvalidWrite, attr, digits)
			}
			values[v] = &types.AttributeValueMemberN{Value: digits}
		}
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(sm.w.add.table),
			Key:                       sm.w.add.key,
			UpdateExpression:          aws.String(expr),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		}})
		acts = append(acts, action{write: -1, item: id})
	}
	return items, acts, nil
}

// commitChunk commits one transaction's commits, returning each one's
// outcome. Commits whose record or write condition fails, or whose write
// DynamoDB refuses (ValidationError), are decided and dropped, and the rest
// sent again at once; contention is retried after a backoff. The
// contributors of a merged Add that DynamoDB refuses are dropped too, and
// then committed one by one, so that only the invalid one fails.
func (s *Store) commitChunk(ctx context.Context, chunk []*commit) map[*commit]idempotency.CommitOutcome {
	out := make(map[*commit]idempotency.CommitOutcome, len(chunk))
	var alone []*commit // contributors of an invalid merged Add
	defer func() {
		for _, c := range alone {
			maps.Copy(out, s.commitChunk(ctx, []*commit{c}))
		}
	}()
	live := chunk
	fail := func(err error) map[*commit]idempotency.CommitOutcome {
		for _, c := range live {
			out[c] = idempotency.CommitOutcome{Err: fmt.Errorf("commit %s: %w", c.in.Key, err)}
		}
		return out
	}
	retry := s.retries()
	for len(live) > 0 {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		items, acts, err := s.transaction(live)
		if err != nil {
			return fail(err)
		}
		_, err = s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			for _, c := range live {
				out[c] = idempotency.CommitOutcome{}
			}
			return out
		}
		reasons, ok := cancellation(err)
		if !ok || len(reasons) != len(acts) {
			return fail(err)
		}
		decided := map[*commit]bool{}
		for k, r := range reasons {
			a, code := acts[k], aws.ToString(r.Code)
			switch {
			case code == "" || code == "None" || isContention(code):
			case a.c == nil && code == validationError:
				contributors := contributorsOf(live, a.item)
				if c := contributors[0]; len(contributors) == 1 && !decided[c] {
					out[c], decided[c] = invalid(c, c.adds[a.item][0], r), true
					continue
				}
				for _, c := range contributors {
					if !decided[c] {
						alone, decided[c] = append(alone, c), true
					}
				}
			case a.c == nil:
				return fail(fmt.Errorf("merged addition: %s: %s", code, aws.ToString(r.Message)))
			case decided[a.c]:
			case code == "ConditionalCheckFailed" && a.write < 0:
				o, settled := s.judgeRecord(ctx, a.c.in, r.Item)
				if settled {
					out[a.c], decided[a.c] = o, true
				}
			case code == "ConditionalCheckFailed":
				var existing any
				if r.Item != nil {
					existing = r.Item
				}
				out[a.c] = idempotency.CommitOutcome{Err: &idempotency.WriteConditionError{Index: a.write, Existing: existing}}
				decided[a.c] = true
			case code == validationError:
				out[a.c], decided[a.c] = invalid(a.c, a.write, r), true
			default:
				out[a.c] = idempotency.CommitOutcome{Err: fmt.Errorf("commit %s: write %d: %s: %s", a.c.in.Key, a.write, code, aws.ToString(r.Message))}
				decided[a.c] = true
			}
		}
		if len(decided) == 0 {
			if !contended(reasons) {
				return fail(err)
			}
			if werr := retry.wait(ctx, err); werr != nil {
				return fail(werr)
			}
		}
		rest := live[:0:0]
		for _, c := range live {
			if !decided[c] {
				rest = append(rest, c)
			}
		}
		live = rest
	}
	return out
}

// validationError is the cancellation reason of an action DynamoDB refuses
// for what it writes: an item grown over MaxItemSize, an ADD to an
// attribute that is not a number, a type that does not match.
const validationError = "ValidationError"

// invalid is the outcome of a commit whose write (-1: its record) DynamoDB
// refused with reason r.
func invalid(c *commit, write int, r types.CancellationReason) idempotency.CommitOutcome {
	what := fmt.Sprintf("write %d", write)
	if write < 0 {
		what = "the record"
	}
	return idempotency.CommitOutcome{Err: fmt.Errorf("commit %s: %s: %w: DynamoDB refused it: %s: %s",
		c.in.Key, what, ErrInvalidWrite, aws.ToString(r.Code), aws.ToString(r.Message))}
}

// contributorsOf returns the commits of live that add to item.
func contributorsOf(live []*commit, item string) []*commit {
	var out []*commit
	for _, c := range live {
		if len(c.adds[item]) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// judgeRecord decides an input whose record condition failed, from the
// existing record (ALL_OLD, or read when the endpoint did not return it).
// settled is false when the record vanished since: the input is tried again.
func (s *Store) judgeRecord(ctx context.Context, in idempotency.CommitInput[Write], item map[string]types.AttributeValue) (o idempotency.CommitOutcome, settled bool) {
	var rec idempotency.Record
	var err error
	if item == nil {
		rec, err = s.Get(ctx, in.Key)
		if errors.Is(err, idempotency.ErrNotFound) {
			return o, false
		}
	} else {
		rec, err = s.l.decode(item)
	}
	if err != nil {
		return idempotency.CommitOutcome{Err: fmt.Errorf("commit %s: existing record: %w", in.Key, err)}, true
	}
	return idempotency.CommitOutcome{Record: rec, Err: idempotency.JudgeConflict(rec, idempotency.ClaimInput{Key: in.Key, PayloadHash: in.PayloadHash, Now: in.Now})}, true
}

// completedItem is the COMPLETED record an input writes.
func (s *Store) completedItem(in idempotency.CommitInput[Write]) map[string]types.AttributeValue {
	item := s.l.keyOf(in.Key)
	item[s.l.StatusAttr] = str(string(idempotency.StatusCompleted))
	item[s.l.ExpirationAttr] = num(in.ExpiresAt.Unix())
	if in.PayloadHash != "" {
		item[s.l.PayloadAttr] = str(in.PayloadHash)
	}
	if len(in.Result) > 0 {
		item[s.l.ResultAttr] = resultValue(in.Result)
	}
	return item
}
