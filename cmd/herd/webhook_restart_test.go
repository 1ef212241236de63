package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/webhook"
	"github.com/herd-health/herd/verify"
)

func freeLoopbackAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServeChild runs `herd serve` as a child process and waits until it answers.
func startServeChild(t *testing.T, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("herd serve logs:\n%s", logs.String())
		}
	})
	return cmd
}

func waitServeHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(base + protocol.PathHealth); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("herd serve did not come up")
}

type testDevice struct {
	id   string
	priv ed25519.PrivateKey
	base string
}

func postForJSON(t *testing.T, url, ctype string, body []byte, out any) {
	t.Helper()
	r, err := http.Post(url, ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %d %s", url, r.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
}

func (d *testDevice) nonce(t *testing.T) string {
	var c protocol.Challenge
	postForJSON(t, d.base+protocol.PathChallenge, "", nil, &c)
	return c.Nonce
}

func enrollTestDevice(t *testing.T, base string) *testDevice {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	d := &testDevice{priv: priv, base: base}
	n := d.nonce(t)
	pk := base64.RawURLEncoding.EncodeToString(pub)
	req, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: n,
		Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(n, pk)))})
	var resp protocol.EnrollResponse
	postForJSON(t, base+protocol.PathEnroll, "application/json", req, &resp)
	d.id = resp.DeviceID
	return d
}

func (d *testDevice) checkin(t *testing.T, malware health.Status, auds ...string) protocol.CheckinResponse {
	now := time.Now()
	st := health.Statement{Version: 1, DeviceID: d.id, Nonce: d.nonce(t), IssuedAt: now, CollectedAt: now, OS: "linux", Audiences: auds}
	for id, s := range map[health.CheckID]health.Status{health.Firewall: health.Pass, health.Malware: malware} {
		st.Checks = append(st.Checks, health.Result{ID: id, Status: s, Reason: "test", Evidence: health.Evidence{Source: "test", Trust: health.OSReported}})
	}
	b, _ := json.Marshal(st)
	jws, err := healthcert.SignCompact(d.priv, d.id, protocol.StatementType, b)
	if err != nil {
		t.Fatal(err)
	}
	var resp protocol.CheckinResponse
	postForJSON(t, d.base+protocol.PathCheckin, protocol.ContentTypeJOSE, []byte(jws), &resp)
	return resp
}

// TestWebhookSurvivesKill queues a webhook event while the receiver is
// down, kills the server with SIGKILL, starts it again, brings the
// receiver up, and expects the event, correctly signed.
func TestWebhookSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the herd binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "herd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dbPath := filepath.Join(dir, "herd.db")
	dsn := newDB(t, dbPath)
	rcvAddr := freeLoopbackAddr(t) // nobody listens there yet
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"rp", "add", "--db", dsn, "--audience", "https://bank.example", "--webhook", "http://" + rcvAddr + "/hook"}, &out, &errb); code != 0 {
		t.Fatalf("rp add: %d %s", code, errb.String())
	}
	secret := strings.TrimSpace(out.String())
	if !strings.HasPrefix(secret, "herd_whsec_") {
		t.Fatalf("rp add printed %q, want a secret", secret)
	}
	cfg := filepath.Join(dir, "herd.json")
	os.WriteFile(cfg, []byte(`{"db": "`+dsn+`", "data_dir": "`+dir+`", "log_format": "json",
		"webhooks": {"initial_backoff": "100ms", "max_backoff": "500ms", "poll_interval": "50ms", "timeout": "1s", "max_attempts": 1000}}`), 0o600)
	addr := freeLoopbackAddr(t)
	base := "http://" + addr
	srv := startServeChild(t, bin, "--config", cfg, "--addr", addr)
	waitServeHealthy(t, base)

	d := enrollTestDevice(t, base)
	first := d.checkin(t, health.Pass, "https://bank.example")
	if first.Verdict == health.Contraindicated || len(first.Certificates) != 1 {
		t.Fatalf("first check-in %+v", first)
	}
	// The pairwise subject the bank knows the device by.
	cert, err := healthcert.ParseCompact(first.Certificates[0].Token)
	if err != nil {
		t.Fatal(err)
	}
	var claims healthcert.Claims
	if err := json.Unmarshal(cert.Payload, &claims); err != nil || claims.Subject == "" {
		t.Fatalf("certificate claims: %s %v", cert.Payload, err)
	}
	if r := d.checkin(t, health.Fail, "https://bank.example"); r.Verdict != health.Contraindicated {
		t.Fatalf("second verdict %s", r.Verdict)
	}
	// Wait until the dispatcher has tried and failed at least once, so
	// the event is queued, attempted and not delivered; then kill.
	db, err := sql.Open("sqlite", dbPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var attempts int
		err := db.QueryRow(`SELECT attempts FROM webhook_outbox`).Scan(&attempts)
		if err == nil && attempts >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the event was never attempted (last error %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()

	got := make(chan []byte, 10)
	ln, err := net.Listen("tcp", rcvAddr)
	if err != nil {
		t.Fatal(err)
	}
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verify.WebhookSignature([]byte(secret), r.Header.Get(webhook.SignatureHeader), body, time.Now(), time.Minute); err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(400)
			return
		}
		got <- body
		w.WriteHeader(204)
	})}
	go rcv.Serve(ln)
	defer rcv.Close()

	startServeChild(t, bin, "--config", cfg, "--addr", addr)
	select {
	case body := <-got:
		var ev webhook.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != "device.contraindicated" || ev.Audience != "https://bank.example" || ev.Subject == "" || ev.Subject == d.id || len(ev.Findings) == 0 {
			t.Errorf("event = %s", body)
		}
		if ev.Subject != claims.Subject {
			t.Errorf("event sub %q is not the sub %q of the device's certificate for the bank", ev.Subject, claims.Subject)
		}
		if strings.Contains(string(body), d.id) || strings.Contains(string(body), "127.0.0.1") {
			t.Errorf("event leaks the device id or address: %s", body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the event never arrived after the restart")
	}
	// Delivered: the outbox is empty.
	deadline = time.Now().Add(5 * time.Second)
	for {
		var n int
		db.QueryRow(`SELECT count(*) FROM webhook_outbox`).Scan(&n)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still in the outbox after delivery", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
