package bench

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/sqsonce/sqsonce/pkg/backoff"
)

// LatencyProxy is an HTTP reverse proxy on 127.0.0.1 that holds each
// request Delay before forwarding it and each response Delay before
// returning it: a region's round trip (2 x Delay) in front of a local
// endpoint.
type LatencyProxy struct {
	srv *http.Server
	ln  net.Listener
}

// StartLatencyProxy proxies to target (an http:// URL) with delay each way.
func StartLatencyProxy(target string, delay time.Duration) (*LatencyProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = delayed{next: &http.Transport{MaxIdleConnsPerHost: 256}, delay: delay}
	p := &LatencyProxy{srv: &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}, ln: ln}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the proxy's endpoint, for the SDK's BaseEndpoint.
func (p *LatencyProxy) URL() string { return "http://" + p.ln.Addr().String() }

// Close stops the proxy.
func (p *LatencyProxy) Close() error { return p.srv.Close() }

type delayed struct {
	next  http.RoundTripper
	delay time.Duration
}

func (d delayed) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := backoff.Sleep(r.Context(), d.delay); err != nil {
		return nil, err
	}
	resp, err := d.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if err := backoff.Sleep(r.Context(), d.delay); err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	return resp, nil
}
