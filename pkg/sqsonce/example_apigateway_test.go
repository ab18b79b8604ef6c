package sqsonce_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sqsonce/sqsonce/pkg/idempotency/memstore"
	"github.com/sqsonce/sqsonce/pkg/sqsonce"
)

// APIHandler is an API Gateway HTTP API (payload format 2.0) handler, as
// lambda.Start takes it.
type APIHandler func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// idempotent makes next run once per Idempotency-Key header, as the IETF
// Idempotency-Key draft and Powertools do: a repeat gets the stored
// response (status, headers and body, marked Idempotent-Replayed), a request
// still in progress 409, a key reused for another request 422, a request
// without the header 400. A request whose handler returns an error stores
// nothing (API Gateway answers 500), so its retry runs again.
func idempotent(once *sqsonce.Once[events.APIGatewayV2HTTPResponse], next APIHandler) APIHandler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		key := req.Headers["idempotency-key"] // an HTTP API lower-cases header names
		if key == "" {
			return problem(400, "an Idempotency-Key header is required"), nil
		}
		// What the requests with one key must agree on: the method, the path and the body.
		payload := []byte(req.RequestContext.HTTP.Method + " " + req.RawPath + "\n" + req.Body)
		resp, replayed, err := once.Do(ctx, key, payload, func(ctx context.Context) (events.APIGatewayV2HTTPResponse, error) {
			return next(ctx, req)
		})
		switch {
		case errors.Is(err, sqsonce.ErrInProgress):
			return problem(409, "a request with this Idempotency-Key is still being processed"), nil
		case errors.Is(err, sqsonce.ErrPayloadMismatch):
			return problem(422, "this Idempotency-Key was used for another request"), nil
		case err != nil:
			return resp, err
		case replayed:
			if resp.Headers == nil {
				resp.Headers = map[string]string{}
			}
			resp.Headers["Idempotent-Replayed"] = "true"
		}
		return resp, nil
	}
}

func problem(status int, detail string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Body: fmt.Sprintf(`{"detail":%q}`, detail),
		Headers: map[string]string{"Content-Type": "application/problem+json"}}
}

// post is a POST /payments request with an Idempotency-Key header (none if
// key is empty).
func post(key, body string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{RawPath: "/payments", Body: body, Headers: map[string]string{}}
	req.RequestContext.HTTP.Method = "POST"
	if key != "" {
		req.Headers["idempotency-key"] = key
	}
	return req
}

// Any trigger, here an API Gateway HTTP API: a payment is charged once per
// Idempotency-Key. The repeat gets the stored response without a second
// charge; a request sent while the first still runs gets 409, the key reused
// with another body 422, a request without a key 400.
func ExampleOnce_apiGateway() {
	store := memstore.New() // in Lambda: dynamostore.New(dynamodb.NewFromConfig(cfg), table)
	once, err := sqsonce.NewOnce[events.APIGatewayV2HTTPResponse](store, sqsonce.OnceConfig{KeyPrefix: "payments-api"})
	if err != nil {
		panic(err)
	}
	charges := 0
	started, finish := make(chan struct{}), make(chan struct{})
	handler := idempotent(once, func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		charges++ // charge(ctx, req.Body); a charge of 900 is slow:
		if req.Body == `{"amount":900}` {
			close(started)
			<-finish
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 201, Body: fmt.Sprintf(`{"charge":"ch-%d"}`, charges)}, nil
	})
	show := func(req events.APIGatewayV2HTTPRequest) {
		resp, err := handler(context.Background(), req)
		fmt.Println(resp.StatusCode, resp.Body, resp.Headers["Idempotent-Replayed"], err)
	}

	show(post("k-1", `{"amount":500}`))
	show(post("k-1", `{"amount":500}`)) // the client's retry
	show(post("k-1", `{"amount":700}`))
	show(post("", `{"amount":500}`))

	done := make(chan struct{})
	go func() { defer close(done); show(post("k-2", `{"amount":900}`)) }()
	<-started
	show(post("k-2", `{"amount":900}`)) // while the first still runs
	close(finish)
	<-done
	fmt.Println("charges:", charges)
	// Output:
	// 201 {"charge":"ch-1"}  <nil>
	// 201 {"charge":"ch-1"} true <nil>
	// 422 {"detail":"this Idempotency-Key was used for another request"}  <nil>
	// 400 {"detail":"an Idempotency-Key header is required"}  <nil>
	// 409 {"detail":"a request with this Idempotency-Key is still being processed"}  <nil>
	// 201 {"charge":"ch-2"}  <nil>
	// charges: 2
}
