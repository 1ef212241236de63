package authority_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/protocol"
)

// The challenge lifetime is configurable, and a nonce answers exactly
// one check-in.
func TestNonceLifetimeConfigurableAndSingleUse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		wait     time.Duration
		code     string
	}{
		{"default 2m, answered after 1m59s", 0, 119 * time.Second, ""},
		{"default 2m, answered after 2m01s", 0, 121 * time.Second, "nonce_expired"},
		{"10s, answered after 9s", 10 * time.Second, 9 * time.Second, ""},
		{"10s, answered after 11s", 10 * time.Second, 11 * time.Second, "nonce_expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, authority.Config{NonceLifetime: tc.lifetime})
			d := e.enroll()
			n := e.nonce()
			e.clock.Add(tc.wait)
			body := sign(t, d, e.statement(d, n, healthy))
			code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, body, nil)
			if perr.Code != tc.code {
				t.Fatalf("got %d %q (%s), want %q", code, perr.Code, perr.Error, tc.code)
			}
			if tc.code == "" {
				// The same signed statement again: the nonce is used up.
				if code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, body, nil); perr.Code != "nonce_invalid" {
					t.Fatalf("replay: got %d %q, want nonce_invalid", code, perr.Code)
				}
			}
		})
	}
}

// The device's signature covers the exact bytes sent: the same JSON
// meaning in other bytes (re-indented, keys reordered) under the
// original signature is rejected.
func TestSignatureCoversExactBytes(t *testing.T) {
	e := newEnv(t, authority.Config{})
	d := e.enroll()
	tok := string(sign(t, d, e.statement(d, e.nonce(), healthy, "https://bank.example")))
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var generic map[string]any
	if err := json.Unmarshal(payload, &generic); err != nil {
		t.Fatal(err)
	}
	indented, _ := json.MarshalIndent(generic, "", "  ")
	sorted, _ := json.Marshal(generic) // map keys in sorted order
	spaced := bytes.ReplaceAll(payload, []byte(`":`), []byte(`": `))
	before := e.checkins()
	for name, p := range map[string][]byte{"indented": indented, "keys sorted": sorted, "spaces after colons": spaced} {
		t.Run(name, func(t *testing.T) {
			if bytes.Equal(p, payload) {
				t.Fatalf("the re-serialised payload is byte-identical; the test proves nothing")
			}
			var same map[string]any
			if err := json.Unmarshal(p, &same); err != nil {
				t.Fatal(err)
			}
			forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(p) + "." + parts[2]
			code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, []byte(forged), nil)
			if code != 401 || perr.Code != "bad_signature" {
				t.Fatalf("got %d %q, want 401 bad_signature", code, perr.Code)
			}
		})
	}
	if e.checkins() != before {
		t.Fatal("a re-serialised statement was stored")
	}
	// The original bytes are accepted.
	if code, perr := e.post(protocol.PathCheckin, protocol.ContentTypeJOSE, []byte(tok), nil); code != 200 {
		t.Fatalf("original: %d %v", code, perr)
	}
}
