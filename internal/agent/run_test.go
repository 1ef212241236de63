package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/authority"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/node"
	"github.com/herd-health/herd/internal/source"
)

// clock is a settable time shared by the agent and the authority.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// authorityServer is a real authority node on SQLite, served on a
// loopback port that can be stopped and started again.
type authorityServer struct {
	t    *testing.T
	n    *node.Node
	addr string
	srv  *http.Server
}

func startAuthority(t *testing.T, clk *clock, lifetime time.Duration) *authorityServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(context.Background(), node.Config{
		DSN:       "sqlite:" + filepath.Join(t.TempDir(), "herd.db"),
		Authority: authority.Config{Issuer: "http://" + ln.Addr().String(), CertificateLifetime: lifetime},
		Now:       clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &authorityServer{t: t, n: n, addr: ln.Addr().String()}
	s.serve(ln)
	t.Cleanup(func() { s.stop(); n.Close() })
	return s
}

func (s *authorityServer) URL() string { return "http://" + s.addr }

func (s *authorityServer) serve(ln net.Listener) {
	s.srv = &http.Server{Handler: s.n.Authority}
	go s.srv.Serve(ln)
}

func (s *authorityServer) stop() {
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

func (s *authorityServer) restart() {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("listening again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// fileCheck passes when a file holds "on", fails when it holds anything
// else and is unknown when it cannot be read. delay makes it slow.
type fileCheck struct {
	id    health.CheckID
	path  string
	delay time.Duration
	mu    *sync.Mutex
	runs  *int
}

func newFileCheck(id health.CheckID, path string, delay time.Duration) fileCheck {
	return fileCheck{id: id, path: path, delay: delay, mu: &sync.Mutex{}, runs: new(int)}
}

func (c fileCheck) ID() health.CheckID           { return c.id }
func (c fileCheck) Probes(string) []source.Probe { return []source.Probe{source.File(c.path)} }
func (c fileCheck) Runs() int                    { c.mu.Lock(); defer c.mu.Unlock(); return *c.runs }
func (c fileCheck) Run(ctx context.Context, src source.Source, _ checks.Env) checks.Result {
	c.mu.Lock()
	*c.runs++
	c.mu.Unlock()
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	ev := checks.Evidence(c.path, health.OSReported)
	b, err := src.ReadFile(c.path)
	switch {
	case err != nil:
		return checks.Unknown(i18n.T("cannot read "+c.path, "无法读取 "+c.path), ev)
	case string(b) == "on":
		return checks.Pass(i18n.T("it is on", "已开启"), ev)
	}
	return checks.Fail(i18n.T("it is off", "已关闭"), ev, i18n.T("turn it on", "请开启"))
}

// testSnapshot is a Linux system whose firewall and disk files the test
// changes between rounds.
func testSnapshot(at time.Time) *source.Snapshot {
	s := source.NewSnapshot("linux", at, "USER", "/home/USER")
	s.Files["/etc/os-release"] = source.FileEntry{Data: []byte("ID=debian\nVERSION_ID=\"12\"\n")}
	s.Files["/fw"] = source.FileEntry{Data: []byte("on")}
	s.Files["/disk"] = source.FileEntry{Data: []byte("on")}
	return s
}

type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) add(d time.Duration) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return len(w.d)
}

func enrolledAgent(t *testing.T, clk *clock, auth *authorityServer, src source.Source, list []checks.Check) *Agent {
	t.Helper()
	a := &Agent{Store: Store{Dir: t.TempDir()}, Checks: list, Source: src, Version: "test", Now: clk.Now}
	st, err := a.Enroll(context.Background(), auth.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	st.Trust("shop.example")
	if err := a.Store.SaveState(st); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRunRenewsAndBacksOff(t *testing.T) {
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	auth := startAuthority(t, clk, time.Hour)
	snap := testSnapshot(clk.Now())
	a := enrolledAgent(t, clk, auth, source.NewReplay(snap), []checks.Check{newFileCheck(health.Firewall, "/fw", 0)})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rec waits
	var lasts []*Last
	sleep := func(ctx context.Context, d time.Duration) error {
		if l, err := a.Store.LoadLast(); err == nil {
			lasts = append(lasts, l)
		}
		n := rec.add(d)
		switch n {
		case 2:
			auth.stop() // the authority goes down after the second check-in
		case 6:
			auth.restart() // and comes back after four failures
		case 7:
			cancel()
			return ctx.Err()
		}
		clk.Add(d)
		return nil
	}
	err := a.Run(ctx, RunOptions{
		Interval: 4 * time.Hour, MinBackoff: 30 * time.Second, MaxBackoff: 30 * time.Minute,
		Watch: -1, Sleep: sleep, Jitter: func() float64 { return 0.25 },
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Certificates live an hour: the agent checks in at 0.95 × half of
	// that, then backs off 30 s, 1, 2, 4 min (× 0.625) while the authority
	// is down, then is back to renewing.
	half := 28*time.Minute + 30*time.Second
	want := []time.Duration{half, half,
		18750 * time.Millisecond, 37500 * time.Millisecond, 75 * time.Second, 150 * time.Second,
		0}
	got := rec.d
	if len(got) != len(want) {
		t.Fatalf("waits %v, want %d of them", got, len(want))
	}
	for i := range want[:6] {
		if got[i] != want[i] {
			t.Errorf("wait %d = %s, want %s", i+1, got[i], want[i])
		}
	}
	// After recovery the wait is again bounded by the new certificate,
	// which expires an hour after the recovery check-in (to the second).
	rec6 := lasts[6]
	if len(rec6.Response.Certificates) != 1 {
		t.Fatalf("recovery check-in certificates: %+v", rec6.Response.Certificates)
	}
	left := rec6.Response.Certificates[0].ExpiresAt.Sub(rec6.CheckedAt)
	if want := time.Duration(float64(left/2) * 0.95); got[6] != want || left <= 59*time.Minute {
		t.Errorf("wait after recovery = %s, want %s (certificate left %s)", got[6], want, left)
	}
	// Each renewal happened before half of the previous certificate's life.
	first, second := lasts[0], lasts[1]
	if len(first.Response.Certificates) != 1 || first.Response.Certificates[0].Audience != "shop.example" {
		t.Fatalf("first check-in certificates: %+v", first.Response.Certificates)
	}
	exp1 := first.Response.Certificates[0].ExpiresAt
	if life := exp1.Sub(first.CheckedAt); second.CheckedAt.Sub(first.CheckedAt) >= life/2 {
		t.Errorf("renewed %s after the first check-in, not before half of the %s lifetime", second.CheckedAt.Sub(first.CheckedAt), life)
	}
	if exp2 := second.Response.Certificates[0].ExpiresAt; !exp2.After(exp1) {
		t.Errorf("renewed certificate expires %s, not later than %s", exp2, exp1)
	}
	if first.Response.Certificates[0].Token == second.Response.Certificates[0].Token {
		t.Error("the renewal returned the same certificate")
	}
	// The failures left the last good check-in in place, and recovery
	// replaced it.
	for i := 2; i < 6; i++ {
		if !lasts[i].CheckedAt.Equal(second.CheckedAt) {
			t.Errorf("during the outage last.json changed (wait %d)", i+1)
		}
	}
	if !lasts[6].CheckedAt.After(second.CheckedAt) {
		t.Error("no check-in after the authority came back")
	}
	if c, err := a.Certificate("shop.example"); err != nil || c.Token != lasts[6].Response.Certificates[0].Token {
		t.Errorf("Certificate after recovery: %v", err)
	}
}

func TestRunNotEnrolled(t *testing.T) {
	a := &Agent{Store: Store{Dir: t.TempDir()}, Source: source.NewReplay(testSnapshot(time.Now()))}
	err := a.Run(context.Background(), RunOptions{Sleep: func(context.Context, time.Duration) error {
		t.Fatal("Run waited instead of giving up")
		return nil
	}})
	if !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("Run = %v, want ErrNotEnrolled", err)
	}
}

// A firewall turned off between check-ins is reported at the next watch
// round, not at the next scheduled check-in; a slow check is left out of
// the watch.
func TestRunWatchChecksInOnChange(t *testing.T) {
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	auth := startAuthority(t, clk, 4*time.Hour)
	snap := testSnapshot(clk.Now())
	fw := newFileCheck(health.Firewall, "/fw", 0)
	disk := newFileCheck(health.DiskEncryption, "/disk", 200*time.Millisecond)
	a := enrolledAgent(t, clk, auth, source.NewReplay(snap), []checks.Check{fw, disk})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rec waits
	type seen struct {
		checkedAt time.Time
		fwRuns    int
		diskRuns  int
	}
	var log []seen
	sleep := func(ctx context.Context, d time.Duration) error {
		l, err := a.Store.LoadLast()
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, seen{l.CheckedAt, fw.Runs(), disk.Runs()})
		n := rec.add(d)
		switch n {
		case 3:
			// Between the third and fourth sleeps: the firewall goes off,
			// and so does the slow check (which the watch does not see).
			snap.Files["/fw"] = source.FileEntry{Data: []byte("off")}
			snap.Files["/disk"] = source.FileEntry{Data: []byte("off")}
		case 6:
			cancel()
			return ctx.Err()
		}
		clk.Add(d)
		return nil
	}
	err := a.Run(ctx, RunOptions{
		Interval: time.Hour, Watch: 45 * time.Second, WatchBudget: 50 * time.Millisecond,
		Sleep: sleep, Jitter: func() float64 { return 0.5 },
	})
	if err != nil {
		t.Fatal(err)
	}
	// Sleeps: 45 s, 45 s (watch rounds, nothing changed), 45 s, then the
	// round after the change checks in at once, and a new period starts.
	for i, d := range rec.d {
		if d != 45*time.Second {
			t.Errorf("sleep %d = %s, want 45s", i+1, d)
		}
	}
	if len(log) != 6 {
		t.Fatalf("%d sleeps, want 6", len(log))
	}
	first := log[0].checkedAt
	for i := 1; i < 3; i++ {
		if !log[i].checkedAt.Equal(first) {
			t.Errorf("sleep %d: a check-in happened with nothing changed", i+1)
		}
	}
	// The change was made during sleep 3; the round after it found it and
	// checked in before sleep 4.
	if !log[3].checkedAt.Equal(first.Add(3 * 45 * time.Second)) {
		t.Errorf("check-in after the change at %s, want %s", log[3].checkedAt, first.Add(3*45*time.Second))
	}
	last, _ := a.Store.LoadLast()
	status := map[health.CheckID]health.Status{}
	for _, o := range last.Outcomes {
		status[o.ID] = o.Status
	}
	if status[health.Firewall] != health.Fail {
		t.Errorf("firewall reported %s after it was turned off, want fail", status[health.Firewall])
	}
	// The slow check ran once (the full run) and its result was carried.
	if status[health.DiskEncryption] != health.Pass || log[5].diskRuns != 1 {
		t.Errorf("slow check: status %s, %d runs; want pass from the full run, 1 run", status[health.DiskEncryption], log[5].diskRuns)
	}
	// The firewall check ran at the full check-in and at each round.
	var runs []int
	for _, s := range log {
		runs = append(runs, s.fwRuns)
	}
	if want := []int{1, 2, 3, 4, 5, 6}; !slices.Equal(runs, want) {
		t.Errorf("firewall runs at each sleep %v, want %v", runs, want)
	}
	// Statuses are compared with the last check-in: no further check-in
	// while the firewall stays off.
	if !log[5].checkedAt.Equal(log[3].checkedAt) {
		t.Error("checked in again with nothing new")
	}
}
