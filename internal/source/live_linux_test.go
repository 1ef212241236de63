package source

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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
// connection still opening (SYN_SENT, to a port that never answers), one
// closing (CLOSE_WAIT, the server hung up), both with the remote address
// and this process as their owner, and one closed from this side
// (TIME_WAIT).
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

	// And one this side closed first: it stays a minute in TIME_WAIT,
	// held by no process.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		if c, err := ln2.Accept(); err == nil {
			c.Read(make([]byte, 1)) // until this side's FIN
			c.Close()
		}
	}()
	closed, err := net.Dial("tcp", ln2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	<-served

	want := map[string]string{silent: StateSynSent, ln.Addr().String(): StateCloseWait, ln2.Addr().String(): StateTimeWait}
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
		if state != StateTimeWait && c.PID != os.Getpid() {
			t.Errorf("%s connection to %s owned by pid %d, want %d", state, remote, c.PID, os.Getpid())
		}
		if p, ok := c.Peer(); !ok || p.String() != remote {
			t.Errorf("%s connection: Peer = %v, %v", state, p, ok)
		}
	}
}

// startCopy copies a system program to path and starts it with args.
func startCopy(t *testing.T, from, path string, args ...string) *exec.Cmd {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Skipf("%s: %v", from, err)
	}
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	if _, err := cmd.StdinPipe(); err != nil { // cat waits on it
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func sha256Hex(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func findProcess(t *testing.T, ps []Process, pid int) Process {
	t.Helper()
	for _, p := range ps {
		if p.PID == pid {
			return p
		}
	}
	t.Fatalf("pid %d not listed", pid)
	return Process{}
}

// TestLiveHashDeletedProgram: a program that removed its own file after
// it started is still hashed (through /proc/PID/exe), and a different
// program later started from the same path gets its own hash: the cache
// does not go by the path.
func TestLiveHashDeletedProgram(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "updater-helper-service")
	first := startCopy(t, "/bin/sleep", prog, "60")
	want1 := sha256Hex(t, "/bin/sleep")
	l := NewLive()
	ps, err := l.Processes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := findProcess(t, ps, first.Process.Pid)
	if p.Exe != prog || p.Deleted || p.Name != "updater-helper-service" || p.Comm != "" {
		t.Errorf("running copy listed as %+v", p)
	}
	if h, err := HashProcess(l, p); err != nil || h != want1 {
		t.Errorf("hash while the file exists: %q, %v; want %s", h, err, want1)
	}

	if err := os.Remove(prog); err != nil {
		t.Fatal(err)
	}
	// A different program now lives at the same path.
	second := startCopy(t, "/bin/cat", prog)
	want2 := sha256Hex(t, "/bin/cat")
	if want1 == want2 {
		t.Fatal("sleep and cat are the same file here")
	}
	if _, err := l.HashFile(prog); err != nil { // cache the new file under the path
		t.Fatal(err)
	}
	ps, err = l.Processes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p = findProcess(t, ps, first.Process.Pid)
	if p.Exe != prog || !p.Deleted {
		t.Errorf("deleted program listed as %+v", p)
	}
	if h, err := HashProcess(l, p); err != nil || h != want1 {
		t.Errorf("hash of the deleted program: %q, %v; want %s (the program it runs, not the file now at its path)", h, err, want1)
	}
	p2 := findProcess(t, ps, second.Process.Pid)
	if p2.Exe != prog || p2.Deleted {
		t.Errorf("second program listed as %+v", p2)
	}
	if h, err := HashProcess(l, p2); err != nil || h != want2 {
		t.Errorf("hash of the program now at the path: %q, %v; want %s", h, err, want2)
	}
	// A pid that now runs something else is not hashed as p.
	if _, err := HashProcess(l, Process{PID: second.Process.Pid, Name: "x", Exe: "/usr/bin/other"}); err == nil {
		t.Error("a process running another program was hashed")
	}
}

// TestLiveProcessNames: a long program name is listed whole, not cut at
// 15 characters as /proc/PID/comm has it.
func TestLiveProcessNames(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "a-rather-long-miner-name")
	cmd := startCopy(t, "/bin/sleep", prog, "60")
	ps, err := NewLive().Processes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := findProcess(t, ps, cmd.Process.Pid); p.Name != "a-rather-long-miner-name" || p.Comm != "" {
		t.Errorf("listed as %+v", p)
	}
}

// TestRecorderHashesProcesses: a recorded snapshot holds every readable
// program's hash, though no check asked for one, and replays it.
func TestRecorderHashesProcesses(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "recorded")
	cmd := startCopy(t, "/bin/sleep", prog, "60")
	want := sha256Hex(t, "/bin/sleep")
	rec := NewRecorder(NewLive(), RecorderOptions{})
	rec.ReadProbe(context.Background(), ProcessList())
	snap := rec.Snapshot()
	var b bytes.Buffer
	if err := snap.Write(&b); err != nil {
		t.Fatal(err)
	}
	back, err := ReadSnapshot(&b)
	if err != nil {
		t.Fatal(err)
	}
	rp := NewReplay(back)
	ps, err := rp.Processes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := findProcess(t, ps, cmd.Process.Pid)
	if p.SHA256 != want {
		t.Errorf("recorded %+v, want sha256 %s", p, want)
	}
	if h, err := HashProcess(rp, p); err != nil || h != want {
		t.Errorf("replayed hash %q, %v", h, err)
	}
}
