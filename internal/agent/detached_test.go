package agent

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/protocol"
)

// TestVerifyDetachedBundle: the bundle download's detached signature is
// accepted only when it is by a key the authority publishes, with that
// key's own algorithm, over exactly the bytes received.
func TestVerifyDetachedBundle(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	var set healthcert.JWKS
	for kid, pub := range map[string]crypto.PublicKey{"ed-1": edKey.Public(), "ec-1": &ecKey.PublicKey} {
		k, err := healthcert.NewJWK(pub, kid)
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, k)
	}
	var fetches atomic.Int32
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		json.NewEncoder(w).Encode(set)
	}))
	defer jwks.Close()
	a := &Agent{Store: Store{Dir: t.TempDir()}}
	st := &State{Discovery: protocol.Discovery{JWKSURI: jwks.URL}}
	body := []byte("HERD-INDICATORS bundle bytes")

	sign := func(signer crypto.Signer, kid, typ string) (string, string) {
		jws, err := healthcert.SignCompact(signer, kid, typ, body)
		if err != nil {
			t.Fatal(err)
		}
		p := strings.Split(jws, ".")
		return p[0], p[2]
	}
	header := func(fields string) string { return base64.RawURLEncoding.EncodeToString([]byte(fields)) }
	edH, edSig := sign(edKey, "ed-1", protocol.IndicatorsType)
	ecH, ecSig := sign(ecKey, "ec-1", protocol.IndicatorsType)
	strangerH, strangerSig := sign(stranger, "ed-1", protocol.IndicatorsType)
	unknownH, unknownSig := sign(edKey, "ed-9", protocol.IndicatorsType)
	noticeH, noticeSig := sign(edKey, "ed-1", protocol.NoticeType)
	// An EdDSA signature presented under the P-256 key's kid.
	crossH, crossSig := sign(edKey, "ec-1", protocol.IndicatorsType)
	tampered := append([]byte(nil), body...)
	tampered[0] ^= 1

	tests := []struct {
		name   string
		h, sig string
		body   []byte
		want   error  // errors.Is, when set
		text   string // in the message, when set
	}{
		{"EdDSA", edH, edSig, body, nil, ""},
		{"ES256", ecH, ecSig, body, nil, ""},
		{"signed by another key under a published kid", strangerH, strangerSig, body, healthcert.ErrSignature, ""},
		{"tampered body", edH, edSig, tampered, healthcert.ErrSignature, ""},
		{"tampered body, ES256", ecH, ecSig, tampered, healthcert.ErrSignature, ""},
		{"alg none", header(`{"alg":"none","kid":"ed-1","typ":"` + protocol.IndicatorsType + `"}`), "", body, healthcert.ErrAlgorithm, ""},
		{"alg HS256", header(`{"alg":"HS256","kid":"ed-1","typ":"` + protocol.IndicatorsType + `"}`), edSig, body, healthcert.ErrAlgorithm, ""},
		{"EdDSA under a P-256 key", crossH, crossSig, body, healthcert.ErrAlgorithm, ""},
		{"unknown kid", unknownH, unknownSig, body, nil, `unknown key "ed-9"`},
		{"a notice's signature", noticeH, noticeSig, body, nil, "want \"" + protocol.IndicatorsType + "\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := a.verifyDetached(context.Background(), st, tc.h, tc.sig, tc.body)
			switch {
			case tc.want == nil && tc.text == "":
				if err != nil {
					t.Errorf("genuine signature refused: %v", err)
				}
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("err %v, want %v", err, tc.want)
			case tc.text != "" && (err == nil || !strings.Contains(err.Error(), tc.text)):
				t.Errorf("err %v, want one saying %q", err, tc.text)
			}
		})
	}
	// An unknown kid made the agent fetch the keys again (a rotation it
	// had not seen), and only then give up.
	before := fetches.Load()
	a.verifyDetached(context.Background(), st, unknownH, unknownSig, body)
	if got := fetches.Load() - before; got != 1 {
		t.Errorf("an unknown kid fetched the keys %d times, want once more", got)
	}
}
