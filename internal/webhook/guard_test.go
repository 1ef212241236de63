package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		name, url string
		insecure  bool
		want      string // "" accepted, else part of the error
	}{
		{"https", "https://rp.example/hook", false, ""},
		{"http to 127.0.0.1", "http://127.0.0.1:8081/hook", false, ""},
		{"http to localhost", "http://localhost/hook", false, ""},
		{"http to ::1", "http://[::1]:9/hook", false, ""},
		{"http to a public host", "http://rp.example/hook", false, "must be https"},
		{"http with allow_insecure_webhooks", "http://rp.example/hook", true, ""},
		{"metadata address", "http://169.254.169.254/latest", false, "link-local"},
		{"metadata address even when insecure is allowed", "http://169.254.169.254/latest", true, "link-local"},
		{"metadata address over https", "https://169.254.169.254/latest", false, "link-local"},
		{"IPv6 link-local", "https://[fe80::1]/hook", false, "link-local"},
		{"IPv4-mapped link-local", "https://[::ffff:169.254.1.1]/hook", false, "link-local"},
		{"unspecified", "https://0.0.0.0/hook", false, "unspecified"},
		{"IPv6 unspecified", "https://[::]/hook", false, "unspecified"},
		{"multicast", "https://224.0.0.1/hook", false, "multicast"},
		{"ftp", "ftp://rp.example/hook", false, "https URL"},
		{"no host", "https:///hook", false, "https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckURL(tt.url, tt.insecure)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckURL(%q) = %v, want accepted", tt.url, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckURL(%q) = %v, want an error saying %q", tt.url, err, tt.want)
			}
		})
	}
}

func TestControlDialRefusesForbiddenAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:443", true},
		{"93.184.216.34:443", true},
		{"[2001:db8::1]:443", true},
		{"169.254.169.254:80", false},
		{"[fe80::1%eth0]:80", false},
		{"0.0.0.0:80", false},
		{"[::]:80", false},
		{"239.1.2.3:80", false},
		{"[ff02::1]:80", false},
		{"[::ffff:169.254.169.254]:80", false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			err := controlDial("tcp", tc.addr, nil)
			if tc.ok != (err == nil) {
				t.Fatalf("controlDial(%s) = %v, want allowed %v", tc.addr, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("controlDial(%s) = %v, want ErrForbiddenAddress", tc.addr, err)
			}
		})
	}
}

// The default delivery client dials through the guard: a name that
// resolves to a forbidden address is refused before any connection,
// while loopback (a test relying party) still works.
func TestSafeClientDials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	c := safeClient(5 * time.Second)
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("loopback delivery: %v", err)
	}
	resp.Body.Close()

	// The address is checked after resolution, on what is dialled.
	conn, err := SafeDialer().DialContext(context.Background(), "tcp", "169.254.169.254:80")
	if err == nil {
		conn.Close()
		t.Fatal("the dialer connected to 169.254.169.254")
	}
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("dial 169.254.169.254: %v, want ErrForbiddenAddress", err)
	}
	if _, err := c.Get("http://[::ffff:169.254.169.254]/latest"); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("GET the metadata address: %v, want ErrForbiddenAddress", err)
	}
}
