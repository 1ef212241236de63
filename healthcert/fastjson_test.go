package healthcert

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The fast decoders must agree with encoding/json whenever they accept.

var fastClaimSeeds = []string{
	`{"iss":"https://h.example","aud":"rp","sub":"s","iat":1796400000,"exp":1796414400,"jti":"j","eat_profile":"` + Profile + `","ear.verifier-id":{"build":"b","developer":"d"},"submods":{"device":{"ear.status":"warning","ear.appraisal-policy-id":"p@1","herd.findings":[{"id":"firewall","status":"fail","trust":"os_reported"},{"id":"malware","status":"unknown"}]}}}`,
	` { "iss" : "a" , "iat" : -5 , "submods" : { "device" : { "herd.findings" : [ ] } , "x" : { } } } `,
	`{"iss":"a","iss":"b"}`,
	`{"ISS":"a"}`,
	`{"iat":1.5}`,
	`{"iat":01}`,
	`{"iss":"caf\u00e9"}`,
	`{"iss":null}`,
	`{"aud":["rp"]}`,
	`{"iss":"a"} x`,
	`{"submods":{"device":{},"device":{}}}`,
	`{"iat":123456789012345678901}`,
}

func FuzzFastClaims(f *testing.F) {
	for _, s := range fastClaimSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast Claims
		if !fastClaims(b, &fast) {
			return
		}
		var slow Claims
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json rejects it: %v", b, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\nfast %+v\njson %+v", b, fast, slow)
		}
	})
}

func FuzzFastHeader(f *testing.F) {
	for _, s := range []string{`{"alg":"EdDSA","kid":"k","typ":"JWT"}`, `{"alg":"EdDSA","alg":"none"}`, `{"Alg":"EdDSA"}`, `{"alg":"EdDSA"}{}`, `{"alg":"ES256","crit":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast Header
		if !fastHeader(b, &fast) {
			return
		}
		var slow Header
		if err := strictUnmarshal(b, &slow); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json rejects it: %v", b, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\nfast %+v\njson %+v", b, fast, slow)
		}
	})
}

// The fast path does take the common case: what Sign writes.
func TestFastPathTakesSignedClaims(t *testing.T) {
	b, err := json.Marshal(sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	var c Claims
	if !fastClaims(b, &c) {
		t.Fatalf("fast path refused %s", b)
	}
	if !reflect.DeepEqual(&c, sampleClaims()) {
		t.Fatalf("got %+v", c)
	}
	var h Header
	hb, _ := json.Marshal(Header{Alg: EdDSA, Kid: rfc8037Thumbprint, Typ: TokenType})
	if !fastHeader(hb, &h) || !reflect.DeepEqual(h, Header{Alg: EdDSA, Kid: rfc8037Thumbprint, Typ: TokenType}) {
		t.Fatalf("fast header refused or wrong: %+v", h)
	}
}
