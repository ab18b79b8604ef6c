// Package faultproxy puts Toxiproxy (github.com/Shopify/toxiproxy/v2, used as
// a library, in-process) between a client and a TCP dependency, for tests
// that break the connection on purpose (the consumer and its DynamoDB
// endpoint). It names the three faults the outage test needs:
//
//   - Cut takes the proxy down: every open connection is closed and new ones
//     are refused, as a network partition or a dead endpoint would. Clients
//     fail at once, without waiting.
//   - SetLatency delays the traffic towards the target (Toxiproxy's
//     "latency" toxic).
//   - SetTimeout swallows what the client sends and closes the connection
//     after the given time without an answer (the "timeout" toxic).
//   - Restore brings the proxy back up and removes the timeout (latency is
//     kept until set to 0).
//
// Faults apply to the whole proxy, to connections already open as well as
// new ones, so a client's pooled keep-alive connection cannot slip past one.
package faultproxy
