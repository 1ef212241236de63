package sqldb

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/herd-health/herd/health"
)

func TestMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_more.sql":  {Data: []byte("CREATE TABLE b (x int);")},
		"m/0001_init.sql":  {Data: []byte("CREATE TABLE a (x int);")},
		"m/0010_later.sql": {Data: []byte("CREATE TABLE c (x int);")},
		"m/README.md":      {Data: []byte("not a migration")},
	}
	ms, err := Migrations(fsys, "m")
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	var got []int
	for _, m := range ms {
		got = append(got, m.Version)
	}
	if !slices.Equal(got, []int{1, 2, 10}) {
		t.Errorf("versions = %v, want [1 2 10]", got)
	}
	if ms[0].Name != "0001_init.sql" || ms[0].SQL != "CREATE TABLE a (x int);" {
		t.Errorf("first migration = %+v", ms[0])
	}
}

func TestMigrationsRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"no version", fstest.MapFS{"m/init.sql": {}}, "positive version"},
		{"zero version", fstest.MapFS{"m/0000_init.sql": {}}, "positive version"},
		{"duplicate", fstest.MapFS{"m/0001_a.sql": {}, "m/1_b.sql": {}}, "share version 1"},
		{"missing dir", fstest.MapFS{}, "read migrations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Migrations(tc.fsys, "m")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Migrations = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestFindingsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []health.Finding
		enc  string
	}{
		{"none", nil, "[]"},
		{"empty", []health.Finding{}, "[]"},
		{"two", []health.Finding{
			{ID: health.Malware, Status: health.Fail, Trust: health.ProductReported},
			{ID: health.ScreenLock, Status: health.Unknown},
		}, `[{"id":"malware","status":"fail","trust":"product_reported"},{"id":"screen_lock","status":"unknown"}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := EncodeFindings(tc.in)
			if err != nil {
				t.Fatalf("EncodeFindings: %v", err)
			}
			if enc != tc.enc {
				t.Errorf("EncodeFindings = %s, want %s", enc, tc.enc)
			}
			dec, err := DecodeFindings(enc)
			if err != nil {
				t.Fatalf("DecodeFindings: %v", err)
			}
			if len(tc.in) == 0 {
				if dec != nil {
					t.Errorf("DecodeFindings(%s) = %#v, want nil", enc, dec)
				}
				return
			}
			if !slices.Equal(dec, tc.in) {
				t.Errorf("DecodeFindings = %+v, want %+v", dec, tc.in)
			}
		})
	}
	if _, err := DecodeFindings("{not json"); err == nil {
		t.Error("DecodeFindings accepted malformed JSON")
	}
}

func TestCounterStats(t *testing.T) {
	var devices, checkins int64
	by := map[health.Tier]int64{}
	for _, r := range []struct {
		name string
		n    int64
	}{
		{DevicesCounter, 5}, {CheckinsCounter, 12}, {VerdictCounter(health.Warning), 2},
		{VerdictCounter(health.Affirming), 0}, {"verdict:", -3}, {"unrelated", 9},
	} {
		CounterStats(r.name, r.n, &devices, &checkins, by)
	}
	if devices != 5 || checkins != 12 || len(by) != 1 || by[health.Warning] != 2 {
		t.Errorf("CounterStats = %d devices, %d check-ins, %v", devices, checkins, by)
	}
}
