package verify_test

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/golang-jwt/jwt/v5"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/verify"
	"github.com/herd-health/herd/verify/verifytest"
)

// The benchmarks verify the same kind of certificate: an EdDSA token
// with two findings, as an authority issues it. See BENCHMARKS.md.

var benchFindings = []health.Finding{
	{ID: health.Firewall, Status: health.Fail, Trust: health.OSReported},
	{ID: health.SecureBoot, Status: health.Unknown, Trust: health.HardwareBacked},
}

func benchSetup(b *testing.B) (*verifytest.Authority, *verify.Verifier, string) {
	b.Helper()
	a := verifytest.NewAuthority(b)
	v, err := verify.New(verify.Options{Issuer: a.Issuer(), Audience: aud, JWKSURL: a.JWKSURL()})
	if err != nil {
		b.Fatal(err)
	}
	tok := a.Issue(aud, health.Warning, verifytest.Findings(benchFindings...))
	if _, err := v.Verify(context.Background(), tok); err != nil { // fetch the key set
		b.Fatal(err)
	}
	return a, v, tok
}

func BenchmarkEd25519VerifyBare(b *testing.B) {
	a, _, tok := benchSetup(b)
	pub := a.Signer().Public().(ed25519.PublicKey)
	dot := strings.LastIndexByte(tok, '.')
	msg := []byte(tok[:dot])
	sig, err := b64.DecodeString(tok[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(tok)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("bad signature")
		}
	}
}

func BenchmarkVerifyFirst(b *testing.B) {
	a, v, _ := benchSetup(b)
	toks := make([]string, b.N)
	for i := range toks {
		toks[i] = a.Issue(aud, health.Warning, verifytest.Findings(benchFindings...))
	}
	ctx := context.Background()
	b.SetBytes(int64(len(toks[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(ctx, toks[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	_, v, tok := benchSetup(b)
	ctx := context.Background()
	b.SetBytes(int64(len(tok)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// jwtClaims is the certificate as golang-jwt would read it.
type jwtClaims struct {
	jwt.RegisteredClaims
	Profile string `json:"eat_profile"`
	Submods map[string]struct {
		Status   string           `json:"ear.status"`
		PolicyID string           `json:"ear.appraisal-policy-id"`
		Findings []health.Finding `json:"herd.findings"`
	} `json:"submods"`
}

func BenchmarkGolangJWTv5(b *testing.B) {
	a, _, tok := benchSetup(b)
	pub := a.Signer().Public()
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithAudience(aud),
		jwt.WithIssuer(a.Issuer()), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(30*time.Second))
	keyFunc := func(t *jwt.Token) (any, error) { return pub, nil }
	b.SetBytes(int64(len(tok)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var c jwtClaims
		if _, err := parser.ParseWithClaims(tok, &c, keyFunc); err != nil {
			b.Fatal(err)
		}
		if c.Submods["device"].Status != "warning" {
			b.Fatal("wrong claims")
		}
	}
}

func BenchmarkGoJOSEv4(b *testing.B) {
	a, _, tok := benchSetup(b)
	pub := a.Signer().Public()
	want := josejwt.Expected{Issuer: a.Issuer(), AnyAudience: josejwt.Audience{aud}}
	b.SetBytes(int64(len(tok)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		parsed, err := josejwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.EdDSA})
		if err != nil {
			b.Fatal(err)
		}
		var std josejwt.Claims
		var c jwtClaims
		if err := parsed.Claims(pub, &std, &c); err != nil {
			b.Fatal(err)
		}
		want.Time = time.Now()
		if err := std.ValidateWithLeeway(want, 30*time.Second); err != nil {
			b.Fatal(err)
		}
		if c.Submods["device"].Status != "warning" {
			b.Fatal("wrong claims")
		}
	}
}

// BenchmarkVerifyFirstPaired alternates a bare ed25519.Verify and a first
// verification of the same token, timing each, and reports their ratio
// (first_vs_bare). Interleaving makes the figure hold on a busy machine,
// where separate benchmarks drift by more than the difference measured.
func BenchmarkVerifyFirstPaired(b *testing.B) {
	a, v, _ := benchSetup(b)
	pub := a.Signer().Public().(ed25519.PublicKey)
	type item struct {
		tok      string
		msg, sig []byte
	}
	items := make([]item, b.N)
	for i := range items {
		tok := a.Issue(aud, health.Warning, verifytest.Findings(benchFindings...))
		dot := strings.LastIndexByte(tok, '.')
		sig, err := b64.DecodeString(tok[dot+1:])
		if err != nil {
			b.Fatal(err)
		}
		items[i] = item{tok, []byte(tok[:dot]), sig}
	}
	ctx := context.Background()
	var bare, first time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		it := items[i]
		verifyBare := func() {
			t0 := time.Now()
			if !ed25519.Verify(pub, it.msg, it.sig) {
				b.Fatal("bad signature")
			}
			bare += time.Since(t0)
		}
		verifyFirst := func() {
			t0 := time.Now()
			if _, err := v.Verify(ctx, it.tok); err != nil {
				b.Fatal(err)
			}
			first += time.Since(t0)
		}
		if i%2 == 0 {
			verifyBare()
			verifyFirst()
		} else {
			verifyFirst()
			verifyBare()
		}
	}
	b.ReportMetric(float64(first)/float64(bare), "first_vs_bare")
	b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "bare_ns/op")
	b.ReportMetric(float64(first.Nanoseconds())/float64(b.N), "first_ns/op")
}
