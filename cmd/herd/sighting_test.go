package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/agent"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/malware"
	"github.com/herd-health/herd/internal/keyring"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/source"
	"github.com/herd-health/herd/internal/store"
)

// A device whose own history confirmed an outside sighting stays
// contraindicated after the connection closed; herd devices
// clear-sighting, audited as the operator, ends the hold, and the next
// check-in is judged on the device's own (passing) evidence.
func TestDevicesClearSighting(t *testing.T) {
	t.Setenv(keyring.KEKEnv, "")
	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "herd.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	n, err := node.Open(ctx, node.Config{DSN: dsn, Authority: authority.Config{Issuer: url, IntelCacheTTL: -1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: n.Authority}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); n.Close() })
	ss, ok := n.Store.(store.Sightings)
	in, ok2 := n.Store.(store.Intel)
	if !ok || !ok2 {
		t.Fatal("the node's store keeps no sightings")
	}
	if _, err := in.ImportIndicators(ctx, time.Now(), func(add func(store.Indicator) error) error {
		return add(store.Indicator{Type: "ipv4", Value: "203.0.113.99", Sources: []string{"test"}, Family: "Emotet", LastSeen: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	const c2 = "192.0.2.7:443"
	newAgent := func(c2 string) *agent.Agent {
		snap := source.NewSnapshot("linux", time.Now().UTC(), "USER", "")
		snap.Files["/etc/os-release"] = source.FileEntry{Data: []byte("ID=debian\nVERSION_ID=\"12\"\n")}
		if c2 != "" {
			snap.Connections = []source.Connection{{Proto: "tcp", Local: "10.0.0.5:50123", Remote: c2, State: "ESTABLISHED"}}
		}
		a := &agent.Agent{Store: agent.Store{Dir: dir}, Checks: []checks.Check{malware.New()}, Source: source.NewReplay(snap), Version: "test"}
		a.LoadIndicators()
		return a
	}
	ag := newAgent(c2)
	if _, err := ag.Enroll(ctx, url, ""); err != nil {
		t.Fatal(err)
	}
	st, err := ag.Store.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	checkIn := func(c2 string) *agent.Last {
		t.Helper()
		last, err := newAgent(c2).CheckIn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return last
	}
	checkIn(c2) // the device talks to the C2; its history keeps the endpoint
	seen := time.Now().UTC()
	if _, asked, err := ss.AddSighting(ctx, store.Sighting{IP: "127.0.0.1", SeenAt: seen, Family: "QakBot", C2: c2, Source: "test"}, time.Hour, seen); err != nil || len(asked) != 1 {
		t.Fatalf("AddSighting: asked %v, %v", asked, err)
	}
	// As herd sightings import does, the report's C2 goes into the
	// indicator bundle: a device answers only about listed servers.
	if _, err := in.ImportIndicators(ctx, time.Now(), func(add func(store.Indicator) error) error {
		return add(store.Indicator{Type: "ipv4", Value: "192.0.2.7", Port: 443, Sources: []string{"test"}, Family: "QakBot", LastSeen: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	var v health.Tier
	for i := 0; i < 3 && v != health.Contraindicated; i++ {
		v = checkIn("").Response.Verdict
	}
	if v != health.Contraindicated {
		t.Fatalf("verdict %s after the device confirmed the sighting", v)
	}
	// The hold is intended: a check-in with nothing local found stays
	// contraindicated until the operator clears it.
	if v := checkIn("").Response.Verdict; v != health.Contraindicated {
		t.Fatalf("verdict %s with the hold in force", v)
	}

	// devices show tells the hold and its end, in text and JSON.
	showHold := func() (string, holdInfo) {
		t.Helper()
		code, out, errs := runCmd(t, runDevices, "show", "--db", dsn, "--id", st.DeviceID)
		if code != 0 {
			t.Fatalf("devices show = %d %q", code, errs)
		}
		code, js, errs := runCmd(t, runDevices, "show", "--db", dsn, "--id", st.DeviceID, "--json")
		var got struct {
			SightingHold holdInfo `json:"sighting_hold"`
		}
		if code != 0 || json.Unmarshal([]byte(js), &got) != nil {
			t.Fatalf("devices show --json = %d %q %q", code, js, errs)
		}
		return out, got.SightingHold
	}
	text, hold := showHold()
	if !hold.Active || hold.Until == nil || hold.ConfirmedAt == nil || hold.C2 != c2 || hold.Family != "QakBot" ||
		!hold.Until.Equal(hold.ConfirmedAt.Add(authority.SightingHold)) || hold.ConfirmedAt.Before(seen.Add(-time.Second)) || hold.ConfirmedAt.After(time.Now()) {
		t.Errorf("sighting_hold %+v, want active for %v from the confirmation after %v", hold, authority.SightingHold, seen)
	} else if want := "sighting hold: active until " + hold.Until.UTC().Format(time.RFC3339) + " (confirmed " + hold.ConfirmedAt.UTC().Format(time.RFC3339) + ", C2 " + c2 + ", QakBot)"; !strings.Contains(text, want) {
		t.Errorf("devices show lacks %q:\n%s", want, text)
	}

	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no device", []string{"clear-sighting", "--db", dsn}, 2, "usage: herd devices clear-sighting"},
		{"unknown device", []string{"clear-sighting", "--db", dsn, "--device", "dev-nobody"}, 1, `no device "dev-nobody" is enrolled`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCmd(t, runDevices, c.args...)
			if code != c.code || !strings.Contains(out+errs, c.want) {
				t.Errorf("exit %d, %q %q; want %d and %q", code, out, errs, c.code, c.want)
			}
		})
	}
	code, out, errs := runCmd(t, runDevices, "clear-sighting", "--db", dsn, "--device", st.DeviceID)
	if code != 0 || !strings.Contains(out, "cleared 1 confirmed sighting") {
		t.Fatalf("clear-sighting = %d %q %q", code, out, errs)
	}
	if text, hold := showHold(); hold.Active || hold.Until != nil || !strings.Contains(text, "sighting hold: none\n") {
		t.Errorf("after clear-sighting devices show says %+v:\n%s", hold, text)
	}
	last := checkIn("")
	if last.Response.Verdict == health.Contraindicated || last.Response.Notice != "" {
		t.Fatalf("after clear-sighting: verdict %s, notice %q; want the device judged on its own evidence", last.Response.Verdict, last.Response.Notice)
	}
	for _, f := range last.Response.Findings {
		if f.ID == health.Malware && f.Status == health.Fail {
			t.Errorf("malware still fails after the hold was cleared: %+v", f)
		}
	}
	if code, out, _ := runCmd(t, runDevices, "clear-sighting", "--db", dsn, "--device", st.DeviceID); code != 0 || !strings.Contains(out, "nothing to clear") {
		t.Errorf("clearing again = %d %q", code, out)
	}

	es, err := n.Store.(store.Audit).AuditLog(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		if e.Action == "device.clear_sighting" {
			got = append(got, e.Target+"/"+e.Outcome)
			if !strings.HasPrefix(e.Actor, "cli") {
				t.Errorf("audited as %q, want cli:<user>", e.Actor)
			}
		}
	}
	// Newest first: the second clear, the first, the unknown device.
	want := []string{st.DeviceID + "/ok", st.DeviceID + "/ok", "dev-nobody/error"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("audit records %v, want %v", got, want)
	}
}
