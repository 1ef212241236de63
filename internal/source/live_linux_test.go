package source

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// silentListener is a loopback TCP port that never completes a
// handshake: a listening socket with a backlog of 0 whose one queued
// connection is never accepted, so the kernel drops the SYNs of every
// further client and they stay in SYN_SENT, as a beacon to a C2 that no
// longer answers does.
func silentListener(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue: this one is answered by the kernel and waits to be
	// accepted.
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return addr
}

// TestLiveConnectionsOpeningAndClosing: the live source sees a
// connection still opening (SYN_SENT, to a port that never answers) and
// one closing (CLOSE_WAIT, the server hung up), both with the remote
// address and this process as their owner.
func TestLiveConnectionsOpeningAndClosing(t *testing.T) {
	silent := silentListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dialed := make(chan struct{})
	go func() {
		defer close(dialed)
		var d net.Dialer
		if c, err := d.DialContext(ctx, "tcp", silent); err == nil {
			c.Close()
		}
	}()
	defer func() { cancel(); <-dialed }()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	half, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	// The server's FIN arrives: reading sees the end, and the socket,
	// still open here, is in CLOSE_WAIT.
	half.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := half.Read(make([]byte, 1)); err == nil {
		t.Fatal("the server did not close")
	}

	want := map[string]string{silent: StateSynSent, ln.Addr().String(): StateCloseWait}
	l := NewLive()
	var seen map[string]Connection
	for try := 0; try < 100 && len(seen) < len(want); try++ {
		if try > 0 {
			time.Sleep(20 * time.Millisecond) // the SYN is on its way
		}
		conns, err := l.Connections(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		seen = map[string]Connection{}
		for _, c := range conns {
			if s, ok := want[c.Remote]; ok && c.State == s {
				seen[c.Remote] = c
			}
		}
	}
	for remote, state := range want {
		c, ok := seen[remote]
		if !ok {
			t.Errorf("no %s connection to %s in the live list", state, remote)
			continue
		}
		if c.PID != os.Getpid() {
			t.Errorf("%s connection to %s owned by pid %d, want %d", state, remote, c.PID, os.Getpid())
		}
		if p, ok := c.Peer(); !ok || p.String() != remote {
			t.Errorf("%s connection: Peer = %v, %v", state, p, ok)
		}
	}
}
