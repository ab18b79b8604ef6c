// Package faultproxy is a TCP proxy that breaks a connection on purpose, for
// tests that put it between a client and a dependency (the consumer and its
// DynamoDB endpoint).
//
// A Proxy forwards every accepted connection to its target until told to
// misbehave:
//
//   - Cut drops every open connection and resets each new one at once, as a
//     network partition or a dead endpoint would: clients see
//     "connection reset" without waiting.
//   - SetLatency delays every chunk sent towards the target.
//   - SetTimeout makes every connection swallow what the client sends and
//     close after the given time without an answer (Toxiproxy's "timeout"
//     toxic): clients wait, then see the connection closed.
//   - Restore returns to plain forwarding (latency is kept until set to 0).
//
// Cut and SetTimeout also close the connections already open, so a client's
// pooled keep-alive connection cannot slip past a fault.
//
// What it does not do: it is not a general traffic shaper (no bandwidth
// limit, no partial writes), does not parse the protocol it carries, and
// faults apply to the whole proxy, not to one connection.
package faultproxy
