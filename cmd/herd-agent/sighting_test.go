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
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/source"
	"github.com/herd-health/herd/internal/store"
)

// sightingSnapshot is a Linux system whose malware check passes, with
// a connection to c2 open when c2 is not empty.
func sightingSnapshot(c2 string) *source.Snapshot {
	snap := source.NewSnapshot("linux", time.Now().UTC(), "USER", "")
	snap.Files["/etc/os-release"] = source.FileEntry{Data: []byte("ID=debian\nVERSION_ID=\"12\"\n")}
	if c2 != "" {
		snap.Connections = []source.Connection{{Proto: "tcp", Local: "10.0.0.5:50123", Remote: c2, State: "ESTABLISHED"}}
	}
	return snap
}

// TestStatusExplainsSighting: a device whose own history confirmed an
// outside sighting stays contraindicated after the connection closed,
// and status says why (the endpoint, when it was seen, when the hold
// ends) as the malware result, in English, Chinese and JSON, instead
// of the local check's pass. Once an operator clears the hold, the next
// check-in is judged on the device's own evidence.
func TestStatusExplainsSighting(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	n, err := node.Open(ctx, node.Config{DSN: "sqlite:" + filepath.Join(t.TempDir(), "herd.db"), Authority: authority.Config{Issuer: url, IntelCacheTTL: -1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: n.Authority}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); n.Close() })
	ss, ok := n.Store.(store.Sightings)
	sh, ok2 := n.Store.(store.SightingHolds)
	in, ok3 := n.Store.(store.Intel)
	if !ok || !ok2 || !ok3 {
		t.Fatal("the node's store keeps no sightings")
	}
	// An indicator list that does not name the C2, so the device's own
	// malware check can pass.
	if _, err := in.ImportIndicators(ctx, time.Now(), func(add func(store.Indicator) error) error {
		return add(store.Indicator{Type: "ipv4", Value: "203.0.113.99", Sources: []string{"test"}, Family: "Emotet", LastSeen: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	if _, stderr, code := runCmd(t, "enroll", "--dir", dir, url); code != 0 {
		t.Fatalf("enroll: %s", stderr)
	}
	const c2 = "192.0.2.7:443"
	checkIn := func(snap *source.Snapshot) *agent.Last {
		t.Helper()
		a := newAgent(dir, source.NewReplay(snap), nil)
		a.Checks = []checks.Check{malware.New()}
		a.LoadIndicators() // as run does; none is kept before the first check-in
		last, err := a.CheckIn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return last
	}
	// The device talks to the C2 while it checks in; nothing lists it.
	if v := checkIn(sightingSnapshot(c2)).Response.Verdict; v == health.Contraindicated {
		t.Fatalf("verdict %s before any report", v)
	}
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
	// The connection is closed: the device's checks now find nothing.
	// It gets the question at one check-in and answers at the next.
	before := time.Now().UTC()
	var last *agent.Last
	for i := 0; i < 3; i++ {
		if last = checkIn(sightingSnapshot("")); last.Response.Verdict == health.Contraindicated {
			break
		}

	}
	after := time.Now().UTC()
	if last.Response.Verdict != health.Contraindicated {
		t.Fatalf("verdict %s after the device confirmed the sighting", last.Response.Verdict)
	}
	for _, o := range last.Outcomes {
		if o.ID == health.Malware && o.Status != health.Pass {
			t.Fatalf("the local malware check is %s (%v), want pass (the scene the notice must explain)", o.Status, o.In(o.ID, "en").Reason)
		}
	}

	var js struct {
		Verdict  health.Tier `json:"verdict"`
		Sighting *struct {
			ID       health.CheckID `json:"id"`
			Status   health.Status  `json:"status"`
			Source   string         `json:"source"`
			Reason   string         `json:"reason"`
			Endpoint string         `json:"endpoint"`
			Until    time.Time      `json:"until"`
		} `json:"sighting"`
		Checks []struct {
			ID       health.CheckID  `json:"id"`
			Status   health.Status   `json:"status"`
			Reason   string          `json:"reason"`
			Evidence health.Evidence `json:"evidence"`
			Details  []string        `json:"details"`
		} `json:"checks"`
		Notice *struct {
			Message string   `json:"message"`
			Steps   []string `json:"steps"`
		} `json:"notice"`
	}
	out, _, code := runCmd(t, "status", "--dir", dir, "--json", "--lang", "en")
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || js.Sighting == nil || js.Notice == nil {
		t.Fatalf("status --json (exit %d): %s", code, out)
	}
	until := js.Sighting.Until
	if until.Before(before.Add(authority.SightingHold-time.Second)) || until.After(after.Add(authority.SightingHold)) {
		t.Errorf("hold ends %v, want %v after the answer (between %v and %v)", until, authority.SightingHold, before, after)
	}
	if js.Sighting.ID != health.Malware || js.Sighting.Status != health.Fail || js.Sighting.Source != "sighting" || js.Sighting.Endpoint != c2 {
		t.Errorf("sighting %+v", js.Sighting)
	}
	malwareRows := 0
	for _, c := range js.Checks {
		if c.ID != health.Malware {
			continue
		}
		malwareRows++
		if c.Status != health.Fail || c.Evidence.Source != "sighting" || c.Reason != js.Sighting.Reason ||
			len(c.Details) == 0 || !strings.Contains(c.Details[0], "own malware check now") {
			t.Errorf("malware row %+v, want the sighting's fail with the local result as a detail", c)
		}
	}
	if malwareRows != 1 {
		t.Errorf("%d malware rows, want 1", malwareRows)
	}
	// The signed notice says what was confirmed, when, and when it ends.
	untilUTC := until.UTC().Format("2006-01-02 15:04 UTC")
	if !strings.Contains(js.Notice.Message, c2) || !strings.Contains(js.Notice.Message, "stays until "+untilUTC) {
		t.Errorf("notice message %q lacks the endpoint or the hold end %s", js.Notice.Message, untilUTC)
	}

	for _, c := range []struct {
		lang string
		want []string
		not  string
	}{
		{"en", []string{"An outside report that this device's address talked to a botnet control server was confirmed by this device's own connection history (" + c2 + ", seen ",
			"it stays until " + agent.FormatTime(until) + " unless the device is cleaned and an operator clears it.", "Verdict: contraindicated"}, "No known malware"},
		{"zh-CN", []string{"此设备自身的连接记录证实了这一点（" + c2 + "，发现于 ", "否则此状态将保持到 " + agent.FormatTime(until) + "。", "结论： 禁忌"}, "[ok  ]"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			out, stderr, code := runCmd(t, "status", "--dir", dir, "--lang", c.lang)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			flat := strings.Join(strings.Fields(out), " ")
			for _, w := range c.want {
				if !strings.Contains(flat, strings.Join(strings.Fields(w), " ")) {
					t.Errorf("status lacks %q:\n%s", w, out)
				}
			}
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "] "+string(health.Malware)+" ") && (strings.Contains(line, c.not) || !strings.Contains(line, "[FAIL]")) {
					t.Errorf("the malware line contradicts the verdict: %q", line)
				}
			}
		})
	}

	// An operator clears the hold after cleaning: the next check-in is
	// judged on the device's own (passing) evidence and the notice goes.
	st, _ := newAgent(dir, nil, nil).Store.LoadState()
	if n, err := sh.ClearSightingHold(ctx, st.DeviceID); err != nil || n != 1 {
		t.Fatalf("ClearSightingHold = %d, %v", n, err)
	}
	if v := checkIn(sightingSnapshot("")).Response.Verdict; v == health.Contraindicated {
		t.Fatalf("verdict %s after the hold was cleared", v)
	}
	out, _, _ = runCmd(t, "status", "--dir", dir, "--lang", "en")
	if strings.Contains(out, "outside report") || strings.Contains(out, "!! ") {
		t.Errorf("status still shows the sighting after it was cleared:\n%s", out)
	}
}
