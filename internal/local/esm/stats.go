package esm

import "sync/atomic"

// Stats are a Mapping's counters since it was created.
type Stats struct {
	// Batches is the number of invocations.
	Batches int64
	// Received is the number of messages received (each delivery counts).
	Received int64
	// Deleted is the number of messages deleted after success.
	Deleted int64
	// ReportedFailed is the number of records the function listed in
	// batchItemFailures.
	ReportedFailed int64
	// BatchFailures is the number of invocations that failed as a whole:
	// function error, timeout, or invalid response.
	BatchFailures int64
	// DeleteErrors is the number of messages whose deletion failed; they
	// will be delivered again.
	DeleteErrors int64
	// ReceiveErrors is the number of failed ReceiveMessage calls.
	ReceiveErrors int64
	// DisabledChecks is the number of times a poller found the mapping
	// disabled and waited instead of receiving (Config.Lambda).
	DisabledChecks int64
}

// counters are the live, concurrently updated form of Stats.
type counters struct {
	batches, received, deleted, reportedFailed, batchFailures, deleteErrors, receiveErrors, disabledChecks atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Batches:        c.batches.Load(),
		Received:       c.received.Load(),
		Deleted:        c.deleted.Load(),
		ReportedFailed: c.reportedFailed.Load(),
		BatchFailures:  c.batchFailures.Load(),
		DeleteErrors:   c.deleteErrors.Load(),
		ReceiveErrors:  c.receiveErrors.Load(),
		DisabledChecks: c.disabledChecks.Load(),
	}
}
