package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is what a Proxy does with new connections.
type Mode int

const (
	// Forward passes traffic through (with the configured latency).
	Forward Mode = iota
	// Down resets every connection at once.
	Down
	// Stall swallows traffic and closes each connection after the timeout.
	Stall
)

func (m Mode) String() string {
	switch m {
	case Down:
		return "down"
	case Stall:
		return "stall"
	default:
		return "forward"
	}
}

// Stats counts what a Proxy did since it started.
type Stats struct {
	Accepted  int64 // connections accepted
	Forwarded int64 // connections forwarded to the target
	Reset     int64 // connections reset because the proxy was down
	Stalled   int64 // connections swallowed and closed after the timeout
	Dropped   int64 // open client connections closed by Cut or SetTimeout
}

// Proxy is a fault-injecting TCP proxy on 127.0.0.1. Its methods are safe for
// concurrent use.
type Proxy struct {
	ln     net.Listener
	target string
	dialer net.Dialer

	mu      sync.Mutex
	mode    Mode
	latency time.Duration
	timeout time.Duration
	conns   map[net.Conn]bool // open sockets; true for the client side
	closed  bool

	accepted, forwarded, reset, stalled, dropped atomic.Int64
	wg                                           sync.WaitGroup
}

// Start listens on a free port of 127.0.0.1 and forwards to target
// (host:port). Close stops it.
func Start(target string) (*Proxy, error) {
	if target == "" {
		return nil, errors.New("faultproxy: target is empty")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]bool{}, dialer: net.Dialer{Timeout: 5 * time.Second}}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is http://Addr, for an SDK endpoint setting.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Mode returns the current mode.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	return Stats{
		Accepted: p.accepted.Load(), Forwarded: p.forwarded.Load(), Reset: p.reset.Load(),
		Stalled: p.stalled.Load(), Dropped: p.dropped.Load(),
	}
}

// Cut drops every open connection and resets new ones until Restore.
func (p *Proxy) Cut() { p.set(Down, 0, true) }

// SetTimeout makes new connections stall for d and then close, and drops the
// open ones, until Restore.
func (p *Proxy) SetTimeout(d time.Duration) { p.set(Stall, d, true) }

// Restore forwards again. Open connections are kept.
func (p *Proxy) Restore() { p.set(Forward, 0, false) }

// SetLatency delays each chunk of data sent to the target by d, on open and
// new connections; 0 removes the delay.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

func (p *Proxy) set(m Mode, timeout time.Duration, drop bool) {
	p.mu.Lock()
	p.mode, p.timeout = m, timeout
	var open []net.Conn
	if drop {
		for c, isClient := range p.conns {
			open = append(open, c)
			if isClient {
				p.dropped.Add(1)
			}
		}
	}
	p.mu.Unlock()
	for _, c := range open {
		abort(c)
	}
}

// Close stops accepting, closes every connection and waits for the
// proxy's goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	open := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		open = append(open, c)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range open {
		_ = c.Close()
	}
	p.wg.Wait()
	return err
}

// abort closes c with a reset (SO_LINGER 0) when it is a TCP connection.
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		p.wg.Go(func() { p.serve(c) })
	}
}

// track registers a client connection and its upstream (nil when
// stalled); false when the proxy is closed.
func (p *Proxy) track(client, upstream net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[client] = true
	if upstream != nil {
		p.conns[upstream] = false
	}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	p.mu.Lock()
	mode, timeout := p.mode, p.timeout
	p.mu.Unlock()
	switch mode {
	case Down:
		p.reset.Add(1)
		abort(client)
		return
	case Stall:
		p.stall(client, timeout)
		return
	}
	upstream, err := p.dialer.Dial("tcp", p.target)
	if err != nil {
		p.reset.Add(1)
		abort(client)
		return
	}
	if !p.track(client, upstream) {
		_ = client.Close()
		_ = upstream.Close()
		return
	}
	defer p.untrack(client, upstream)
	p.forwarded.Add(1)
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(upstream, client, true) })
	wg.Go(func() { p.pipe(client, upstream, false) })
	wg.Wait()
}

// pipe copies src to dst, delaying each chunk towards the target, and closes
// both ends when either side ends.
func (p *Proxy) pipe(dst, src net.Conn, toTarget bool) {
	defer func() {
		_ = dst.Close()
		_ = src.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if toTarget {
				p.mu.Lock()
				d := p.latency
				p.mu.Unlock()
				if d > 0 {
					time.Sleep(d) // the injected latency itself
				}
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// stall reads and discards what the client sends, then closes the
// connection after d (or when the client or Cut closes it).
func (p *Proxy) stall(client net.Conn, d time.Duration) {
	if !p.track(client, nil) {
		_ = client.Close()
		return
	}
	defer p.untrack(client)
	p.stalled.Add(1)
	timer := time.AfterFunc(d, func() { _ = client.Close() })
	defer timer.Stop()
	_, _ = io.Copy(io.Discard, client)
	_ = client.Close()
}
