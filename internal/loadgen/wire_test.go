package loadgen

import (
	"bufio"
	"context"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     string
		status int
		body   string
		keep   bool
		err    bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}", 200, `{"a":1}`, true, false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\nTrailer: v\r\n\r\n", 200, `{"a":1}`, true, false},
		{"close", "HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", 429, "{}", false, false},
		{"http 1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, "{}", false, false},
		{"to the end", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, "all of it", false, false},
		{"case of headers", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nCONNECTION: Close\r\n\r\nok", 200, "ok", false, false},
		{"cut short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, "", false, true},
		{"not http", "SSH-2.0-OpenSSH\r\n", 0, "", false, true},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", 0, "", false, true},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, "", false, true},
		{"too long", "HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n", 0, "", false, true},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, "", false, true},
		{"chunk without line end", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX0\r\n\r\n", 0, "", false, true},
		{"header without colon", "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", 0, "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, keep, err := readAnswer(bufio.NewReader(strings.NewReader(tc.in)))
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if err == nil && (status != tc.status || string(body) != tc.body || keep != tc.keep) {
				t.Errorf("= %d %q keep %v, want %d %q keep %v", status, body, keep, tc.status, tc.body, tc.keep)
			}
		})
	}
}

// The client against real servers: answers by length and by chunks, over
// one kept-alive connection, and over TLS.
func TestWireClientRoundTrips(t *testing.T) {
	var conns atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "text/plain" || r.Host == "" {
			http.Error(w, "bad request", 400)
			return
		}
		if r.URL.Path == "/big" {
			w.Write([]byte(strings.Repeat("x", 10000))) // chunked: over the server's buffer
			return
		}
		w.Write(append([]byte("echo:"), b...))
	})
	for _, tlsOn := range []bool{false, true} {
		srv := httptest.NewUnstartedServer(h)
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		conns.Store(0)
		if tlsOn {
			srv.StartTLS()
		} else {
			srv.Start()
		}
		c, err := newWireClient(srv.URL, 4)
		if err != nil {
			t.Fatal(err)
		}
		if tlsOn {
			pool := x509.NewCertPool()
			pool.AddCert(srv.Certificate())
			c.tls.RootCAs = pool
		}
		ctx := context.Background()
		for i := range 5 {
			status, body, err := c.post(ctx, "/echo", "text/plain", []byte("hello"))
			if err != nil || status != 200 || string(body) != "echo:hello" {
				t.Fatalf("tls %v, round %d: %d %q %v", tlsOn, i, status, body, err)
			}
		}
		status, body, err := c.post(ctx, "/big", "text/plain", nil)
		if err != nil || status != 200 || len(body) != 10000 {
			t.Fatalf("tls %v, chunked: %d, %d bytes, %v", tlsOn, status, len(body), err)
		}
		if status, _, err := c.post(ctx, "/echo", "", nil); err != nil || status != 400 {
			t.Errorf("tls %v: without a content type: %d %v", tlsOn, status, err)
		}
		c.close()
		srv.Close()
		if n := conns.Load(); n != 1 {
			t.Errorf("tls %v: %d connections for 7 requests, want 1 kept alive", tlsOn, n)
		}
	}
}

// A request cut short by its context returns the context's error and
// leaves no connection behind to be reused.
func TestWireClientCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
		w.Write([]byte("late"))
	}))
	defer srv.Close()
	c, err := newWireClient(srv.URL, 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := c.post(ctx, "/", "text/plain", nil); err != context.DeadlineExceeded {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if len(c.idle) != 0 {
		t.Errorf("%d connections kept after a cut-short request", len(c.idle))
	}
}

func FuzzReadAnswer(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	f.Add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n")
	f.Add("HTTP/1.0 500 x\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		status, body, _, err := readAnswer(bufio.NewReader(strings.NewReader(in)))
		if err == nil && (status < 0 || status > 999 || len(body) > maxAnswer) {
			t.Fatalf("status %d, %d bytes", status, len(body))
		}
	})
}

// lateCtx is a context whose deadline has passed but whose timer has not
// fired yet, as on a busy machine.
type lateCtx struct{ context.Context }

func (lateCtx) Deadline() (time.Time, bool) { return time.Now().Add(-time.Millisecond), true }

func TestCutShort(t *testing.T) {
	late := lateCtx{context.Background()}
	if !cutShort(late, context.DeadlineExceeded) {
		t.Error("a deadline error after the deadline is not counted as the run's end")
	}
	if cutShort(late, io.ErrUnexpectedEOF) {
		t.Error("another error after the deadline is counted as the run's end")
	}
	if cutShort(context.Background(), context.DeadlineExceeded) {
		t.Error("a deadline error in a run without a deadline is counted as the run's end")
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if !cutShort(done, io.ErrUnexpectedEOF) {
		t.Error("an error once the run is over is not counted as its end")
	}
}
