// Package health holds herd's public wire types: the check ids, statuses
// and trust levels of a device check, the result of one check, and the
// Statement of Health a device sends to its health authority.
//
// These names are a contract shared by the agent, the authority, relying
// parties and scripts; they never change with the user's language.
package health

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// CheckID names one device check. The set is fixed by herd's design.
type CheckID string

// The ten checks every agent runs.
const (
	Firewall            CheckID = "firewall"
	Antivirus           CheckID = "antivirus"
	AntivirusSignatures CheckID = "antivirus_signatures"
	AutoUpdate          CheckID = "auto_update"
	PendingUpdates      CheckID = "pending_updates"
	OSSupport           CheckID = "os_support"
	DiskEncryption      CheckID = "disk_encryption"
	ScreenLock          CheckID = "screen_lock"
	SecureBoot          CheckID = "secure_boot"
	Malware             CheckID = "malware"
)

// CheckIDs lists every check id in the order they are shown to people.
var CheckIDs = []CheckID{
	Firewall, Antivirus, AntivirusSignatures, AutoUpdate, PendingUpdates,
	OSSupport, DiskEncryption, ScreenLock, SecureBoot, Malware,
}

// Valid reports whether id is one of herd's checks.
func (id CheckID) Valid() bool {
	for _, c := range CheckIDs {
		if c == id {
			return true
		}
	}
	return false
}

// Status is the outcome of one check.
type Status string

const (
	// Pass: the device meets the check.
	Pass Status = "pass"
	// Fail: the device was seen not to meet the check.
	Fail Status = "fail"
	// Unknown: the state could not be determined (a missing tool, no
	// permission, an unfamiliar product). Never a guessed fail.
	Unknown Status = "unknown"
	// NotApplicable: the check makes no sense on this device.
	NotApplicable Status = "not_applicable"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case Pass, Fail, Unknown, NotApplicable:
		return true
	}
	return false
}

// Trust says how much a piece of evidence can be believed.
type Trust string

const (
	OSReported      Trust = "os_reported"
	ProductReported Trust = "product_reported"
	HardwareBacked  Trust = "hardware_backed"
	SelfReported    Trust = "self_reported"
)

// Valid reports whether t is one of the trust levels.
func (t Trust) Valid() bool {
	switch t {
	case OSReported, ProductReported, HardwareBacked, SelfReported:
		return true
	}
	return false
}

// Evidence says where a result came from. Source and Trust are always set;
// Facts holds further values a person or an analyst may want to see
// (versions, dates, product names), never file contents or personal data.
type Evidence struct {
	Source string         `json:"source"`
	Trust  Trust          `json:"trust"`
	Facts  map[string]any `json:"-"`
}

// MarshalJSON flattens Facts beside source and trust.
func (e Evidence) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(e.Facts)+2)
	for k, v := range e.Facts {
		m[k] = v
	}
	m["source"] = e.Source
	m["trust"] = e.Trust
	return json.Marshal(m)
}

// UnmarshalJSON reads source and trust and keeps every other key in Facts.
func (e *Evidence) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*e = Evidence{}
	if s, ok := m["source"].(string); ok {
		e.Source = s
	}
	if s, ok := m["trust"].(string); ok {
		e.Trust = Trust(s)
	}
	delete(m, "source")
	delete(m, "trust")
	if len(m) > 0 {
		e.Facts = m
	}
	return nil
}

// Result is the outcome of one check, as shown to people and sent to the
// authority. Reason and Remediation are in the language that was asked for.
type Result struct {
	ID          CheckID  `json:"id"`
	Status      Status   `json:"status"`
	Reason      string   `json:"reason"`
	Evidence    Evidence `json:"evidence"`
	Details     []string `json:"details,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
}

// Validate reports the first thing wrong with r, or nil.
func (r Result) Validate() error {
	if !r.ID.Valid() {
		return fmt.Errorf("unknown check id %q", r.ID)
	}
	if !r.Status.Valid() {
		return fmt.Errorf("check %s: unknown status %q", r.ID, r.Status)
	}
	if r.Evidence.Trust != "" && !r.Evidence.Trust.Valid() {
		return fmt.Errorf("check %s: unknown trust level %q", r.ID, r.Evidence.Trust)
	}
	return nil
}

// Report is what `herd-agent check --json` prints.
type Report struct {
	OS          string    `json:"os"`
	OSVersion   string    `json:"os_version,omitempty"`
	CollectedAt time.Time `json:"collected_at"`
	Language    string    `json:"lang"`
	Checks      []Result  `json:"checks"`
}

// Statement is a Statement of Health: what a device says about itself at
// one moment, signed with its device key and bound to a nonce the
// authority issued. It carries no personal data.
type Statement struct {
	// Version of the statement format; currently 1.
	Version int `json:"version"`
	// DeviceID is the id the authority gave at enrollment.
	DeviceID string `json:"device_id"`
	// Nonce is the single-use value from the challenge endpoint.
	Nonce string `json:"nonce"`
	// IssuedAt is when the device made the statement.
	IssuedAt time.Time `json:"issued_at"`
	// CollectedAt is when the checks read the system.
	CollectedAt time.Time `json:"collected_at"`
	// OS is Go's name for the operating system (linux, windows, darwin).
	OS string `json:"os"`
	// OSVersion is the release, e.g. "debian 12" or "windows 10.0.22631".
	OSVersion string `json:"os_version,omitempty"`
	// AgentVersion is the herd-agent build.
	AgentVersion string `json:"agent_version,omitempty"`
	// IndicatorsVersion is the version of the indicator bundle the
	// device holds; 0 when it holds none.
	IndicatorsVersion int64 `json:"indicators_version"`
	// Audiences are the relying parties the device wants certificates for.
	Audiences []string `json:"audiences,omitempty"`
	// Checks are the results, in English.
	Checks []Result `json:"checks"`
	// Sightings answer the authority's questions about outside sightings.
	Sightings []SightingAnswer `json:"sightings,omitempty"`
}

// SightingAnswer says whether the device's own history of remote
// endpoints shows the C2 a question named around its time. Only the
// matching endpoint and when it was seen leave the device.
type SightingAnswer struct {
	QuestionID int64     `json:"question_id"`
	Seen       bool      `json:"seen"`
	Endpoint   string    `json:"endpoint,omitempty"`
	SeenAt     time.Time `json:"seen_at,omitzero"`
}

// Validate reports the first thing wrong with s, or nil.
func (s *Statement) Validate() error {
	switch {
	case s.Version != 1:
		return fmt.Errorf("unsupported statement version %d", s.Version)
	case s.DeviceID == "":
		return fmt.Errorf("device_id is missing")
	case s.Nonce == "":
		return fmt.Errorf("nonce is missing")
	case s.IssuedAt.IsZero():
		return fmt.Errorf("issued_at is missing")
	case s.OS == "":
		return fmt.Errorf("os is missing")
	case s.OS != "linux" && s.OS != "windows" && s.OS != "darwin":
		return fmt.Errorf("os %.40q is not one of linux, windows, darwin", s.OS)
	case len(s.Audiences) > 32:
		return fmt.Errorf("too many audiences (%d, at most 32)", len(s.Audiences))
	case len(s.Checks) > 64:
		return fmt.Errorf("too many checks (%d)", len(s.Checks))
	case len(s.Sightings) > 64:
		return fmt.Errorf("too many sighting answers (%d)", len(s.Sightings))
	}
	if err := label("os_version", s.OSVersion); err != nil {
		return err
	}
	if err := label("agent_version", s.AgentVersion); err != nil {
		return err
	}
	seen := map[CheckID]bool{}
	for _, r := range s.Checks {
		if err := r.Validate(); err != nil {
			return err
		}
		if seen[r.ID] {
			return fmt.Errorf("check %s listed twice", r.ID)
		}
		seen[r.ID] = true
	}
	for _, a := range s.Audiences {
		if a == "" || len(a) > 256 {
			return fmt.Errorf("audience must be 1 to 256 characters")
		}
	}
	return nil
}

// maxLabel is the longest os_version or agent_version a statement may
// carry.
const maxLabel = 64

// label checks a short descriptive field: at most maxLabel bytes of
// printable UTF-8 on one line. (The authority still never shares it as
// it is: it maps it onto its own vocabulary of releases and versions.)
func label(name, v string) error {
	if len(v) > maxLabel {
		return fmt.Errorf("%s is longer than %d bytes", name, maxLabel)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s is not valid UTF-8", name)
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%s holds a control or non-printing character (%U)", name, r)
		}
	}
	return nil
}

// Tier is an attestation result tier, as in the EAR (Entity Attestation
// Result) format.
type Tier string

const (
	// Affirming: the device meets the policy.
	Affirming Tier = "affirming"
	// Warning: a required check fails or cannot be read.
	Warning Tier = "warning"
	// Contraindicated: the device is infected or compromised.
	Contraindicated Tier = "contraindicated"
	// None: nothing could be appraised.
	None Tier = "none"
)

// Valid reports whether t is one of the four tiers.
func (t Tier) Valid() bool {
	switch t {
	case Affirming, Warning, Contraindicated, None:
		return true
	}
	return false
}

// Finding is one check that lowered, or could lower, a device's verdict:
// a failing check, or a required check that could not be read.
type Finding struct {
	ID     CheckID `json:"id"`
	Status Status  `json:"status"`
	Trust  Trust   `json:"trust,omitempty"`
}
