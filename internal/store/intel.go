package store

import (
	"context"
	"errors"
	"time"
)

// ErrDeltaTooOld: the indicator changes since the asked version are no
// longer kept; the caller must take the full set.
var ErrDeltaTooOld = errors.New("indicator changes since that version are no longer kept")

// Indicator is one stored indicator of compromise. (Type, Value, Port) is
// its identity: the same indicator from several feeds is kept once, with
// every feed that listed it in Sources.
type Indicator struct {
	Type  string // ipv4, ipv6, domain, url, sha256, sha1, md5, process
	Value string
	Port  int // 0: any port
	// Sources are the feeds that listed it, sorted.
	Sources    []string
	Family     string
	Confidence int // 0–100; 0 when no feed said
	FirstSeen  time.Time
	LastSeen   time.Time
	// RefreshedAt is when a feed import last listed it; indicators not
	// refreshed for a while expire.
	RefreshedAt time.Time
	// ValidUntil is when the feeds say it stops being valid (a STIX
	// indicator's valid_until); zero when they give no end. It expires
	// then. Of several feeds, the latest end counts, none being the
	// latest of all; a feed listing it alone again sets a new end.
	ValidUntil time.Time
	// Version is the indicator-set version that added it.
	Version int64
	// Withdrawn, given to ImportIndicators, says the feeds in Sources
	// no longer list it (a STIX indicator re-published revoked): they
	// are taken from its sources, and it leaves the live set when no
	// source is left. Nothing happens when it is not stored.
	Withdrawn bool
}

// IndicatorImport is what one transaction of ImportIndicators changed.
type IndicatorImport struct {
	// Stored is how many indicators were written (new or refreshed).
	Stored int
	// Added is how many were new to the live set (or came back).
	Added int
	// Withdrawn is how many listings were taken back (Indicator.Withdrawn
	// for a source that listed it); Removed how many indicators left the
	// live set because no source was left.
	Withdrawn, Removed int
	// Version is the set's version after the import.
	Version int64
}

// IndicatorDelta is how the live set changed after a version.
type IndicatorDelta struct {
	From, To int64
	Added    []Indicator
	Removed  []Indicator
}

// Intel keeps threat-intelligence indicators and the versions of the
// live set devices are sent.
type Intel interface {
	// ImportIndicators runs feed in one transaction; feed calls add for
	// each indicator (or withdrawal). When feed or add fails nothing is
	// stored. The set's version increases when an indicator is added,
	// comes back or is removed, or its family or first source changes.
	ImportIndicators(ctx context.Context, now time.Time, feed func(add func(Indicator) error) error) (IndicatorImport, error)
	// ExpireIndicators removes from the live set the indicators no feed
	// has listed since staleBefore and those whose ValidUntil is at or
	// before now (a new version when any), and forgets removals older
	// than forgetBefore (deltas from before then are no longer possible).
	ExpireIndicators(ctx context.Context, now, staleBefore, forgetBefore time.Time) (removed int, version int64, err error)
	// IndicatorsVersion is the live set's version; 0 before any import.
	IndicatorsVersion(ctx context.Context) (int64, error)
	// LiveIndicators calls fn for every live indicator of the given
	// types (all types when empty) and returns the version read.
	LiveIndicators(ctx context.Context, types []string, fn func(Indicator) error) (int64, error)
	// IndicatorChanges returns the changes of the given types since
	// version from; ErrDeltaTooOld when they are no longer known.
	IndicatorChanges(ctx context.Context, from int64, types []string) (IndicatorDelta, error)
}

// IndicatorFamilies tells which malware family the authority's own
// threat intelligence gives one indicator, so a new infection is counted
// under that family and never under a name the device sent.
type IndicatorFamilies interface {
	// IndicatorFamily returns the family stored with the indicator
	// (type, value, port) — live or removed, since a device may still hold
	// an older bundle; "" when no feed named one. ErrNotFound when no such
	// indicator is stored.
	IndicatorFamily(ctx context.Context, typ, value string, port int) (string, error)
}

// Sighting is an outside report that an address talked to a botnet.
type Sighting struct {
	ID     int64
	IP     string
	SeenAt time.Time
	Family string
	// C2 is the command-and-control endpoint, "ip" or "ip:port"; empty
	// when the report does not name one.
	C2     string
	Source string
}

// Question asks one device whether its own history shows a sighting's
// C2 around a time.
type Question struct {
	ID         int64
	SightingID int64
	DeviceID   string
	C2         string
	Family     string
	SeenAt     time.Time
	Window     time.Duration
	CreatedAt  time.Time
	AnsweredAt time.Time // zero while open
	Confirmed  bool
	// Evidence is the device's matching evidence (JSON), when confirmed.
	Evidence string
}

// SightingImport is what one ImportSightings stored.
type SightingImport struct {
	// Sightings is how many new sightings were stored; Duplicates how
	// many were stored before (the same source, address, time, family
	// and C2), by an earlier import or earlier in this one.
	Sightings, Duplicates int
	// Questions is how many questions were opened; Devices the distinct
	// devices asked, sorted.
	Questions int
	Devices   []string
	// NotAsked counts the sightings without a C2 whose family has no
	// address in the live indicator set: no device could confirm them,
	// so none is asked.
	NotAsked int
}

// Sightings keeps outside sightings and the questions they raise.
//
// A sighting with a C2 asks each device about that endpoint. One without
// asks about the family (Question.C2 empty): a device answers from the
// addresses its indicator bundle lists for that family
// (protocol.MatchFamily), so such a question is opened only while the
// live set holds addresses of the family (compared with
// protocol.FamilyKey).
type Sightings interface {
	// ImportSightings runs feed in one transaction; feed calls add for
	// each sighting of a report. A sighting stored before is not stored
	// again, and a device already asked about it is not asked again;
	// every device that checked in from its address within window of its
	// time and was not asked yet is. When feed or add fails nothing is
	// stored.
	ImportSightings(ctx context.Context, now time.Time, window time.Duration, feed func(add func(Sighting) error) error) (SightingImport, error)
	// AddSighting is ImportSightings of one sighting: it returns the
	// sighting's id (the stored one's, for a duplicate) and the devices
	// it asked.
	AddSighting(ctx context.Context, s Sighting, window time.Duration, now time.Time) (int64, []string, error)
	// OpenQuestions lists a device's unanswered questions, oldest first.
	OpenQuestions(ctx context.Context, deviceID string) ([]Question, error)
	// AnswerQuestion records a device's answer to one of its questions;
	// ErrNotFound when the question is not that device's or is answered.
	AnswerQuestion(ctx context.Context, deviceID string, id int64, confirmed bool, evidence string, now time.Time) error
	// ConfirmedSince lists the device's questions confirmed at or after
	// since, newest first.
	ConfirmedSince(ctx context.Context, deviceID string, since time.Time) ([]Question, error)
}
