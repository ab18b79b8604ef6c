package sqsonce

// Tags on an event source mapping that consumption was paused on. sqsonce
// tags a mapping before it disables it, so a disabled mapping always says
// who paused it, when and why; [Handler.Probe] resumes only the mappings
// paused by a store outage, never one an operator paused.
const (
	// TagPausedBy says who paused the mapping: PausedByStoreOutage or
	// PausedByOperator.
	TagPausedBy = "sqsonce:paused-by"
	// TagPausedAt is when, in RFC 3339 (UTC).
	TagPausedAt = "sqsonce:paused-at"
	// TagPausedReason is why, in words (at most 256 characters, a tag
	// value's limit).
	TagPausedReason = "sqsonce:paused-reason"

	// PausedByStoreOutage marks a pause made by a Handler that judged its
	// idempotency store down; its probe resumes it once the store answers.
	PausedByStoreOutage = "store-outage"
	// PausedByOperator marks a pause made by hand (sqsonce pause); only a
	// person (sqsonce resume) resumes it.
	PausedByOperator = "operator"
)
