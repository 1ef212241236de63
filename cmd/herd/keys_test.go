package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/protocol"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// startNode runs a node on loopback (TLS when cert and key are given)
// and returns its URL.
func startNode(t *testing.T, dsn, kekFile string, now func() time.Time, cert, key string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if cert != "" {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	n, err := node.Open(context.Background(), node.Config{DSN: dsn, KEKFile: kekFile, Now: now, Authority: authority.Config{Issuer: url}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Serve(ctx, ln, cert, key); close(done) }()
	t.Cleanup(func() { cancel(); <-done; n.Close() })
	return url
}

// simDevice enrolls with a fresh key and checks in, as the agent does.
type simDevice struct {
	id     string
	priv   ed25519.PrivateKey
	base   string
	client *http.Client
	now    func() time.Time
}

func (d *simDevice) post(t *testing.T, path string, body []byte, out any) {
	t.Helper()
	resp, err := d.client.Post(d.base+path, protocol.ContentTypeJOSE, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
}

func (d *simDevice) nonce(t *testing.T) string {
	var c protocol.Challenge
	d.post(t, protocol.PathChallenge, nil, &c)
	return c.Nonce
}

func enrollDevice(t *testing.T, base string, client *http.Client, now func() time.Time) *simDevice {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	d := &simDevice{priv: priv, base: base, client: client, now: now}
	n := d.nonce(t)
	pk := base64.RawURLEncoding.EncodeToString(pub)
	req, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: n,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(n, pk)))})
	var resp protocol.EnrollResponse
	d.post(t, protocol.PathEnroll, req, &resp)
	d.id = resp.DeviceID
	return d
}

func (d *simDevice) checkin(t *testing.T, malware health.Status, auds ...string) protocol.CheckinResponse {
	t.Helper()
	s := health.Statement{Version: 1, DeviceID: d.id, Nonce: d.nonce(t), IssuedAt: d.now(), CollectedAt: d.now(), OS: "linux", Audiences: auds}
	for id, st := range map[health.CheckID]health.Status{health.Firewall: health.Pass, health.AutoUpdate: health.Pass,
		health.PendingUpdates: health.Pass, health.OSSupport: health.Pass, health.Malware: malware} {
		s.Checks = append(s.Checks, health.Result{ID: id, Status: st, Reason: "test", Evidence: health.Evidence{Source: "test", Trust: health.OSReported}})
	}
	b, _ := json.Marshal(s)
	jws, err := healthcert.SignCompact(d.priv, d.id, protocol.StatementType, b)
	if err != nil {
		t.Fatal(err)
	}
	var resp protocol.CheckinResponse
	d.post(t, protocol.PathCheckin, []byte(jws), &resp)
	return resp
}

func runCmd(t *testing.T, f func(context.Context, []string, io.Writer, io.Writer) int, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := f(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// Keys rotate to ES256 with the CLI; certificates then carry ES256
// signatures that herd verify accepts, with --check-status against the
// live status list; herd revoke makes --check-status fail.
func TestKeysRotateES256AndRevoke(t *testing.T) {
	t.Setenv(keyring.KEKEnv, "")
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "herd.db")
	kek := filepath.Join(dir, "kek")
	// The node's clock starts behind, so it can be moved on past reloads
	// and caches without issuing certificates from the future.
	clk := &testClock{t: time.Now().Add(-90 * time.Second).Truncate(time.Second)}
	base := startNode(t, dsn, kek, clk.Now, "", "")
	if fi, err := os.Stat(kek); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("no KEK file made on first start: %v", err)
	}

	code, out, errs := runCmd(t, runKeys, "list", "--db", dsn, "--kek-file", kek, "--json")
	var listed struct {
		Keys []struct {
			KID                           string
			Alg                           string
			Signing, Published, Encrypted bool
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &listed) != nil || len(listed.Keys) != 1 || !listed.Keys[0].Encrypted || !listed.Keys[0].Signing {
		t.Fatalf("keys list = %d %s %s", code, out, errs)
	}
	if code, _, errs := runCmd(t, runKeys, "list", "--db", dsn, "--kek-file", filepath.Join(dir, "none")); code != 1 || !strings.Contains(errs, "encrypted") {
		t.Errorf("keys list without the KEK = %d %q, want a clear error", code, errs)
	}
	if code, _, _ := runCmd(t, runKeys, "rotate", "--db", dsn, "--kek-file", kek, "--alg", "RS256"); code != 1 {
		t.Errorf("rotate to RS256: exit %d, want 1", code)
	}
	code, out, errs = runCmd(t, runKeys, "rotate", "--db", dsn, "--kek-file", kek, "--alg", "ES256")
	if code != 0 || !strings.Contains(out, "ES256") {
		t.Fatalf("keys rotate = %d %s %s", code, out, errs)
	}
	clk.Add(keyring.ReloadInterval + time.Second) // the node picks the new key up

	dev := enrollDevice(t, base, http.DefaultClient, clk.Now)
	// The first check-in past the reload interval makes the node read the
	// keys again in the background; it signs with ES256 soon after.
	var tok string
	var jws *healthcert.Compact
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		tok = dev.checkin(t, health.Pass, "https://bank.example").Certificates[0].Token
		if jws, _ = healthcert.ParseCompact(tok); jws.Header.Alg == healthcert.ES256 {
			break
		}
	}
	if jws.Header.Alg != healthcert.ES256 {
		t.Fatalf("certificate signed with %s after rotating to ES256", jws.Header.Alg)
	}
	args := []string{"--jwks", base + protocol.PathJWKS, "--aud", "https://bank.example", "--iss", base, "--check-status", tok}
	if code, out, errs := runCmd(t, runVerify, args...); code != 0 || !strings.Contains(out, `"status_list"`) {
		t.Fatalf("herd verify ES256 --check-status = %d %s %s", code, out, errs)
	}
	if code, out, errs := runCmd(t, runRevoke, "--db", dsn, "--device", dev.id); code != 0 || !strings.Contains(out, "revoked ") {
		t.Fatalf("herd revoke = %d %s %s", code, out, errs)
	}
	clk.Add(10 * time.Second) // past the node's token cache
	if code, _, errs := runCmd(t, runVerify, args...); code != 1 || !strings.Contains(errs, "revoked") {
		t.Fatalf("herd verify after revoke = %d %q, want exit 1, revoked", code, errs)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "herd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(priv)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

func TestCheckinOverTLS(t *testing.T) {
	t.Setenv(keyring.KEKEnv, "")
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	base := startNode(t, "sqlite:"+filepath.Join(dir, "herd.db"), filepath.Join(dir, "kek"), time.Now, cert, key)
	if !strings.HasPrefix(base, "https://") {
		t.Fatal(base)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	dev := enrollDevice(t, base, client, time.Now)
	resp := dev.checkin(t, health.Pass, "https://bank.example")
	if resp.Verdict != health.Affirming || len(resp.Certificates) != 1 {
		t.Fatalf("check-in over TLS = %+v", resp)
	}
	// Plain HTTP to the TLS port is refused, and an untrusting client
	// does not get through.
	if r, err := http.Get(strings.Replace(base, "https", "http", 1) + protocol.PathDiscovery); err == nil {
		if r.StatusCode == 200 {
			t.Error("plain HTTP answered on the TLS port")
		}
		r.Body.Close()
	}
	if _, err := http.Get(base + protocol.PathDiscovery); err == nil {
		t.Error("a client that does not trust the certificate connected")
	}
}
