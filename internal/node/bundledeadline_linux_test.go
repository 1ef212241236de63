package node_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
)

// smallBuffers makes a socket's kernel buffers small, so that a slow
// reader holds the writer back instead of the kernel taking it all.
func smallBuffers(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 8<<10)
		if serr == nil {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// A device on a slow link downloads the whole indicator bundle although
// it takes longer than the server's write timeout, which still bounds
// every other answer.
func TestSlowBundleDownloadCompletes(t *testing.T) {
	ctx := context.Background()
	lc := net.ListenConfig{Control: smallBuffers}
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	n, err := node.Open(ctx, node.Config{DSN: "sqlite:" + filepath.Join(t.TempDir(), "herd.db"), DataDir: t.TempDir(), KEK: make([]byte, 32),
		Authority:    authority.Config{Issuer: base},
		WriteTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	now := time.Now().UTC()
	if _, err := n.Store.(store.Intel).ImportIndicators(ctx, now, func(add func(store.Indicator) error) error {
		for i := range 25_000 {
			ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
			if err := add(store.Indicator{Type: "ipv4", Value: ip, Sources: []string{"test"}, Family: "Emotet", FirstSeen: now, LastSeen: now, RefreshedAt: now}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { n.Serve(sctx, ln, "", ""); close(done) }()
	defer func() { stop(); <-done }()

	p := peer{t, n, &httptest.Server{URL: base}}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	nc := p.nonce()
	pk := base64.RawURLEncoding.EncodeToString(pub)
	req, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: nc,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(nc, pk)))})
	var er protocol.EnrollResponse
	p.post(protocol.PathEnroll, req, http.StatusCreated, &er)
	var resp protocol.CheckinResponse
	p.post(protocol.PathCheckin, statement(er.DeviceID, priv, p.nonce(), health.Pass), 200, &resp)
	if resp.Indicators == nil {
		t.Fatal("no indicator offer in the check-in answer")
	}

	// A client with small buffers that reads about 200 KB a second.
	d := net.Dialer{Control: smallBuffers}
	conn, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", protocol.PathIndicators, ln.Addr(), resp.Indicators.Token)
	br := bufio.NewReaderSize(conn, 4<<10)
	hr, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if hr.StatusCode != 200 {
		t.Fatalf("bundle: %s", hr.Status)
	}
	want, _ := strconv.Atoi(hr.Header.Get("Content-Length"))
	if want < 100_000 {
		t.Fatalf("bundle of %d bytes: too small to test a slow download", want)
	}
	start := time.Now()
	got := 0
	buf := make([]byte, 4<<10)
	for {
		m, err := hr.Body.Read(buf)
		got += m
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d of %d bytes in %s: %v", got, want, time.Since(start), err)
		}
		time.Sleep(20 * time.Millisecond) // ~200 KB/s
	}
	if got != want {
		t.Fatalf("read %d of %d bytes", got, want)
	}
	t.Logf("%d bytes in %s", got, time.Since(start))
	if took := time.Since(start); took < time.Second {
		t.Fatalf("the download took %s: not slower than the write timeout, so the test proves nothing", took)
	}
}
