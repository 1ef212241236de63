package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/protocol"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/sqlite"
)

// herd devices delete revokes the device's live certificates: herd verify
// --check-status refuses them afterwards; herd revoke then explains.
func TestDevicesDeleteRevokesCertificates(t *testing.T) {
	t.Setenv(keyring.KEKEnv, "")
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "herd.db")
	clk := &testClock{t: time.Now().Add(-90 * time.Second).Truncate(time.Second)}
	base := startNode(t, dsn, filepath.Join(dir, "kek"), clk.Now, "", "")
	dev := enrollDevice(t, base, http.DefaultClient, clk.Now)
	other := enrollDevice(t, base, http.DefaultClient, clk.Now)
	tok := dev.checkin(t, health.Pass, "https://bank.example").Certificates[0].Token
	otherTok := other.checkin(t, health.Pass, "https://bank.example").Certificates[0].Token
	verifyArgs := func(tok string) []string {
		return []string{"--jwks", base + protocol.PathJWKS, "--aud", "https://bank.example", "--iss", base, "--check-status", tok}
	}
	if code, out, errs := runCmd(t, runVerify, verifyArgs(tok)...); code != 0 {
		t.Fatalf("verify before delete = %d %s %s", code, out, errs)
	}
	if code, out, errs := runCmd(t, runDevices, "delete", "--db", dsn, "--id", dev.id); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("devices delete = %d %s %s", code, out, errs)
	}
	clk.Add(10 * time.Second) // past the node's token cache
	if code, _, errs := runCmd(t, runVerify, verifyArgs(tok)...); code != 1 || !strings.Contains(errs, "revoked") {
		t.Errorf("verify after devices delete = %d %q, want exit 1, revoked", code, errs)
	}
	if code, out, errs := runCmd(t, runVerify, verifyArgs(otherTok)...); code != 0 {
		t.Errorf("other device after delete = %d %s %s, want valid", code, out, errs)
	}
	if code, _, errs := runCmd(t, runRevoke, "--db", dsn, "--device", dev.id); code != 1 || !strings.Contains(errs, "revoked when it was deleted") {
		t.Errorf("revoke after delete = %d %q", code, errs)
	}
}

// CLI audit records carry the outcome; a failed delete is an error.
func TestCLIAuditOutcome(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "herd.db")
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if code, _, _ := runCmd(t, runDevices, "delete", "--db", "sqlite:"+db, "--id", "no-such-device"); code != 1 {
		t.Fatalf("delete unknown device: exit %d, want 1", code)
	}
	st, err = sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	es, err := st.AuditLog(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Action != "device.delete" || es[0].Outcome != "error" || !strings.HasPrefix(es[0].Actor, "cli") {
		t.Fatalf("audit = %+v, want one device.delete by cli:… with outcome error", es)
	}
	if !auditAfter(ctx, st, "herd export", "population.export", "json", true, &strings.Builder{}) {
		t.Fatal("auditAfter failed")
	}
	if es, _ = st.AuditLog(ctx, 1); len(es) != 1 || es[0].Action != "population.export" || es[0].Outcome != "ok" {
		t.Errorf("auditAfter wrote %+v", es)
	}
}

func TestSmallOperatorFixes(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "herd.db")
	dsn := "sqlite:" + db
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		if err := st.CreateDevice(ctx, store.Device{ID: id, PublicKey: make([]byte, 32), OS: "linux", EnrolledAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	t.Run("admin user -h", func(t *testing.T) {
		code, out, errs := runCmd(t, runAdmin, "user", "-h")
		if code != 0 || !strings.Contains(out, "herd admin user create") || strings.Contains(errs, "database") {
			t.Errorf("admin user -h = %d %q %q", code, out, errs)
		}
	})
	t.Run("rp add names the flag", func(t *testing.T) {
		code, _, errs := runCmd(t, runRP, "add", "--db", dsn, "--audience", "https://shop.example", "--webhook", "http://example.com/hook")
		if code != 1 || !strings.Contains(errs, "--allow-insecure-webhook") || strings.Contains(errs, "serve config") {
			t.Errorf("rp add http webhook = %d %q", code, errs)
		}
	})
	t.Run("devices list last page", func(t *testing.T) {
		code, out, errs := runCmd(t, runDevices, "list", "--db", dsn, "--limit", "2", "--after", "b")
		if code != 0 || !strings.Contains(out, "\nc ") || !strings.Contains(out, "\nd ") || strings.Contains(errs, "more") {
			t.Errorf("last page = %d %q %q, want c and d and no more", code, out, errs)
		}
		if _, _, errs := runCmd(t, runDevices, "list", "--db", dsn, "--limit", "2"); !strings.Contains(errs, "more: --after b") {
			t.Errorf("first page stderr %q, want more: --after b", errs)
		}
	})
	t.Run("admin token name reused", func(t *testing.T) {
		for i, args := range [][]string{{"token", "create", "--name", "t1"}, {"token", "revoke", "--name", "t1"}, {"token", "create", "--name", "t1"}} {
			if code, out, errs := runCmd(t, runAdmin, append(args, "--db", dsn)...); code != 0 {
				t.Fatalf("step %d %v = %d %s %s", i, args, code, out, errs)
			}
		}
	})
}
