package store

import (
	"context"
	"time"

	"github.com/herd-health/herd/health"
)

// Population statistics (kept incrementally by RecordCheckin).
//
// Devices, not check-ins: every aggregate below counts a device at most
// once per day (UTC) and table, with the state of its latest check-in that
// day. When a device checks in again the same day, RecordCheckin takes the
// device out of the cells its earlier check-in counted it in and puts it
// in the new ones, so a day's cells are prevalence (how many devices were
// in each state), not traffic. A check-in received earlier than the one
// the aggregates already hold for the device (a clock step, a replayed
// write) changes no aggregate.

// Segment is one population segment: the OS family (Go's name), the OS
// release, the agent build and, when the operator configured a GeoIP
// database, the ISO 3166-1 country code of the check-in's source address.
type Segment struct {
	OS        string `json:"os,omitempty"`
	OSVersion string `json:"os_version,omitempty"`
	Agent     string `json:"agent,omitempty"`
	Country   string `json:"country,omitempty"`
}

// AggregateKind names one daily aggregate table.
type AggregateKind string

const (
	// AggVerdict counts devices by their latest verdict that day; the
	// key is the tier.
	AggVerdict AggregateKind = "verdict"
	// AggFailing counts devices by failing check (a device failing three
	// checks counts once under each); the key is the check id.
	AggFailing AggregateKind = "failing"
	// AggInfection counts new infections: devices that turned
	// contraindicated when their previous verdict was not, each at most
	// once a day (turning contraindicated again the same day is the same
	// episode; on a later day it is a new one and counts again); the key
	// is the malware family ("unknown" when the evidence names none).
	AggInfection AggregateKind = "infection"
)

// Dimension is the segment field an aggregate is grouped by.
type Dimension string

const (
	DimNone      Dimension = ""           // whole population
	DimOS        Dimension = "os"         // OS family
	DimOSVersion Dimension = "os_version" // OS release
	DimAgent     Dimension = "agent"      // agent build
	DimCountry   Dimension = "country"    // country code ("" when unknown)
	DimAll       Dimension = "all"        // every segment field
)

// Valid reports whether d is one of the dimensions above.
func (d Dimension) Valid() bool {
	switch d {
	case DimNone, DimOS, DimOSVersion, DimAgent, DimCountry, DimAll:
		return true
	}
	return false
}

// UnknownFamily is the family of an infection whose evidence names none.
const UnknownFamily = "unknown"

// AggregateCount is one cell: a day, a segment (only the fields of the
// dimension asked for are set), a key (verdict, check id or family) and a
// count of devices.
type AggregateCount struct {
	Day     time.Time // midnight UTC
	Segment Segment
	Key     string
	Count   int64
}

// FailMask is a set of failing checks: bit i stands for
// health.CheckIDs[i].
type FailMask uint16

// FailMaskOf is the set of checks findings says fail.
func FailMaskOf(findings []health.Finding) FailMask {
	var m FailMask
	for _, f := range findings {
		if f.Status != health.Fail {
			continue
		}
		for i, id := range health.CheckIDs {
			if id == f.ID {
				m |= 1 << i
			}
		}
	}
	return m
}

// Has reports whether id is in m.
func (m FailMask) Has(id health.CheckID) bool {
	for i, c := range health.CheckIDs {
		if c == id {
			return m&(1<<i) != 0
		}
	}
	return false
}

// Checks lists the ids in m, in health.CheckIDs order.
func (m FailMask) Checks() []health.CheckID {
	var out []health.CheckID
	for i, c := range health.CheckIDs {
		if m&(1<<i) != 0 {
			out = append(out, c)
		}
	}
	return out
}

// CohortDevice is a device in an at-risk cohort, as operators list them.
type CohortDevice struct {
	ID          string
	OS          string
	LastSeen    time.Time
	LastVerdict health.Tier
	Failing     FailMask
	Segment     Segment // as of its latest check-in
}

// Alert is an outbreak alert, kept so operators see it once it fired.
// Key identifies it (detector, family, segment and day), so running the
// detectors again for a day stores each alert once.
type Alert struct {
	Key       string
	Day       time.Time // the day the statistic crossed the threshold
	Detector  string
	Family    string
	Segment   string
	CreatedAt time.Time
	// Body is the alert as JSON (series, baseline, statistic, threshold).
	Body []byte
}

// PopulationStats is what population statistics, outbreak detection and
// exports read and keep.
type PopulationStats interface {
	// Aggregate returns the cells of one table from from's day to to's
	// day (UTC, inclusive), summed over the segment fields dim leaves
	// out, ordered by day, segment, key; cells whose count is zero are
	// left out.
	Aggregate(ctx context.Context, kind AggregateKind, dim Dimension, from, to time.Time) ([]AggregateCount, error)
	// FailMasks counts devices (that have checked in) by the failing
	// set of their latest check-in: at most 1024 rows, whatever the
	// population.
	FailMasks(ctx context.Context) (map[FailMask]int64, error)
	// DevicesWithFailMask lists devices whose latest failing set is
	// exactly m, ordered by id, after the id afterID, at most limit.
	DevicesWithFailMask(ctx context.Context, m FailMask, afterID string, limit int) ([]CohortDevice, error)
	// SaveAlert stores a; it reports false (and changes nothing) when an
	// alert with its key exists.
	SaveAlert(ctx context.Context, a Alert) (bool, error)
	// Alerts lists alerts whose day is in [from, to], newest day first.
	Alerts(ctx context.Context, from, to time.Time) ([]Alert, error)
	// AddPartner stores a sharing partner's token hash (SHA-256 of the
	// token; the token itself is never stored); ErrConflict when the
	// hash or name exists.
	AddPartner(ctx context.Context, name string, tokenHash []byte, at time.Time) error
	// PartnerByTokenHash returns the partner's name; ErrNotFound when
	// no partner has that token.
	PartnerByTokenHash(ctx context.Context, tokenHash []byte) (string, error)
	// Partners lists the sharing partners by name.
	Partners(ctx context.Context) ([]Partner, error)
	// RemovePartner deletes the named partner: its token stops working
	// at once. ErrNotFound when there is no such partner.
	RemovePartner(ctx context.Context, name string) error
}

// Partner is a sharing partner who reads the TAXII API (its token is
// kept only as a hash and never listed).
type Partner struct {
	Name      string
	CreatedAt time.Time
}
