package authority_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/policy"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// benchStatement is a realistic statement: ten results, one audience.
func benchStatement(id, nonce string, now time.Time) health.Statement {
	st := health.Statement{Version: 1, DeviceID: id, Nonce: nonce, IssuedAt: now, CollectedAt: now.Add(-2 * time.Second),
		OS: "linux", OSVersion: "debian 12", AgentVersion: "herd-agent bench", Audiences: []string{"https://bank.example"}}
	for _, c := range health.CheckIDs {
		s := health.Pass
		switch c {
		case health.Antivirus, health.AntivirusSignatures, health.ScreenLock:
			s = health.NotApplicable
		case health.SecureBoot:
			s = health.Unknown
		}
		st.Checks = append(st.Checks, health.Result{ID: c, Status: s, Reason: "simulated " + string(s) + " result for " + string(c),
			Evidence: health.Evidence{Source: "bench", Trust: health.OSReported}})
	}
	return st
}

// nullWriter is a ResponseWriter that keeps the status and drops the body.
type nullWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *nullWriter) Header() http.Header { return w.h }
func (w *nullWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	w.n += len(b)
	return len(b), nil
}
func (w *nullWriter) WriteHeader(c int) { w.code = c }

// request is a POST as a server would hand it to the handler, from loopback.
func request(path string, body []byte) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "http://authority.example"+path, bytes.NewReader(body))
	r.RemoteAddr = "127.0.0.1:40000"
	return r
}

// BenchmarkCheckinServerCPU is the server's work for one check-in,
// everything but the network: a challenge (a new nonce stored) and a
// check-in (JWS parse and verify, JSON, policy, nonce checked and used
// up, a certificate signed and indexed in a status list, the check-in,
// its aggregates and the outbox check committed), through the authority's
// ServeHTTP on prepared requests from parallel clients. Statements are
// signed before the timer starts, over nonces the challenge endpoint gave
// beforehand, so no client work is timed; each timed challenge makes a
// nonce just as a real one does. Compare ns/op with BenchmarkEd25519VerifyPlusSign in the same
// run.
func BenchmarkCheckinServerCPU(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "herd.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchCheckins(b, st, st)
}

func benchCheckins(b *testing.B, st store.Store, sl store.StatusLists) {
	ctx := context.Background()
	keys, err := keyring.Open(ctx, st, 4*time.Hour, nil)
	if err != nil {
		b.Fatal(err)
	}
	deps := authority.Deps{Store: st, Keys: keys, Policy: policy.Default(), Status: sl}
	if ops, ok := st.(store.Operations); ok {
		deps.Operations = ops
	}
	a, err := authority.New(ctx, authority.Config{Issuer: "http://authority.example"}, deps)
	if err != nil {
		b.Fatal(err)
	}
	// Devices, enrolled through the API.
	const ndev = 1024 // far apart in the order, a device's later nonce never overtakes its earlier one
	type dev struct {
		id   string
		priv ed25519.PrivateKey
	}
	devs := make([]dev, ndev)
	// challenge asks for a nonce, for deviceID alone when it is set (as
	// an agent asks for its check-ins).
	challenge := func(deviceID string) string {
		w := &nullWriter{h: http.Header{}}
		rec := &captureWriter{nullWriter: w}
		path := protocol.PathChallenge
		if deviceID != "" {
			path += "?device=" + deviceID
		}
		a.ServeHTTP(rec, request(path, nil))
		var c protocol.Challenge
		if err := json.Unmarshal(rec.buf.Bytes(), &c); err != nil || c.Nonce == "" {
			b.Fatalf("challenge: %d %s", w.code, rec.buf.String())
		}
		return c.Nonce
	}
	for i := range devs {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		n := challenge("")
		pk := base64.RawURLEncoding.EncodeToString(pub)
		body, _ := json.Marshal(protocol.EnrollRequest{PublicKey: pk, OS: "linux", Nonce: n,
			Signature: base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, protocol.EnrollProof(n, pk)))})
		w := &nullWriter{h: http.Header{}}
		rec := &captureWriter{nullWriter: w}
		a.ServeHTTP(rec, request(protocol.PathEnroll, body))
		var er protocol.EnrollResponse
		if err := json.Unmarshal(rec.buf.Bytes(), &er); err != nil || er.DeviceID == "" {
			b.Fatalf("enroll: %d %s", w.code, rec.buf.String())
		}
		devs[i] = dev{er.DeviceID, priv}
	}
	// One signed statement per operation, over a nonce from the
	// authority's challenge endpoint.
	now := time.Now().UTC()
	bodies := make([][]byte, b.N)
	paths := make([]string, b.N)
	for i := range bodies {
		d := devs[i%ndev]
		paths[i] = protocol.PathChallenge + "?device=" + d.id
		n := challenge(d.id)
		payload, _ := json.Marshal(benchStatement(d.id, n, now))
		tok, err := healthcert.SignCompact(d.priv, d.id, protocol.StatementType, payload)
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = []byte(tok)
	}
	var next atomic.Int64
	var failed atomic.Value
	b.SetParallelism(16) // many clients in flight, as on a real server
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &nullWriter{h: http.Header{}}
		for pb.Next() {
			i := next.Add(1) - 1
			clear(w.h)
			w.code = 0
			a.ServeHTTP(w, request(paths[i], nil))
			if w.code != 200 {
				failed.CompareAndSwap(nil, "challenge failed")
			}
			clear(w.h)
			w.code = 0
			a.ServeHTTP(w, request(protocol.PathCheckin, bodies[i]))
			if w.code != 200 {
				failed.CompareAndSwap(nil, "check-in failed")
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	if f := failed.Load(); f != nil {
		b.Fatal(f)
	}
	s, err := st.Stats(ctx)
	if err != nil || s.Checkins != int64(b.N) {
		b.Fatalf("stats = %+v, %v; want %d check-ins", s, err, b.N)
	}
}

type captureWriter struct {
	*nullWriter
	buf bytes.Buffer
}

func (w *captureWriter) Write(b []byte) (int, error) {
	w.nullWriter.Write(b)
	return w.buf.Write(b)
}

func randomNonce() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// BenchmarkEd25519VerifyPlusSign is the crypto a check-in needs: one
// Ed25519 verification (the statement) and one signature (the
// certificate), over messages of their real sizes.
func BenchmarkEd25519VerifyPlusSign(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	payload, _ := json.Marshal(benchStatement("device-id-0123456789ab", randomNonce(), time.Now()))
	stmt := []byte(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"x","typ":"herd-soh+jws"}`)) + "." + base64.RawURLEncoding.EncodeToString(payload))
	sig := ed25519.Sign(priv, stmt)
	cert := []byte(strings.Repeat("c", 700))
	b.ReportAllocs()
	// CPU time too, so that on a busy machine the ratio compares CPU
	// with CPU rather than with wall time stretched by other work.
	cpu0 := processCPU()
	for b.Loop() {
		if !ed25519.Verify(pub, stmt, sig) {
			b.Fatal("verify failed")
		}
		_ = ed25519.Sign(priv, cert)
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}
