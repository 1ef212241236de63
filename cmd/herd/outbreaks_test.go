package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/population"
	"github.com/herd-health/herd/internal/store"
	"github.com/herd-health/herd/internal/store/storeopen"
)

// seedInfections records, through the store's check-in path, a quiet
// background of QakBot infections on windows and a burst of 12 on day.
func seedInfections(t *testing.T, dsn string, day time.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := storeopen.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	infect := func(at time.Time) {
		n++
		id := fmt.Sprintf("dev-%03d", n)
		if err := st.CreateDevice(ctx, store.Device{ID: id, PublicKey: bytes.Repeat([]byte{1}, 32), OS: "windows", EnrolledAt: at.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RecordCheckin(ctx, store.Checkin{DeviceID: id, ReceivedAt: at, Verdict: health.Contraindicated, Family: "QakBot",
			PolicyID: "default", OS: "windows", OSVersion: "10.0.22631", Agent: "1.0.0", Statement: []byte("x.y.z")}); err != nil {
			t.Fatal(err)
		}
	}
	quiet := []int{1, 0, 2, 1, 0, 1, 1, 0, 2, 1, 0, 1, 1, 0, 1, 2, 0, 1, 1, 0}
	for i, k := range quiet {
		for j := range k {
			infect(day.AddDate(0, 0, i-len(quiet)).Add(time.Duration(j+1) * time.Hour))
		}
	}
	for j := range 12 {
		infect(day.Add(time.Duration(j+1) * time.Minute))
	}
}

// TestOutbreaksListsStoredAlerts: alerts raised for an earlier day (by
// herd serve's detection, here `herd outbreaks detect --day`) are listed
// by `herd outbreaks` afterwards, with their values; `detect` is
// audited.
func TestOutbreaksListsStoredAlerts(t *testing.T) {
	dsn := tempDB(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	yesterday := today.AddDate(0, 0, -1)
	seedInfections(t, dsn, yesterday)
	y := yesterday.Format(time.DateOnly)

	code, out, errs := herd(t, "outbreaks", "--db", dsn)
	if code != 0 || !strings.Contains(out, "no outbreak alert since "+today.AddDate(0, 0, -29).Format(time.DateOnly)) {
		t.Fatalf("before detection: exit %d, %q %q", code, out, errs)
	}
	code, out, errs = herd(t, "outbreaks", "detect", "--db", dsn, "--day", y, "--json")
	if code != 0 {
		t.Fatalf("detect: exit %d, %s", code, errs)
	}
	var raised struct {
		Day    string                   `json:"day"`
		Alerts []population.AlertDetail `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(out), &raised); err != nil || raised.Day != y || len(raised.Alerts) == 0 {
		t.Fatalf("detect --json: %v %q", err, out)
	}

	// The next day, the list shows them; detection has not run today.
	code, out, errs = herd(t, "outbreaks", "--db", dsn, "--json")
	if code != 0 {
		t.Fatalf("list: exit %d, %s", code, errs)
	}
	var listed alertsJSON
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed.Alerts) != len(raised.Alerts) {
		t.Fatalf("listed %d alerts, %d were raised", len(listed.Alerts), len(raised.Alerts))
	}
	seen := map[string]bool{}
	for _, a := range listed.Alerts {
		var d population.AlertDetail
		if err := json.Unmarshal(a.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if a.Day != y || a.Family != "QakBot" || d.Observed != 12 || len(d.Series) != 21 || d.Statistic <= d.Threshold {
			t.Errorf("alert %s: day %s family %s observed %v, %d days, S %v h %v", a.Key, a.Day, a.Family, d.Observed, len(d.Series), d.Statistic, d.Threshold)
		}
		seen[a.Detector+" "+a.Segment] = true
	}
	for _, want := range []string{"ears_c1 ", "cusum ", "ears_c1 os=windows", "cusum agent=1.0.0", "ears_c2 os_version=10.0.22631"} {
		if !seen[want] {
			t.Errorf("no %q alert listed: %v", want, seen)
		}
	}
	code, out, _ = herd(t, "outbreaks", "--db", dsn)
	if code != 0 || !strings.Contains(out, "DAY") || !strings.Contains(out, y+"  ears_c1") || !strings.Contains(out, "QakBot") || !strings.Contains(out, "os=windows") {
		t.Errorf("text list: exit %d\n%s", code, out)
	}
	// --since after the alerts' day lists none of them.
	if code, out, _ = herd(t, "outbreaks", "--db", dsn, "--since", today.Format(time.DateOnly)); code != 0 || !strings.Contains(out, "no outbreak alert since") {
		t.Errorf("--since today: exit %d %q", code, out)
	}

	// Detection was audited: pending while it ran, then ok.
	st, err := openOps(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log, err := st.AuditLog(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range log {
		if e.Action == "population.outbreaks.detect" {
			found = true
			if e.Target != y || e.Outcome != "ok" || !strings.HasPrefix(e.Actor, "cli") {
				t.Errorf("audit record %+v; want target %s, outcome ok, a cli actor", e, y)
			}
		}
		if e.Action == "population.outbreaks.list" {
			t.Errorf("listing wrote %+v; only detection changes the store", e)
		}
	}
	if !found {
		t.Errorf("detection was not audited: %+v", log)
	}
}

func TestOutbreaksUsage(t *testing.T) {
	dsn := tempDB(t)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"outbreaks", "--db", dsn, "--since", "last week"}, 2, `"last week" is not a day (YYYY-MM-DD)`},
		{[]string{"outbreaks", "--db", dsn, "--since", tomorrow}, 2, "is after today"},
		{[]string{"outbreaks", "detect", "--db", dsn, "--day", "2026-13-01"}, 2, "is not a day"},
		{[]string{"outbreaks", "detect", "--db", dsn, "--since", "2026-01-01"}, 2, "flag provided but not defined: -since"},
		{[]string{"outbreaks", "--db", dsn, "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"outbreaks", "-h"}, 0, "herd outbreaks detect"},
		{[]string{"outbreaks", "detect", "--db", dsn}, 0, "0 alerts for"},
	} {
		code, out, errs := herd(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%v: exit %d (want %d), %q %q; want %q", tc.args, code, tc.code, out, errs, tc.want)
		}
	}
}
