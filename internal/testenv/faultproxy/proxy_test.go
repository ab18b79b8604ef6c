package faultproxy_test

import (
	"bufio"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/internal/testenv/faultproxy"
)

// echoServer echoes each line back until the client closes.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func start(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(echoServer(t))
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// roundTrip dials the proxy, sends a line and reads the echo.
func roundTrip(p *faultproxy.Proxy, deadline time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(deadline))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestForwardCutRestore(t *testing.T) {
	t.Parallel()
	p := start(t)
	got, err := roundTrip(p, 5*time.Second)
	require.NoError(t, err)
	require.Equal(t, "ping\n", got)

	// An open connection is dropped by the cut.
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("a\n"))
	require.NoError(t, err)
	_, err = bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	addr := p.Addr()
	p.Cut()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err, "the open connection is closed")

	_, err = roundTrip(p, 5*time.Second)
	require.ErrorIs(t, err, syscall.ECONNREFUSED, "a cut fails fast: refused, not left to time out")

	require.NoError(t, p.Restore())
	require.Equal(t, addr, p.Addr(), "the endpoint does not move")
	got, err = roundTrip(p, 5*time.Second)
	require.NoError(t, err)
	require.Equal(t, "ping\n", got)
}

func TestTimeoutClosesWithoutAnswer(t *testing.T) {
	t.Parallel()
	p := start(t)
	require.NoError(t, p.SetTimeout(200*time.Millisecond))
	began := time.Now()
	_, err := roundTrip(p, 5*time.Second)
	require.ErrorIs(t, err, io.EOF)
	require.GreaterOrEqual(t, time.Since(began), 200*time.Millisecond)
	require.NoError(t, p.Restore())
	_, err = roundTrip(p, 5*time.Second)
	require.NoError(t, err)
}

func TestLatency(t *testing.T) {
	t.Parallel()
	p := start(t)
	require.NoError(t, p.SetLatency(150*time.Millisecond))
	began := time.Now()
	_, err := roundTrip(p, 5*time.Second)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(began), 150*time.Millisecond)

	require.NoError(t, p.SetLatency(0))
	got, err := roundTrip(p, 5*time.Second)
	require.NoError(t, err)
	require.Equal(t, "ping\n", got)
}
