package authority_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/herd-health/herd/healthcert"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/verify"
)

// An operator revokes a device's certificates through the admin API
// without deleting it, and rotates the signing key.
func TestAdminRevokeAndRotate(t *testing.T) {
	ctx := context.Background()
	e := newOpsEnv(t, authority.Config{})
	const bank = "https://bank.example"
	d := e.enroll()
	old := e.checkin(d, healthy, bank).Certificates[0]
	opts := verify.Options{Audience: bank, Issuer: e.srv.URL, JWKSURL: e.srv.URL + protocol.PathJWKS, Now: e.clock.Now}
	sc, _ := verify.NewStatusChecker(opts)
	opts.Status = sc
	v, err := verify.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, old.Token); err != nil {
		t.Fatalf("fresh certificate: %v", err)
	}

	code, b, _ := e.admin("POST", "/v1/admin/devices/"+d.id+"/revoke", e.token, map[string]string{"reason": "lost"})
	var rr struct {
		Revoked int `json:"revoked"`
	}
	json.Unmarshal(b, &rr)
	if code != 200 || rr.Revoked != 1 {
		t.Fatalf("revoke: %d %s", code, b)
	}
	e.clock.Add(61 * time.Second) // past the relying party's copy of the list
	if _, err := v.Verify(ctx, old.Token); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("revoked certificate: %v, want ErrRevoked", err)
	}
	// The device stays enrolled and gets fresh certificates.
	if code, _, _ := e.admin("GET", "/v1/admin/devices/"+d.id, e.token, nil); code != 200 {
		t.Errorf("the device is gone after a revocation: %d", code)
	}
	fresh := e.checkin(d, healthy, bank).Certificates[0]
	if _, err := v.Verify(ctx, fresh.Token); err != nil {
		t.Errorf("certificate after the revocation: %v", err)
	}

	// Rotation: the new key is published and signs the next certificate.
	code, b, _ = e.admin("POST", "/v1/admin/keys/rotate", e.token, map[string]string{"alg": "ES256"})
	var rot struct {
		KID string `json:"kid"`
		Alg string `json:"alg"`
	}
	json.Unmarshal(b, &rot)
	if code != 201 || rot.Alg != "ES256" || rot.KID == "" {
		t.Fatalf("rotate: %d %s", code, b)
	}
	next := e.checkin(d, healthy, bank).Certificates[0]
	c, err := healthcert.ParseCompact(next.Token)
	if err != nil {
		t.Fatal(err)
	}
	if c.Header.Kid != rot.KID || c.Header.Alg != "ES256" {
		t.Errorf("next certificate signed by %s (%s), want %s (ES256)", c.Header.Kid, c.Header.Alg, rot.KID)
	}
	if _, err := v.Verify(ctx, next.Token); err != nil {
		t.Errorf("certificate from the new key: %v", err)
	}
	if _, err := v.Verify(ctx, fresh.Token); err != nil {
		t.Errorf("certificate from the old key after rotation: %v", err)
	}
}
