package authority_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/apitoken"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// rawRequest sends head and then part of a body over a fresh connection,
// closes its sending side, and returns the status line and body answered.
func rawRequest(t *testing.T, addr, head, partial string) (string, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, head+partial)
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status, string(b)
}

// A body cut short of its Content-Length is a 400 saying so, on the
// device protocol and on the admin API, not a 500.
func TestTruncatedBodyIs400(t *testing.T) {
	e := newOpsEnv(t, authority.Config{})
	addr := e.srv.Listener.Addr().String()
	for _, tc := range []struct{ name, head string }{
		{"enroll", "POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"},
		{"admin token create", "POST /v1/admin/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + e.token + "\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := rawRequest(t, addr, tc.head, `{"name": "trunc`)
			if !strings.HasPrefix(status, "400") || !strings.Contains(body, `"code":"truncated_body"`) || !strings.Contains(body, "ended after 15 of its 200 bytes") {
				t.Errorf("answer %s %s, want 400 truncated_body naming the lengths", status, body)
			}
		})
	}
	log, _ := e.ops.AuditLog(context.Background(), 1)
	if len(log) != 1 || log[0].Action != "admin_token.create" || log[0].Outcome != "400" {
		t.Errorf("audit record %+v, want admin_token.create with outcome 400", log)
	}
}

// stallingStore holds the first check-in's write until the client has
// gone.
type stallingStore struct {
	store.Store
	entered chan struct{}
	once    sync.Once
}

func (s *stallingStore) RecordCheckin(ctx context.Context, c store.Checkin) (int64, error) {
	first := false
	s.once.Do(func() { first = true; close(s.entered) })
	if first {
		select {
		case <-ctx.Done():
		case <-time.After(30 * time.Second):
		}
	}
	return s.Store.RecordCheckin(ctx, c)
}

// A client that disconnects during its check-in is counted as
// client_gone, not as an internal error, is not logged as an error, and
// leaves no check-in behind.
func TestClientGoneDuringCheckin(t *testing.T) {
	ctx := context.Background()
	raw, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	st := &stallingStore{Store: raw, entered: make(chan struct{})}
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	keys, err := keyring.Open(ctx, raw, 4*time.Hour, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := &env{t: t, store: raw, clock: clk}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.auth, err = authority.New(ctx, authority.Config{Issuer: e.srv.URL}, authority.Deps{Store: st, Keys: keys, Policy: policy.Default(), Now: clk.Now, Operations: raw, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", e.auth)
	tok, hash := apitoken.New(apitoken.AdminPrefix)
	raw.CreateAdminToken(ctx, store.AdminToken{Name: "alice", Hash: hash, CreatedAt: clk.Now()})

	d := e.enroll()
	body := sign(t, d, e.statement(d, e.nonce(), healthy, "https://bank.example"))
	cctx, cancel := context.WithCancel(ctx)
	go func() { <-st.entered; cancel() }()
	req, _ := http.NewRequestWithContext(cctx, "POST", e.srv.URL+protocol.PathCheckin, bytes.NewReader(body))
	req.Header.Set("Content-Type", protocol.ContentTypeJOSE)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the check-in was answered %s though its client went away", resp.Status)
	}
	metrics := func() string {
		req, _ := http.NewRequest("GET", e.srv.URL+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// The server notices the client has gone and answers the request.
	var m string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m = metrics(); strings.Contains(m, `herd_rejections_total{code="client_gone"} 1`) {
			break
		}
	}
	if !strings.Contains(m, `herd_rejections_total{code="client_gone"} 1`) || strings.Contains(m, `code="internal"`) {
		t.Errorf("metrics: want client_gone counted once and no internal error:\n%s", grepLines(m, "herd_rejections_total"))
	}
	logMu.Lock()
	l := logs.String()
	logMu.Unlock()
	if strings.Contains(l, "level=ERROR") || !strings.Contains(l, "client went away") {
		t.Errorf("log: want a debug line and no error:\n%s", l)
	}
	if n := e.checkins(); n != 0 {
		t.Errorf("%d check-ins stored for a check-in never answered", n)
	}
	// The device checks in again with a fresh nonce and is answered.
	var resp protocol.CheckinResponse
	if code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, sign(t, d, e.statement(d, e.nonce(), healthy, "https://bank.example")), &resp); code != 200 {
		t.Fatalf("next check-in: %d %v", code, perr)
	}
	if n := e.checkins(); n != 1 {
		t.Errorf("%d check-ins stored, want 1", n)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
