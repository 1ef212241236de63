package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/keyring"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// A configuration error is reported before herd serve listens or makes
// its database or key-encryption key.
func TestServeChecksConfigBeforeTheStore(t *testing.T) {
	t.Setenv(keyring.KEKEnv, "")
	dir := t.TempDir()
	cert, key, _ := selfSigned(t, dir)
	other, _, _ := selfSigned(t, t.TempDir()) // a certificate for another key
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not PEM"), 0o600)
	badPolicy := filepath.Join(dir, "policy.json")
	os.WriteFile(badPolicy, []byte(`{"id": "p", "version": 1, "rules": "nonsense("}`), 0o600)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"key of another certificate", []string{"--tls-cert", other, "--tls-key", key}, "TLS certificate and key"},
		{"key file not PEM", []string{"--tls-cert", cert, "--tls-key", garbage}, "TLS certificate and key"},
		{"missing certificate", []string{"--tls-cert", filepath.Join(dir, "none.pem"), "--tls-key", key}, "TLS certificate and key"},
		{"log format", []string{"--log-format", "xml"}, `log format "xml" must be text or json`},
		{"log format in the file", []string{"--config", write("logxml.json", `{"log_format": "xml"}`)}, `log format "xml"`},
		{"policy", []string{"--policy", badPolicy}, "policy"},
		{"rate limit burst", []string{"--config", write("burst.json", `{"rate_limits": {"checkin": {"per_second": 50}}}`)}, "rate_limits.checkin: burst"},
		{"rate limit rate", []string{"--config", write("rate.json", `{"rate_limits": {"enroll": {"per_second": 0, "burst": 10}}}`)}, "rate_limits.enroll: per_second is 0"},
		{"trusted proxy", []string{"--config", write("proxy.json", `{"trusted_proxies": ["10.0.0.1"]}`)}, `trusted proxy "10.0.0.1"`},
		{"enrollment mode", []string{"--config", write("mode.json", `{"enrollment_mode": "closed"}`)}, "enrollment mode"},
		{"key-encryption key not base64", []string{"--kek-file", write("kek", "not a key")}, "key-encryption key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", data}, tc.args...)
			code, out, errs := herd(t, args...)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errs, tc.want)
			}
			if strings.Contains(out+errs, "listening") {
				t.Errorf("listening was logged before the error: %s", errs)
			}
			if ents, _ := os.ReadDir(data); len(ents) != 0 {
				t.Errorf("the data directory holds %v after a refused configuration", ents)
			}
		})
	}
}

// Listening off loopback with loopback exempt from the rate limits and no
// trusted proxy, herd serve warns that a local reverse proxy would exempt
// every client.
func TestServeWarnsOfLoopbackTrust(t *testing.T) {
	t.Setenv(keyring.KEKEnv, "")
	for _, tc := range []struct {
		name string
		cfg  string
		warn bool
	}{
		{"defaults", `{}`, true},
		{"proxy listed", `{"trusted_proxies": ["127.0.0.1/32"]}`, false},
		{"loopback not trusted", `{"trusted_networks": ["10.0.0.0/8"]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "herd.json")
			os.WriteFile(cfg, []byte(tc.cfg), 0o600)
			ctx, cancel := context.WithCancel(context.Background())
			var out, errs syncBuffer
			done := make(chan int)
			go func() {
				done <- run(ctx, []string{"serve", "--addr", "0.0.0.0:0", "--insecure-http", "--data-dir", dir, "--public-url", "http://127.0.0.1:1", "--config", cfg}, &out, &errs)
			}()
			for deadline := time.Now().Add(30 * time.Second); !strings.Contains(errs.String(), "listening") && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("serve exit %d: %s", code, errs.String())
			}
			if got := strings.Contains(errs.String(), "a reverse proxy on this host would exempt every client"); got != tc.warn {
				t.Errorf("warned %v, want %v:\n%s", got, tc.warn, errs.String())
			}
		})
	}
}
