package dynamostore_test

import (
	"testing"

	"github.com/sqsonce/sqsonce/internal/testenv/awstest"
	"github.com/sqsonce/sqsonce/pkg/idempotency/storetest"
)

func TestCompleteBatchConformance(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	t.Run("table", func(t *testing.T) {
		t.Parallel()
		storetest.RunCompleteBatch(t, func(t *testing.T) storetest.CompleteStore { return newStore(t, client) })
	})
	t.Run("single-table", func(t *testing.T) {
		t.Parallel()
		storetest.RunCompleteBatch(t, func(t *testing.T) storetest.CompleteStore { return newSingleTableStore(t, client) })
	})
}
