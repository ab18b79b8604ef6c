package sqsonce_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// errS3 stands for a failed GetObject of a claim check's body.
var errS3 = errors.New("s3: GetObject: connection reset")

// A decoder that fetches the body (a claim check in S3) marks a failed
// fetch Retryable: SQS delivers the message again (decode-failed), where a
// body that does not parse still goes to the DLQ (invalid).
func ExampleRetryable() {
	decode := func(body []byte) (Signup, error) {
		var ref struct {
			S3Key string `json:"s3Key"`
		}
		if err := json.Unmarshal(body, &ref); err != nil {
			return Signup{}, err // permanent: the DLQ
		}
		if ref.S3Key == "unreachable" { // s3.GetObject(ctx, bucket, ref.S3Key) failed
			return Signup{}, sqsonce.Retryable(fmt.Errorf("claim check %s: %w", ref.S3Key, errS3))
		}
		return Signup{ID: ref.S3Key, Email: "ada@example.com"}, nil
	}
	h, err := sqsonce.New(memstore.New(),
		sqsonce.Message[Signup]{Decode: decode, Key: sqsonce.BodyKey(func(s Signup) string { return s.ID })},
		func(ctx context.Context, s Signup) ([]byte, error) { return nil, nil },
		sqsonce.Config{KeyPrefix: "welcome-mails", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	r, _ := h.Process(context.Background(), sqsEvent(`{"s3Key":"s-1"}`, `{"s3Key":"unreachable"}`, `not json`))
	for _, id := range []string{"m-1", "m-2", "m-3"} {
		outcome, _ := r.Outcome(id)
		fmt.Printf("%s %s %q\n", id, outcome, r.Class(id))
	}
	// Output:
	// m-1 succeeded ""
	// m-2 failed "decode-failed"
	// m-3 permanent "invalid"
}
