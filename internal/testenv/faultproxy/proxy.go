package faultproxy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Toxic names, one of each kind at a time.
const (
	latencyToxic = "latency"
	timeoutToxic = "timeout"
)

// Proxy is a Toxiproxy proxy on a free port of 127.0.0.1 in front of one
// target. Its methods are safe for concurrent use.
type Proxy struct {
	mu    sync.Mutex
	proxy *toxiproxy.Proxy
}

// Start listens on a free port of 127.0.0.1 and forwards to target
// (host:port).
func Start(target string) (*Proxy, error) {
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(server, "faultproxy", "127.0.0.1:0", target)
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	return &Proxy{proxy: p}, nil
}

// Addr is the proxy's listening address (host:port). It stays the same
// across a Cut and a Restore.
func (p *Proxy) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proxy.Listen
}

// URL is the proxy's address as an http:// endpoint URL for the AWS SDK.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Cut takes the proxy down: open connections are closed, new ones refused.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.proxy.Stop()
}

// Restore brings the proxy back up on the same address and removes the
// timeout fault.
func (p *Proxy) Restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.remove(timeoutToxic)
	if p.proxy.Enabled {
		return nil
	}
	if err := p.proxy.Start(); err != nil {
		return fmt.Errorf("faultproxy: listen again on %s: %w", p.proxy.Listen, err)
	}
	return nil
}

// SetLatency delays every chunk sent towards the target by d; 0 removes the
// delay.
func (p *Proxy) SetLatency(d time.Duration) error {
	return p.set(latencyToxic, d, `{"latency":%d}`)
}

// SetTimeout makes every connection swallow what the client sends and close
// after d without an answer, until Restore.
func (p *Proxy) SetTimeout(d time.Duration) error {
	return p.set(timeoutToxic, d, `{"timeout":%d}`)
}

// set replaces the toxic of the given kind with one whose attributes are
// attrs formatted with d in milliseconds, or removes it when d is 0.
func (p *Proxy) set(kind string, d time.Duration, attrs string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.remove(kind)
	if d <= 0 {
		return nil
	}
	spec := fmt.Sprintf(`{"name":%q,"type":%q,"stream":"upstream","attributes":`+attrs+`}`, kind, kind, d.Milliseconds())
	if _, err := p.proxy.Toxics.AddToxicJson(strings.NewReader(spec)); err != nil {
		return fmt.Errorf("faultproxy: add %s toxic: %w", kind, err)
	}
	return nil
}

func (p *Proxy) remove(kind string) {
	if p.proxy.Toxics.GetToxic(kind) != nil {
		_ = p.proxy.Toxics.RemoveToxic(context.Background(), kind)
	}
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() { p.Cut() }
