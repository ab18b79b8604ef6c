package ledger

import (
	"strings"

	"github.com/sqsonce/sqsonce/pkg/outbox"
)

// DetailTypeBalanceChanged names a BalanceChanged notification (its
// EventBridge detail type, and the value of its "type" message attribute).
const DetailTypeBalanceChanged = "BalanceChanged"

// BalanceChanged is the notification that event e changed its account's
// balance, published to the queue at queueURL through the outbox: the event
// itself in its canonical encoding, so a second ledger can apply it (and
// check it) as a ledger event. On a FIFO queue it is grouped by account, so
// an account's notifications arrive in the order their events committed.
func BalanceChanged(e Event, queueURL string) outbox.Event {
	to := outbox.SQS{QueueURL: queueURL}
	if strings.HasSuffix(queueURL, ".fifo") {
		to.GroupID = e.Account
	}
	return outbox.Event{To: to, Body: string(e.Canonical()), Attributes: map[string]string{"type": DetailTypeBalanceChanged}}
}
