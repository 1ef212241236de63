package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/verify"
)

// exampleAuthority stands in for a health authority: it publishes a key
// set and signs one certificate for the bank. (In a test, use package
// verifytest instead.)
func exampleAuthority(tier health.Tier, findings ...health.Finding) (jwksURL, token string, stop func()) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	jwk, _ := healthcert.NewJWK(priv.Public(), "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(healthcert.JWKS{Keys: []healthcert.JWK{jwk}})
	}))
	now := time.Now()
	token, err := healthcert.Sign(priv, jwk.Kid, &healthcert.Claims{
		Issuer: "https://health.example", Audience: "https://bank.example",
		Subject: "pairwise-7f3a", IssuedAt: now.Unix(), Expiry: now.Add(2 * time.Hour).Unix(),
		ID: "c-1", Profile: healthcert.Profile,
		Submods: map[string]healthcert.Appraisal{healthcert.SubmodDevice: {Status: tier, Findings: findings}},
	})
	if err != nil {
		log.Fatal(err)
	}
	return srv.URL + "/jwks.json", token, srv.Close
}

func ExampleVerifier_Verify() {
	jwksURL, token, stop := exampleAuthority(health.Warning,
		health.Finding{ID: health.DiskEncryption, Status: health.Fail, Trust: health.OSReported})
	defer stop()

	v, err := verify.New(verify.Options{
		Issuer:   "https://health.example",
		Audience: "https://bank.example",
		JWKSURL:  jwksURL,
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := v.Verify(context.Background(), token)
	switch {
	case errors.Is(err, verify.ErrExpired):
		fmt.Println("ask the device for a fresh certificate")
	case err != nil:
		fmt.Println("no valid certificate:", err)
	default:
		fmt.Println("tier:", res.Tier)
		for _, f := range res.Findings {
			fmt.Println("finding:", f.ID, f.Status)
		}
		fmt.Println("decision:", verify.Rules{}.Decide(res.Tier))
	}

	_, err = v.Verify(context.Background(), token[:len(token)-6])
	fmt.Println("tampered:", errors.Is(err, verify.ErrSignature))
	// Output:
	// tier: warning
	// finding: disk_encryption fail
	// decision: warn
	// tampered: true
}

func ExampleMiddleware() {
	jwksURL, token, stop := exampleAuthority(health.Contraindicated,
		health.Finding{ID: health.Malware, Status: health.Fail})
	defer stop()
	v, err := verify.New(verify.Options{Audience: "https://bank.example", JWKSURL: jwksURL})
	if err != nil {
		log.Fatal(err)
	}

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _ := verify.FromContext(r.Context())
		if a.Decision == verify.Warn {
			fmt.Fprintln(w, "warning page: your device needs attention")
			return
		}
		fmt.Fprintln(w, "page for a", a.Tier, "device at", r.URL.Path)
	})
	rules := verify.Rules{
		Contraindicated: verify.Restrict,
		SafePaths:       []string{"/help/", "/account/password"},
		Enforce:         true,
	}
	h := verify.Middleware(v, rules, app)

	for _, path := range []string{"/help/malware", "/transfer"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set(healthcert.HTTPHeader, token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Print(rec.Code, " ", rec.Body)
	}
	// Without a certificate: tier none, default decision warn.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/transfer", nil))
	fmt.Print(rec.Code, " ", rec.Body)
	// Output:
	// 200 page for a contraindicated device at /help/malware
	// 403 This device is restricted: only help and account basics are available until its security problems are fixed.
	// 200 warning page: your device needs attention
}
