package batch

import (
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// attrMessageGroupID is the system attribute of a FIFO queue's records.
const attrMessageGroupID = "MessageGroupId"

// plan is how a batch will run: which records are unique, and the units of
// work, each a run of record indices that must go one at a time in order.
type plan struct {
	records    []events.SQSMessage
	index      map[string]int // message ID -> index of its first record
	unique     []int          // indices of first occurrences, in batch order
	units      [][]int        // sequential units; a failure skips the rest of its unit
	duplicates int
	fifo       bool
}

// newPlan validates and plans a batch. It fails with ErrMissingMessageID when
// a record has no ID, because such a record could not be reported.
func newPlan(records []events.SQSMessage, mode FIFOMode) (plan, error) {
	p := plan{records: records, index: make(map[string]int, len(records)), unique: make([]int, 0, len(records))}
	for i := range records {
		id := records[i].MessageId
		if id == "" {
			return plan{}, fmt.Errorf("record %d of %d: %w", i, len(records), ErrMissingMessageID)
		}
		if _, seen := p.index[id]; seen {
			p.duplicates++
			continue
		}
		p.index[id] = i
		p.unique = append(p.unique, i)
		p.fifo = p.fifo || isFIFORecord(&records[i])
	}
	switch {
	case !p.fifo:
		p.units = make([][]int, len(p.unique))
		for k := range p.unique {
			p.units[k] = p.unique[k : k+1 : k+1]
		}
	case mode == FIFOStrict:
		p.units = [][]int{p.unique}
	default:
		p.units = p.groups()
	}
	return p, nil
}

// isFIFORecord reports whether a record comes from a FIFO queue: its
// eventSourceARN ends in ".fifo". A MessageGroupId alone says nothing:
// standard queues carry group IDs too (fair queues), and their records are
// neither ordered nor deduplicated by SQS.
func isFIFORecord(m *events.SQSMessage) bool {
	return strings.HasSuffix(m.EventSourceARN, ".fifo")
}

// groups splits the unique records by message group, keeping batch order
// within each group; groups are ordered by their first record. Records
// without a group form one group of their own.
func (p *plan) groups() [][]int {
	ids := make(map[string]int)
	groupOf := make([]int, len(p.unique))
	var sizes []int
	for k, i := range p.unique {
		g, ok := ids[p.records[i].Attributes[attrMessageGroupID]]
		if !ok {
			g = len(sizes)
			ids[p.records[i].Attributes[attrMessageGroupID]] = g
			sizes = append(sizes, 0)
		}
		groupOf[k] = g
		sizes[g]++
	}
	flat := make([]int, len(p.unique))
	units := make([][]int, len(sizes))
	start := 0
	for g, n := range sizes {
		units[g] = flat[start : start : start+n]
		start += n
	}
	for k, i := range p.unique {
		units[groupOf[k]] = append(units[groupOf[k]], i)
	}
	return units
}
