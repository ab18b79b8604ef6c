package guard

// Outcome says what Guard.Do did with a delivery.
type Outcome int

const (
	// OutcomeExecuted means the function ran under this delivery's claim.
	OutcomeExecuted Outcome = iota + 1
	// OutcomeReplayed means the key was already completed: the function did
	// not run and the stored result was returned.
	OutcomeReplayed
)

func (o Outcome) String() string {
	switch o {
	case OutcomeExecuted:
		return "executed"
	case OutcomeReplayed:
		return "replayed"
	default:
		return "none"
	}
}

// Result is what Guard.Do returns on success.
type Result struct {
	Outcome Outcome
	// Data is the function's result, or the stored result on a replay.
	Data []byte
	// FromCache is true when a replay was served by the local cache without a
	// store request.
	FromCache bool
}
