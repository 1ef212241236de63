package verifytest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/verify"
	"github.com/herd-health/herd/verify/verifytest"
)

func TestIssueOptions(t *testing.T) {
	a := verifytest.NewAuthority(t)
	exp := time.Now().Add(20 * time.Minute).Truncate(time.Second)
	f := health.Finding{ID: health.ScreenLock, Status: health.Fail, Trust: health.OSReported}
	tok := a.Issue("rp", health.Warning, verifytest.ExpiresAt(exp), verifytest.Findings(f), verifytest.Subject("pw-9"))
	c, err := healthcert.Parse(tok, a.Keys())
	if err != nil {
		t.Fatal(err)
	}
	if c.Tier() != health.Warning || !c.ExpiresAt().Equal(exp) || c.Subject != "pw-9" ||
		len(c.Device().Findings) != 1 || c.Device().Findings[0] != f || c.Issuer != a.Issuer() || c.Audience != "rp" {
		t.Errorf("claims %+v", c)
	}
	if cc, _ := healthcert.ParseCompact(tok); cc.Header.Kid != a.KeyID() || cc.Header.Alg != healthcert.EdDSA {
		t.Errorf("header %+v", cc.Header)
	}
	other := a.Issue("rp", health.Affirming, verifytest.Issuer("https://elsewhere.example"), verifytest.Lifetime(5*time.Minute))
	c2, err := healthcert.Parse(other, a.Keys())
	if err != nil {
		t.Fatal(err)
	}
	if c2.Issuer != "https://elsewhere.example" || c2.Expiry-c2.IssuedAt != 300 || c2.ID == c.ID || c2.Subject == "" {
		t.Errorf("claims %+v", c2)
	}
}

func TestRotate(t *testing.T) {
	a := verifytest.NewAuthority(t)
	old := a.KeyID()
	a.Rotate(true)
	if a.KeyID() == old || len(a.Keys()) != 2 {
		t.Fatalf("after Rotate(true): kid %s, %d keys", a.KeyID(), len(a.Keys()))
	}
	a.Rotate(false)
	if ks := a.Keys(); len(ks) != 1 || ks[a.KeyID()] == nil {
		t.Fatalf("after Rotate(false): %v", ks)
	}
}

// How a relying party tests its own code against a fake authority.
func TestRelyingPartyUsage(t *testing.T) {
	a := verifytest.NewAuthority(t)
	v, err := verify.New(verify.Options{Issuer: a.Issuer(), Audience: "https://bank.example", JWKSURL: a.JWKSURL()})
	if err != nil {
		t.Fatal(err)
	}
	infected := a.Issue("https://bank.example", health.Contraindicated,
		verifytest.Findings(health.Finding{ID: health.Malware, Status: health.Fail}))
	res, err := v.Verify(context.Background(), infected)
	if err != nil || res.Tier != health.Contraindicated || (verify.Rules{}).Decide(res.Tier) != verify.Block {
		t.Fatalf("infected device: %v, %v", res, err)
	}
	expired := a.Issue("https://bank.example", health.Affirming,
		verifytest.IssuedAt(time.Now().Add(-3*time.Hour)), verifytest.Lifetime(time.Hour))
	if _, err = v.Verify(context.Background(), expired); !errors.Is(err, verify.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if n := a.Fetches(); n != 1 {
		t.Errorf("key set fetched %d times", n)
	}
}
