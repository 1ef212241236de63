package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// The load generator's own HTTP/1.1 client. It shares the machine with
// the server it measures, so every microsecond it spends per check-in is
// taken from the server: each connection is a plain keep-alive TCP (or
// TLS) stream written and read by the goroutine that uses it, one
// request at a time, with the request written in one system call and the
// answer read through one buffer. net/http's client spends about twice
// as much per request: a reader and a writer goroutine per connection,
// and the hand-offs between them. The requests are the same as any
// client's: a POST with Host, Content-Type and Content-Length, answered
// with a status, headers and a body by Content-Length or chunks.

// wireTimeout bounds one request's round trip.
const wireTimeout = 30 * time.Second

// maxAnswer bounds the body of an answer read.
const maxAnswer = 1 << 20

type wireClient struct {
	addr    string // host:port to dial
	host    string // the Host header
	tls     *tls.Config
	mu      sync.Mutex
	idle    []*wireConn
	maxIdle int
}

func newWireClient(base string, maxIdle int) (*wireClient, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	c := &wireClient{host: u.Host, maxIdle: maxIdle}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
		c.tls = &tls.Config{ServerName: u.Hostname()}
	default:
		return nil, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	c.addr = net.JoinHostPort(u.Hostname(), port)
	return c, nil
}

type wireConn struct {
	c   net.Conn
	r   *bufio.Reader
	req []byte
}

func (c *wireClient) get(ctx context.Context) (*wireConn, error) {
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		wc := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return wc, nil
	}
	c.mu.Unlock()
	d := net.Dialer{Timeout: wireTimeout}
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	if c.tls != nil {
		tc := tls.Client(conn, c.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	return &wireConn{c: conn, r: bufio.NewReaderSize(conn, 16<<10)}, nil
}

func (c *wireClient) put(wc *wireConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.idle) < c.maxIdle {
		c.idle = append(c.idle, wc)
		return
	}
	wc.c.Close()
}

func (c *wireClient) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, wc := range c.idle {
		wc.c.Close()
	}
	c.idle = nil
}

// post sends one POST and returns the answer's status and body (valid
// until the next call on the same client's connection). A connection
// that fails, or that the server asks to close, is not reused.
func (c *wireClient) post(ctx context.Context, path, ctype string, body []byte) (int, []byte, error) {
	wc, err := c.get(ctx)
	if err != nil {
		return 0, nil, err
	}
	deadline := time.Now().Add(wireTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	wc.c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { wc.c.SetDeadline(time.Unix(1, 0)) })
	status, answer, keep, err := wc.roundTrip(c.host, path, ctype, body)
	interrupted := !stop()
	if err != nil || !keep || interrupted {
		wc.c.Close()
		if ctx.Err() != nil {
			return 0, nil, ctx.Err() // cut short by the caller, whatever the read said
		}
		if d, ok := ctx.Deadline(); ok && err != nil && !time.Now().Before(d) {
			// The connection's deadline is the context's, which passed
			// before the context's own timer got to fire.
			return 0, nil, context.DeadlineExceeded
		}
		return status, answer, err
	}
	c.put(wc)
	return status, answer, nil
}

func (wc *wireConn) roundTrip(host, path, ctype string, body []byte) (status int, answer []byte, keep bool, err error) {
	b := wc.req[:0]
	b = append(b, "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: herd-loadgen\r\n"...)
	if ctype != "" {
		b = append(b, "Content-Type: "...)
		b = append(b, ctype...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	wc.req = b
	if _, err := wc.c.Write(b); err != nil {
		return 0, nil, false, err
	}
	return readAnswer(wc.r)
}

var errBadAnswer = errors.New("malformed HTTP answer")

// readAnswer reads one HTTP/1.1 answer: its status, whether the
// connection stays open, and its body (by Content-Length or chunked).
func readAnswer(r *bufio.Reader) (status int, body []byte, keep bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, nil, false, fmt.Errorf("%w: status line %q", errBadAnswer, line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, false, fmt.Errorf("%w: status line %q", errBadAnswer, line)
	}
	keep = line[7] == '1'
	length, chunked := -1, false
	for {
		h, err := r.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, nil, false, fmt.Errorf("%w: header %q", errBadAnswer, h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 {
				return 0, nil, false, fmt.Errorf("%w: Content-Length %q", errBadAnswer, value)
			}
			length = n
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "Connection"):
			if asciiEqualFold(value, "close") {
				keep = false
			}
		}
	}
	switch {
	case chunked:
		body, err = readChunked(r)
	case length >= 0:
		if length > maxAnswer {
			return 0, nil, false, fmt.Errorf("%w: a %d-byte body", errBadAnswer, length)
		}
		body = make([]byte, length)
		_, err = io.ReadFull(r, body)
	default:
		// No length: the body runs to the end of the connection.
		body, err = io.ReadAll(io.LimitReader(r, maxAnswer))
		keep = false
	}
	if err != nil {
		return 0, nil, false, err
	}
	return status, body, keep, nil
}

func readChunked(r *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: chunk size %q", errBadAnswer, line)
		}
		if n == 0 {
			// Trailers, up to the blank line.
			for {
				t, err := r.ReadSlice('\n')
				if err != nil {
					return nil, err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return body, nil
				}
			}
		}
		if len(body)+int(n) > maxAnswer {
			return nil, fmt.Errorf("%w: a body over %d bytes", errBadAnswer, maxAnswer)
		}
		start := len(body)
		body = append(body, make([]byte, n)...)
		if _, err := io.ReadFull(r, body[start:]); err != nil {
			return nil, err
		}
		if crlf, err := r.ReadSlice('\n'); err != nil || len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return nil, fmt.Errorf("%w: no line end after a chunk", errBadAnswer)
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
