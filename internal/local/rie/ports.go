package rie

import (
	"fmt"
	"net"
)

// freeAddrs returns n distinct free TCP addresses on 127.0.0.1. They are free
// when returned, not reserved: another process may take one before the
// emulator binds it, which Start handles by trying again.
func freeAddrs(n int) ([]string, error) {
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		listeners = append(listeners, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}
