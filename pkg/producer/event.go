package producer

import "github.com/sqsonce/sqsonce/pkg/ledger"

// AttrEventID is the message attribute that carries the event id, for
// consumers keyed on an attribute (KEY_SOURCE=attribute:event_id).
const AttrEventID = "event_id"

// EventMessage is the message of a ledger event: its canonical JSON body, the
// account as FIFO group, and the event id as FIFO deduplication ID and as
// the event_id attribute.
func EventMessage(e ledger.Event) Message {
	return Message{
		Body:       string(e.Canonical()),
		GroupID:    e.Account,
		DedupID:    e.ID,
		Attributes: map[string]string{AttrEventID: e.ID},
	}
}
