package healthcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
)

// RFC 8037 appendix A: the Ed25519 test key, its thumbprint and a signed
// JWS.
const (
	rfc8037X          = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	rfc8037JWS        = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)

func TestRFC8037Vectors(t *testing.T) {
	k := JWK{Kty: "OKP", Crv: "Ed25519", X: rfc8037X}
	if got := k.Thumbprint(); got != rfc8037Thumbprint {
		t.Errorf("thumbprint %s, want %s", got, rfc8037Thumbprint)
	}
	pub, err := k.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCompact(rfc8037JWS)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Payload) != "Example of Ed25519 signing" || c.Header.Alg != EdDSA {
		t.Errorf("payload %q alg %q", c.Payload, c.Header.Alg)
	}
	if err := c.Verify(pub); err != nil {
		t.Fatalf("RFC 8037 signature: %v", err)
	}
	flipped := strings.Replace(rfc8037JWS, "RXhh", "RXhi", 1)
	c, err = ParseCompact(flipped)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(pub); !errors.Is(err, ErrSignature) {
		t.Fatalf("altered payload: %v", err)
	}
}

func sampleClaims() *Claims {
	now := time.Unix(1_796_400_000, 0)
	return &Claims{
		Issuer: "https://health.example", Audience: "https://bank.example", Subject: "pw-1",
		IssuedAt: now.Unix(), Expiry: now.Add(4 * time.Hour).Unix(), ID: "c-1", Profile: Profile,
		VerifierID: VerifierID{Build: "herd 1.0", Developer: "https://github.com/herd-health/herd"},
		Submods: map[string]Appraisal{SubmodDevice: {Status: health.Warning, PolicyID: "default@3",
			Findings: []health.Finding{{ID: health.Firewall, Status: health.Fail, Trust: health.OSReported}}}},
	}
}

func TestSignParseRoundTrip(t *testing.T) {
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tt := range []struct {
		name   string
		signer crypto.Signer
		alg    string
	}{{"Ed25519", edPriv, EdDSA}, {"P-256", ecPriv, ES256}} {
		t.Run(tt.name, func(t *testing.T) {
			jwk, err := NewJWK(tt.signer.Public(), "")
			if err != nil {
				t.Fatal(err)
			}
			if jwk.Alg != tt.alg || jwk.Kid != jwk.Thumbprint() || jwk.Use != "sig" {
				t.Errorf("jwk %+v", jwk)
			}
			b, _ := json.Marshal(JWKS{Keys: []JWK{jwk}})
			set, err := ParseJWKS(b)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := set.KeySet()
			if err != nil {
				t.Fatal(err)
			}
			tok, err := Sign(tt.signer, jwk.Kid, sampleClaims())
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(tok, keys)
			if err != nil {
				t.Fatal(err)
			}
			want := sampleClaims()
			if c.Tier() != health.Warning || c.Subject != want.Subject || c.Audience != want.Audience ||
				!c.ExpiresAt().Equal(want.ExpiresAt()) || len(c.Device().Findings) != 1 || c.Device().Findings[0].ID != health.Firewall {
				t.Errorf("claims %+v", c)
			}
			cc, _ := ParseCompact(tok)
			if cc.Header.Alg != tt.alg || cc.Header.Kid != jwk.Kid || cc.Header.Typ != TokenType {
				t.Errorf("header %+v", cc.Header)
			}
			if _, err := Parse(tok, KeySet{"other": tt.signer.Public()}); !errors.Is(err, ErrUnknownKey) {
				t.Errorf("unknown kid: %v", err)
			}
		})
	}
}

func TestVerifyKeyTypeMustMatchAlgorithm(t *testing.T) {
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edTok, _ := Sign(edPriv, "k", sampleClaims())
	ecTok, _ := Sign(ecPriv, "k", sampleClaims())
	if _, err := Parse(edTok, KeySet{"k": &ecPriv.PublicKey}); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("EdDSA token, P-256 key: %v", err)
	}
	if _, err := Parse(ecTok, KeySet{"k": edPriv.Public()}); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("ES256 token, Ed25519 key: %v", err)
	}
	if _, err := Parse(edTok, KeySet{"k": []byte("hmac secret")}); !errors.Is(err, ErrUnsupportedK) {
		t.Errorf("EdDSA token, byte-slice key: %v", err)
	}
}

func TestClaimsValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Claims)
		want string
	}{
		{"no iss", func(c *Claims) { c.Issuer = "" }, "iss"},
		{"no aud", func(c *Claims) { c.Audience = "" }, "aud"},
		{"no sub", func(c *Claims) { c.Subject = "" }, "sub"},
		{"no exp", func(c *Claims) { c.Expiry = 0 }, "exp"},
		{"exp before iat", func(c *Claims) { c.Expiry = c.IssuedAt - 1 }, "exp is not after iat"},
		{"no jti", func(c *Claims) { c.ID = "" }, "jti"},
		{"foreign profile", func(c *Claims) { c.Profile = "x" }, "eat_profile"},
		{"no device", func(c *Claims) { c.Submods = nil }, "submods.device"},
		{"bad tier", func(c *Claims) { c.Submods[SubmodDevice] = Appraisal{Status: "ok"} }, "not a tier"},
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sampleClaims()
			tt.edit(c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate: %v, want mention of %q", err, tt.want)
			}
			if _, err := Sign(priv, "k", c); err == nil {
				t.Fatal("Sign accepted invalid claims")
			}
		})
	}
	if err := sampleClaims().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestAudience(t *testing.T) {
	tests := []struct {
		in   string
		want Audience
		ok   bool
	}{
		{`"rp"`, "rp", true},
		{`["rp"]`, "rp", true},
		{`["rp","other"]`, "", false},
		{`[]`, "", false},
		{`42`, "", false},
		{`{"rp":1}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var a Audience
			err := json.Unmarshal([]byte(tt.in), &a)
			if (err == nil) != tt.ok || a != tt.want {
				t.Fatalf("got %q, %v; want %q ok=%v", a, err, tt.want, tt.ok)
			}
		})
	}
}

func TestJWKRejects(t *testing.T) {
	tests := []struct {
		name string
		k    JWK
		want error
	}{
		{"ES256 alg on Ed25519", JWK{Kty: "OKP", Crv: "Ed25519", X: rfc8037X, Alg: ES256}, ErrAlgorithm},
		{"HS256 alg on Ed25519", JWK{Kty: "OKP", Crv: "Ed25519", X: rfc8037X, Alg: "HS256"}, ErrAlgorithm},
		{"short x", JWK{Kty: "OKP", Crv: "Ed25519", X: "AAAA"}, ErrUnsupportedK},
		{"X25519", JWK{Kty: "OKP", Crv: "X25519", X: rfc8037X}, ErrUnsupportedK},
		{"oct", JWK{Kty: "oct", X: "c2VjcmV0"}, ErrUnsupportedK},
		{"P-256 off the curve", JWK{Kty: "EC", Crv: "P-256", X: strings.Repeat("A", 43), Y: strings.Repeat("A", 43)}, ErrUnsupportedK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.k.PublicKey(); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
	set := JWKS{Keys: []JWK{tests[2].k, {Kty: "OKP", Crv: "Ed25519", X: rfc8037X, Kid: "good"}, {Kty: "OKP", Crv: "Ed25519", X: rfc8037X, Kid: "enc", Use: "enc"}}}
	set.Keys[0].Kid = "bad"
	ks, err := set.KeySet()
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 1 || ks["good"] == nil {
		t.Errorf("key set %v, want only the good key", ks)
	}
	if _, err := (JWKS{Keys: set.Keys[:1]}).KeySet(); err == nil {
		t.Error("a key set with no usable key was accepted")
	}
}

func TestParseCompactRejects(t *testing.T) {
	hdr := func(s string) string { return b64.EncodeToString([]byte(s)) }
	tests := []struct {
		name, token string
		want        error
	}{
		{"alg none without signature", hdr(`{"alg":"none"}`) + ".e30", ErrAlgorithm},
		{"alg none with empty signature", hdr(`{"alg":"none"}`) + ".e30.", ErrAlgorithm},
		{"HS256", hdr(`{"alg":"HS256"}`) + ".e30.AAAA", ErrAlgorithm},
		{"no alg", hdr(`{"kid":"k"}`) + ".e30.AAAA", ErrAlgorithm},
		{"crit", hdr(`{"alg":"EdDSA","crit":["b64"],"b64":false}`) + ".e30.AAAA", ErrMalformed},
		{"trailing header data", hdr(`{"alg":"EdDSA"} x`) + ".e30.AAAA", ErrMalformed},
		{"too long", hdr(`{"alg":"EdDSA"}`) + "." + strings.Repeat("A", MaxTokenSize) + ".AAAA", ErrMalformed},
		{"two parts", hdr(`{"alg":"EdDSA"}`) + ".e30", ErrMalformed},
		{"four parts", hdr(`{"alg":"EdDSA"}`) + ".e30.AA.AA", ErrMalformed},
		{"padding", hdr(`{"alg":"EdDSA"}`) + ".e30=.AAAA", ErrMalformed},
		{"empty", "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseCompact(tt.token); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzParseCompact(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	tok, _ := Sign(priv, "k", sampleClaims())
	f.Add(tok)
	f.Add(rfc8037JWS)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("...")
	keys := KeySet{"k": priv.Public()}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCompact(s)
		if err != nil {
			return
		}
		if c.Header.Alg != EdDSA && c.Header.Alg != ES256 {
			t.Fatalf("accepted alg %q", c.Header.Alg)
		}
		claims, err := Parse(s, keys)
		if err == nil && s != tok {
			// Only the signed token (or an equivalent encoding of it)
			// can verify.
			if claims.Subject != "pw-1" {
				t.Fatalf("forged token verified: %q", s)
			}
		}
	})
}

// A base64url part whose last character carries non-zero padding bits
// decodes to the same bytes as the canonical one; such a token must be
// refused, or one certificate would have many spellings.
func TestParseCompactRejectsNonCanonicalBase64(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	// bump sets the lowest padding bit of the last character of a part
	// whose length leaves padding bits (length mod 4 of 2 or 3).
	bump := func(part string) string {
		last := strings.IndexByte(alphabet, part[len(part)-1])
		return part[:len(part)-1] + string(alphabet[last|1])
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	keys := KeySet{"k": priv.Public()}
	tok, err := Sign(priv, "k", sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(tok, keys); err != nil {
		t.Fatalf("the canonical token does not verify: %v", err)
	}
	parts := strings.Split(tok, ".")
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"k"}`))
	tests := []struct{ name, token string }{
		// An Ed25519 signature is 64 bytes: 86 characters, 4 padding bits.
		{"signature", parts[0] + "." + parts[1] + "." + bump(parts[2])},
		// This header is 25 bytes: 34 characters, 4 padding bits. The
		// RFC 8037 example's payload is 26 bytes: 35 characters, 2 bits.
		{"header", bump(hdr) + ".e30.AAAA"},
		{"payload", "eyJhbGciOiJFZERTQSJ9." + bump("RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc") + ".AAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := base64.RawURLEncoding.DecodeString(strings.Split(tt.token, ".")[0]); err != nil {
				t.Fatalf("the lax decoder refuses the header too: %v", err)
			}
			if _, err := ParseCompact(tt.token); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseCompact: err %v, want ErrMalformed", err)
			}
		})
	}
	if len(parts[2])%4 == 0 || bump(parts[2]) == parts[2] {
		t.Fatalf("the signature %q has no padding bits to change", parts[2])
	}
	if _, err := Parse(parts[0]+"."+parts[1]+"."+bump(parts[2]), keys); err == nil {
		t.Error("Parse accepted a signature spelled in non-canonical base64url")
	}
}
