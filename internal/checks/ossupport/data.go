package ossupport

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

//go:embed eol.json
var eolJSON []byte

// Data is the end-of-life table shipped with the agent (eol.json).
type Data struct {
	// Compiled is the day the table was last brought up to date.
	Compiled Date `json:"compiled"`
	// About explains the fields to the person editing the file.
	About    string              `json:"about,omitempty"`
	Products map[string]*Product `json:"products"`
}

// Product is one operating system line (debian, ubuntu, windows, …).
type Product struct {
	Name  string `json:"name"`
	About string `json:"about,omitempty"`
	// OlderEnded says every release older than the oldest one listed has
	// ended, so such a release fails rather than being unknown.
	OlderEnded bool `json:"older_ended,omitempty"`
	// OlderEndedBelowBuild is OlderEnded for Windows: every release with
	// a lower build number that is not listed has ended (LTSC editions
	// excepted, which are listed on their own).
	OlderEndedBelowBuild int       `json:"older_ended_below_build,omitempty"`
	Releases             []Release `json:"releases"`
}

// Release is one release and the end of its security support.
type Release struct {
	Release  string `json:"release"`
	Codename string `json:"codename,omitempty"`
	// Build is the Windows build number (CurrentBuild).
	Build int `json:"build,omitempty"`
	// Edition is the Windows servicing channel the date applies to:
	// home_pro, enterprise, ltsc or iot_ltsc; empty for every edition.
	Edition string `json:"edition,omitempty"`
	// EOL is the last day of free security updates; nil when no end is
	// announced yet.
	EOL *Date `json:"eol,omitempty"`
	// Approx marks an estimated EOL.
	Approx bool `json:"approx,omitempty"`
	// Extended is the end of a paid or opt-in extension (ESM, ESU, ELS).
	Extended *Date  `json:"extended,omitempty"`
	Note     string `json:"note,omitempty"`
}

// Date is a calendar day, written YYYY-MM-DD.
type Date struct{ time.Time }

// UnmarshalJSON reads YYYY-MM-DD.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fmt.Errorf("date %q: %w", s, err)
	}
	d.Time = t
	return nil
}

// String writes YYYY-MM-DD.
func (d Date) String() string { return d.Format(time.DateOnly) }

// End is the first moment after the day: support ends at the end of EOL.
func (d Date) End() time.Time { return d.Time.AddDate(0, 0, 1) }

// ParseData reads an end-of-life table and checks it is usable.
func ParseData(b []byte) (*Data, error) {
	var d Data
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("eol data: %w", err)
	}
	if d.Compiled.IsZero() {
		return nil, fmt.Errorf("eol data: \"compiled\" is missing")
	}
	for id, p := range d.Products {
		if p == nil || len(p.Releases) == 0 {
			return nil, fmt.Errorf("eol data: product %q has no releases", id)
		}
		for _, r := range p.Releases {
			if r.Release == "" {
				return nil, fmt.Errorf("eol data: product %q has a release without a name", id)
			}
		}
	}
	return &d, nil
}

// Embedded returns the table compiled into the agent.
func Embedded() *Data {
	d, err := ParseData(eolJSON)
	if err != nil {
		panic(err) // guarded by TestEmbeddedData
	}
	return d
}

// compareVersions orders dotted numeric versions ("15.6" < "16.0",
// "10.15" < "11"); ok is false when either is not numeric.
func compareVersions(a, b string) (int, bool) {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		var err error
		if i < len(pa) {
			if x, err = strconv.Atoi(pa[i]); err != nil {
				return 0, false
			}
		}
		if i < len(pb) {
			if y, err = strconv.Atoi(pb[i]); err != nil {
				return 0, false
			}
		}
		if x != y {
			if x < y {
				return -1, true
			}
			return 1, true
		}
	}
	return 0, true
}

// match is where a release stands against the table.
type match int

const (
	matchFound match = iota // the release is listed
	matchOlder              // older than every listed release, all ended
	matchNewer              // newer than every listed release
	matchNone               // not listed, not comparable
)

// lookup finds a release of a versioned product by its version.
func (p *Product) lookup(version string) (Release, match) {
	for _, r := range p.Releases {
		if r.Release == version {
			return r, matchFound
		}
	}
	older, newer, comparable := true, true, true
	for _, r := range p.Releases {
		c, ok := compareVersions(version, r.Release)
		if !ok {
			comparable = false
			break
		}
		if c >= 0 {
			older = false
		}
		if c <= 0 {
			newer = false
		}
	}
	switch {
	case !comparable:
		return Release{}, matchNone
	case newer:
		return Release{}, matchNewer
	case older && p.OlderEnded:
		return Release{}, matchOlder
	}
	return Release{}, matchNone
}

// lookupBuild finds a Windows release by build and servicing channel.
// Several rows may share a build (one per edition); the one whose Edition
// equals edition wins over a row for every edition. When edition is
// unknown (""), every row for the build is returned.
func (p *Product) lookupBuild(build int, edition string) ([]Release, match) {
	var exact, all, any []Release
	maxBuild := 0
	for _, r := range p.Releases {
		maxBuild = max(maxBuild, r.Build)
		if r.Build != build {
			continue
		}
		any = append(any, r)
		switch r.Edition {
		case edition:
			exact = append(exact, r)
		case "":
			all = append(all, r)
		}
	}
	switch {
	case edition == "" && build < p.OlderEndedBelowBuild:
		// Below the threshold only LTSC rows are listed; without the
		// edition the channel cannot be told.
		return nil, matchNone
	case edition == "" && len(any) > 0:
		return any, matchFound
	case len(exact) > 0:
		return exact, matchFound
	case len(all) > 0 && !isLTSC(edition):
		return all, matchFound
	case build > maxBuild:
		return nil, matchNewer
	case build < p.OlderEndedBelowBuild && !isLTSC(edition) && len(any) == 0:
		return nil, matchOlder
	}
	return nil, matchNone
}

func isLTSC(edition string) bool { return edition == "ltsc" || edition == "iot_ltsc" }
