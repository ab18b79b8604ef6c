package consumer

import (
	"github.com/sqsonce/sqsonce/pkg/ledger"
	"github.com/sqsonce/sqsonce/pkg/outbox"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// Notify is where the consumer publishes a ledger.BalanceChanged
// notification for each event it applies, through the outbox: off (nil)
// unless NOTIFY_QUEUE_URL is set.
type Notify struct {
	QueueURL string       // NOTIFY_QUEUE_URL
	Outbox   outbox.Table // OUTBOX_TABLE, OUTBOX_PARTITION_KEY, OUTBOX_SORT_KEY, OUTBOX_TTL_ATTRIBUTE
}

// loadNotify reads the notification settings:
//
//	NOTIFY_QUEUE_URL        optional: publish a BalanceChanged notification of each applied event to
//	                        this queue (FIFO: grouped by account), through the outbox
//	OUTBOX_TABLE            required with NOTIFY_QUEUE_URL: the outbox table (its stream feeds the relay)
//	OUTBOX_PARTITION_KEY, OUTBOX_SORT_KEY, OUTBOX_TTL_ATTRIBUTE  default pk, sk, expiration
func loadNotify(getenv func(string) string, store string, bad func(name, format string, args ...any)) *Notify {
	url := getenv("NOTIFY_QUEUE_URL")
	if url == "" {
		if getenv("OUTBOX_TABLE") != "" {
			bad("OUTBOX_TABLE", "set, but NOTIFY_QUEUE_URL is not: the consumer publishes nothing")
		}
		return nil
	}
	n := &Notify{QueueURL: url, Outbox: outbox.Table{
		Name: getenv("OUTBOX_TABLE"), PartitionKey: getenv("OUTBOX_PARTITION_KEY"),
		SortKey: getenv("OUTBOX_SORT_KEY"), TTLAttribute: getenv("OUTBOX_TTL_ATTRIBUTE"),
	}}
	switch {
	case store != StoreDynamoDB:
		bad("NOTIFY_QUEUE_URL", "needs IDEMPOTENCY_STORE=dynamodb: the outbox commits with the DynamoDB effect")
	case n.Outbox.Name == "":
		bad("OUTBOX_TABLE", "required with NOTIFY_QUEUE_URL: the outbox table")
	default:
		if err := n.Outbox.Validate(); err != nil {
			bad("OUTBOX_TABLE", "%v", err)
		}
	}
	return n
}

// effect is the ledger's effect of e, with its notification when n is set.
func (n *Notify) effect(table string, e ledger.Event) sqsonce.Effect[ledger.Receipt] {
	eff := ledger.Apply(table, e)
	if n != nil {
		eff.Publish = []outbox.Event{ledger.BalanceChanged(e, n.QueueURL)}
	}
	return eff
}

// config sets the outbox of sc when n is set.
func (n *Notify) config(sc sqsonce.Config) sqsonce.Config {
	if n != nil {
		table := n.Outbox
		sc.Outbox = &table
	}
	return sc
}
