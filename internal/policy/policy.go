// Package policy appraises a Statement of Health: it decides which checks
// a device must pass and maps the results to an EAR tier, with rules
// written as CEL expressions in a versioned policy file.
//
// Evaluate is pure: the same policy, statement and time give the same
// appraisal. The package does no I/O beyond reading a policy file.
package policy

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/herd-health/herd/health"
)

//go:embed default.json
var defaultPolicy []byte

// File is a policy as written in JSON.
type File struct {
	// ID names the policy; with Version it makes ear.appraisal-policy-id.
	ID string `json:"id"`
	// Version increases with every change.
	Version int `json:"version"`
	// Description says in words what the policy asks for.
	Description string `json:"description,omitempty"`
	// Required maps a check id to a CEL expression over `device` (os,
	// os_version, agent_version, indicators_version) that says whether
	// the check is required. A check not listed is not required.
	Required map[health.CheckID]string `json:"required"`
	// Tiers are tried in order; the first whose `when` holds is the
	// verdict. `when` is a CEL expression over `device` and `checks`, a
	// list of {id, status, trust, source, required}: source is the
	// result's evidence source, e.g. "sighting" for a malware failure
	// the authority added because the device's own history confirmed an
	// outside sighting (trust "self_reported"), or the command or file a
	// check read; it is "" for a required check the device did not
	// report.
	Tiers []TierRule `json:"tiers"`
}

// TierRule is one rule of File.Tiers.
type TierRule struct {
	Tier health.Tier `json:"tier"`
	When string      `json:"when"`
}

// Policy is a compiled policy, safe for concurrent use.
type Policy struct {
	file     File
	required map[health.CheckID]cel.Program
	tiers    []compiledTier
	// reqCache maps a deviceKey to its requiredSet (requiredFor).
	reqCache  sync.Map
	reqCached atomic.Int64
	// tierCache maps a tierKey to the tier the rules chose (tierFor).
	tierCache  sync.Map
	tierCached atomic.Int64
}

type compiledTier struct {
	tier health.Tier
	prg  cel.Program
}

// Appraisal is the outcome of evaluating a statement.
type Appraisal struct {
	Tier     health.Tier
	PolicyID string
	// Findings are the failing checks and the required checks that could
	// not be read.
	Findings []health.Finding
	// Required lists the checks the policy required of this device.
	Required []health.CheckID
}

// Default returns herd's shipped default policy.
func Default() *Policy {
	p, err := Parse(defaultPolicy)
	if err != nil {
		panic("policy: the shipped default policy does not compile: " + err.Error())
	}
	return p
}

// DefaultJSON returns the shipped default policy file.
func DefaultJSON() []byte { return append([]byte(nil), defaultPolicy...) }

// Load reads and compiles a policy file.
func Load(name string) (*Policy, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	p, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

var env = mustEnv()

func mustEnv() *cel.Env {
	e, err := cel.NewEnv(
		cel.Variable("device", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("checks", cel.ListType(cel.MapType(cel.StringType, cel.DynType))),
	)
	if err != nil {
		panic(err)
	}
	return e
}

func compileBool(expr string) (cel.Program, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if ast.OutputType() != cel.BoolType {
		return nil, fmt.Errorf("must be a boolean expression, is %s", ast.OutputType())
	}
	return env.Program(ast, cel.EvalOptions(cel.OptOptimize))
}

// Parse compiles a policy from JSON.
func Parse(b []byte) (*Policy, error) {
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if f.ID == "" || f.Version <= 0 {
		return nil, errors.New("policy: id and a positive version are required")
	}
	if len(f.Tiers) == 0 {
		return nil, errors.New("policy: at least one tier rule is required")
	}
	p := &Policy{file: f, required: map[health.CheckID]cel.Program{}}
	for id, expr := range f.Required {
		if !id.Valid() {
			return nil, fmt.Errorf("policy: required: unknown check %q", id)
		}
		prg, err := compileBool(expr)
		if err != nil {
			return nil, fmt.Errorf("policy: required[%s]: %w", id, err)
		}
		p.required[id] = prg
	}
	for i, t := range f.Tiers {
		if !t.Tier.Valid() {
			return nil, fmt.Errorf("policy: tiers[%d]: %q is not a tier", i, t.Tier)
		}
		prg, err := compileBool(t.When)
		if err != nil {
			return nil, fmt.Errorf("policy: tiers[%d] (%s): %w", i, t.Tier, err)
		}
		p.tiers = append(p.tiers, compiledTier{t.Tier, prg})
	}
	return p, nil
}

// ID is the policy's ear.appraisal-policy-id: "id@version".
func (p *Policy) ID() string { return fmt.Sprintf("%s@%d", p.file.ID, p.file.Version) }

// File returns the policy as written.
func (p *Policy) File() File { return p.file }

// Evaluate appraises a statement. now is when the appraisal happens; a
// statement collected more than a day before now is appraised as none.
func (p *Policy) Evaluate(s *health.Statement, now time.Time) (Appraisal, error) {
	a := Appraisal{PolicyID: p.ID()}
	req, err := p.requiredFor(s)
	if err != nil {
		return a, fmt.Errorf("policy %s: %w", a.PolicyID, err)
	}
	required := req.set
	a.Required = slices.Clone(req.ids)

	if !s.CollectedAt.IsZero() && now.Sub(s.CollectedAt) > 24*time.Hour {
		a.Tier = health.None
		return a, nil
	}

	for _, r := range s.Checks {
		if r.Status == health.Fail || (r.Status == health.Unknown && required[r.ID]) {
			a.Findings = append(a.Findings, health.Finding{ID: r.ID, Status: r.Status, Trust: r.Evidence.Trust})
		}
	}
	// A required check the device did not report at all is unknown.
	for _, id := range a.Required {
		if !reported(s, id) {
			a.Findings = append(a.Findings, health.Finding{ID: id, Status: health.Unknown})
		}
	}
	tier, err := p.tierFor(s, required, a.Required)
	if err != nil {
		return a, fmt.Errorf("policy %s: %w", a.PolicyID, err)
	}
	a.Tier = tier
	return a, nil
}

// tierFor runs the tier rules over `device` and `checks`, or returns
// their remembered outcome. The rules read nothing else, and CEL has no
// clock or randomness, so the tier is a function of the statement's
// device and of each check's id, status, trust, source and whether it
// is required: that is the key, and the cache keeps Evaluate pure.
func (p *Policy) tierFor(s *health.Statement, required map[health.CheckID]bool, requiredIDs []health.CheckID) (health.Tier, error) {
	key := tierKey(s, required, requiredIDs)
	if v, ok := p.tierCache.Load(key); ok {
		return v.(health.Tier), nil
	}
	list := make([]any, 0, len(s.Checks)+len(requiredIDs))
	for _, r := range s.Checks {
		list = append(list, map[string]any{
			"id":       string(r.ID),
			"status":   string(r.Status),
			"trust":    string(r.Evidence.Trust),
			"source":   r.Evidence.Source,
			"required": required[r.ID],
		})
	}
	for _, id := range requiredIDs {
		if !reported(s, id) {
			list = append(list, map[string]any{"id": string(id), "status": string(health.Unknown), "trust": "", "source": "", "required": true})
		}
	}
	vars := deviceVars(s)
	vars["checks"] = list
	tier := health.None
	for _, t := range p.tiers {
		out, _, err := t.prg.Eval(vars)
		if err != nil {
			return "", fmt.Errorf("tier %s: %w", t.tier, err)
		}
		if out.Value() == true {
			tier = t.tier
			break
		}
	}
	if p.tierCached.Load() < maxTierCache {
		if _, loaded := p.tierCache.LoadOrStore(key, tier); !loaded {
			p.tierCached.Add(1)
		}
	}
	return tier, nil
}

// maxTierCache bounds the remembered inputs of the tier rules; past it,
// they are evaluated each time.
const maxTierCache = 16384

// tierKey writes down everything the tier rules can read, each string
// prefixed by its length so that no two inputs share a key.
func tierKey(s *health.Statement, required map[health.CheckID]bool, requiredIDs []health.CheckID) string {
	b := make([]byte, 0, 64+32*len(s.Checks))
	str := func(v string) {
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, ':')
		b = append(b, v...)
	}
	str(s.OS)
	str(s.OSVersion)
	str(s.AgentVersion)
	b = strconv.AppendInt(b, s.IndicatorsVersion, 10)
	b = append(b, ';')
	for _, r := range s.Checks {
		str(string(r.ID))
		str(string(r.Status))
		str(string(r.Evidence.Trust))
		str(r.Evidence.Source)
		if required[r.ID] {
			b = append(b, 'R')
		} else {
			b = append(b, '-')
		}
	}
	b = append(b, ';')
	for _, id := range requiredIDs {
		if !reported(s, id) {
			str(string(id))
		}
	}
	return string(b)
}

// deviceVars are the CEL variables with `device` set from s.
func deviceVars(s *health.Statement) map[string]any {
	return map[string]any{"device": map[string]any{
		"os":                 s.OS,
		"os_version":         s.OSVersion,
		"agent_version":      s.AgentVersion,
		"indicators_version": s.IndicatorsVersion,
	}}
}

// requiredSet is the outcome of the `required` rules for one device.
type requiredSet struct {
	ids []health.CheckID // sorted
	set map[health.CheckID]bool
}

// deviceKey is everything the `required` rules can read: `device`.
type deviceKey struct {
	os, osVersion, agent string
	indicators           int64
}

// maxRequiredCache bounds the remembered devices' shapes; past it, rules
// are evaluated each time.
const maxRequiredCache = 4096

// requiredFor evaluates the `required` rules for s's device, or returns
// their remembered outcome: they read only `device`, so the outcome is a
// function of its four fields, and the cache keeps Evaluate pure.
func (p *Policy) requiredFor(s *health.Statement) (requiredSet, error) {
	k := deviceKey{s.OS, s.OSVersion, s.AgentVersion, s.IndicatorsVersion}
	if v, ok := p.reqCache.Load(k); ok {
		return v.(requiredSet), nil
	}
	vars := deviceVars(s)
	r := requiredSet{set: map[health.CheckID]bool{}}
	for id, prg := range p.required {
		out, _, err := prg.Eval(vars)
		if err != nil {
			return r, fmt.Errorf("required[%s]: %w", id, err)
		}
		if out.Value() == true {
			r.set[id] = true
			r.ids = append(r.ids, id)
		}
	}
	sort.Slice(r.ids, func(i, j int) bool { return r.ids[i] < r.ids[j] })
	if p.reqCached.Load() < maxRequiredCache {
		if _, loaded := p.reqCache.LoadOrStore(k, r); !loaded {
			p.reqCached.Add(1)
		}
	}
	return r, nil
}

func reported(s *health.Statement, id health.CheckID) bool {
	for _, r := range s.Checks {
		if r.ID == id {
			return true
		}
	}
	return false
}
