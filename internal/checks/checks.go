// Package checks defines what a device check is, how its result is told
// to a person, and how a set of checks runs against one source. Each
// check lives in its own package below this one; package all lists them.
//
// # Trust
//
// Every result's evidence names who vouches for it, by one rule:
//
//   - product_reported: a security product's statement about itself —
//     Defender's Get-MpComputerStatus, ClamAV's clamdscan/clamscan and
//     database headers, and every Security Center row (root/SecurityCenter2
//     AntiVirusProduct and FirewallProduct, Defender's own included): each
//     product writes its row through the Security Center API and Windows
//     passes it on unchecked, so relaying it does not make it the OS's word.
//   - os_reported: what the operating system itself holds or observes —
//     its settings (registry, configuration files, the kernel's firewall
//     ruleset), its own tools' answers (netsh, fdesetup, lsblk, powercfg,
//     sw_vers), the list of running processes, and firmware variables as
//     the kernel shows them (efivarfs): these pass through the OS, which
//     could be lying if it is compromised.
//   - hardware_backed: only a value whose integrity hardware attests in a
//     way the OS cannot forge (a TPM quote); no check has such evidence
//     yet, so none uses it.
//   - self_reported: herd's own statement with no evidence behind it (a
//     check that stopped on an internal error, an OS herd does not judge).
package checks

import (
	"context"
	"fmt"
	"net/netip"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// Check is one of herd's device checks.
type Check interface {
	// ID is the check's stable id.
	ID() health.CheckID
	// Probes lists everything the check may read on goos, for
	// `herd-agent probes` and `herd-agent collect`.
	Probes(goos string) []source.Probe
	// Run reads the system through src and judges it. It never fails:
	// what it cannot decide is Unknown with a reason.
	Run(ctx context.Context, src source.Source, env Env) Result
}

// Env is what a check may need beyond the system itself.
type Env struct {
	// Indicators are the indicators of compromise the device holds; nil
	// when it holds none.
	Indicators Indicators
	// MaxSignatureAge is how old antivirus signatures may be; zero means
	// DefaultMaxSignatureAge.
	MaxSignatureAge time.Duration
	// MaxPendingAge is how long a security update may wait; zero means
	// DefaultMaxPendingAge.
	MaxPendingAge time.Duration
	// MaxLockDelay is the longest idle time before the screen locks;
	// zero means DefaultMaxLockDelay.
	MaxLockDelay time.Duration
	// State is what checks remember on this device between runs (the
	// agent keeps it in its state directory); nil on a snapshot, and
	// then every check judges only what it reads.
	State State
}

// Defaults for Env's zero values.
const (
	DefaultMaxSignatureAge = 7 * 24 * time.Hour
	DefaultMaxPendingAge   = 14 * 24 * time.Hour
	DefaultMaxLockDelay    = 15 * time.Minute
)

// SignatureAge returns the configured maximum signature age.
func (e Env) SignatureAge() time.Duration {
	if e.MaxSignatureAge > 0 {
		return e.MaxSignatureAge
	}
	return DefaultMaxSignatureAge
}

// PendingAge returns the configured maximum pending-update age.
func (e Env) PendingAge() time.Duration {
	if e.MaxPendingAge > 0 {
		return e.MaxPendingAge
	}
	return DefaultMaxPendingAge
}

// LockDelay returns the configured maximum screen-lock delay.
func (e Env) LockDelay() time.Duration {
	if e.MaxLockDelay > 0 {
		return e.MaxLockDelay
	}
	return DefaultMaxLockDelay
}

// Indicators is a set of indicators of compromise the malware check
// matches against.
type Indicators interface {
	// Version of the bundle the set came from; 0 for none.
	Version() int64
	// MatchAddr looks up a remote address and port.
	MatchAddr(addr netip.Addr, port uint16) (Match, bool)
	// MatchAddrPort looks up an address with exactly this port (an entry
	// naming that port; not one for any port, not a network).
	MatchAddrPort(addr netip.Addr, port uint16) (Match, bool)
	// MatchHost looks up an address whatever the port, networks included.
	MatchHost(addr netip.Addr) (Match, bool)
	// MatchDomain looks up a host name and its parent domains.
	MatchDomain(name string) (Match, bool)
	// MatchHash looks up a file's lowercase hex SHA-256.
	MatchHash(sha256 string) (Match, bool)
	// MatchProcess looks up a process name.
	MatchProcess(name string) (Match, bool)
}

// Match is an indicator that matched.
type Match struct {
	Type      string `json:"type"`      // ipv4, ipv6, sha256, process, …
	Indicator string `json:"indicator"` // the value that matched
	Source    string `json:"source"`    // the feed it came from
	Family    string `json:"family,omitempty"`
}

// Result is a check's judgement before it is told in one language.
type Result struct {
	Status      health.Status
	Reason      i18n.Text
	Evidence    health.Evidence
	Details     []string
	Remediation i18n.Text
}

// In tells r in lang as the wire result of check id.
func (r Result) In(id health.CheckID, lang i18n.Lang) health.Result {
	out := health.Result{
		ID:       id,
		Status:   r.Status,
		Reason:   r.Reason.In(lang),
		Evidence: r.Evidence,
		Details:  r.Details,
	}
	if r.Status == health.Fail {
		out.Remediation = r.Remediation.In(lang)
	}
	return out
}

// Pass, Fail, Unknown and NotApplicable make results.
func Pass(reason i18n.Text, ev health.Evidence) Result {
	return Result{Status: health.Pass, Reason: reason, Evidence: ev}
}

func Fail(reason i18n.Text, ev health.Evidence, fix i18n.Text) Result {
	return Result{Status: health.Fail, Reason: reason, Evidence: ev, Remediation: fix}
}

func Unknown(reason i18n.Text, ev health.Evidence) Result {
	return Result{Status: health.Unknown, Reason: reason, Evidence: ev}
}

func NotApplicable(reason i18n.Text, ev health.Evidence) Result {
	return Result{Status: health.NotApplicable, Reason: reason, Evidence: ev}
}

// Evidence makes an evidence value.
func Evidence(src string, trust health.Trust) health.Evidence {
	return health.Evidence{Source: src, Trust: trust}
}

// Outcome is one check's result with its id.
type Outcome struct {
	ID health.CheckID
	Result
}

// RunAll runs every check concurrently against src and returns the
// outcomes in the order of list. A check that panics is reported as
// unknown instead of taking the agent down.
func RunAll(ctx context.Context, src source.Source, list []Check, env Env) []Outcome {
	out := make([]Outcome, len(list))
	var wg sync.WaitGroup
	for i, c := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					out[i] = Outcome{ID: c.ID(), Result: Unknown(
						i18n.T(fmt.Sprintf("The check stopped with an internal error: %v", p),
							fmt.Sprintf("检查因内部错误而中止：%v", p)),
						Evidence("herd-agent", health.SelfReported))}
					out[i].Details = []string{string(debug.Stack())}
				}
			}()
			out[i] = Outcome{ID: c.ID(), Result: c.Run(ctx, src, env)}
		}()
	}
	wg.Wait()
	return out
}

// Render tells outcomes in lang.
func Render(outcomes []Outcome, lang i18n.Lang) []health.Result {
	res := make([]health.Result, len(outcomes))
	for i, o := range outcomes {
		res[i] = o.In(o.ID, lang)
	}
	return res
}

// ProbeLine is one thing read by one check, as `herd-agent probes` prints it.
type ProbeLine struct {
	Check health.CheckID
	source.Probe
}

// AllProbes lists every probe of every check for goos, sorted by check.
func AllProbes(list []Check, goos string) []ProbeLine {
	var out []ProbeLine
	for _, c := range list {
		for _, p := range c.Probes(goos) {
			out = append(out, ProbeLine{Check: c.ID(), Probe: p})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Check < out[j].Check })
	return out
}

// Count writes a number with an English noun in the right form:
// Count(1, "day", "days") is "1 day", Count(3, "day", "days") "3 days".
func Count(n int, one, many string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Collect records what the checks in list read through src, as
// `herd-agent collect` does: every check runs through a Recorder (so what
// a check reads is kept as it reads it, a file's head or some stanzas),
// then every probe no check reached on this run is read too, so support
// sees it. Personal data is replaced as source.NewRecorder describes, and
// registry keys keep only the values the probes name.
func Collect(ctx context.Context, src source.Source, list []Check, env Env) *source.Snapshot {
	var probes []source.Probe
	for _, c := range list {
		probes = append(probes, c.Probes(src.OS())...)
	}
	rec := source.NewRecorder(src, source.RecorderOptions{Probes: probes})
	// The snapshot replays without the device's state, so the checks
	// record without it too, and do not change it.
	env.State = nil
	RunAll(ctx, rec, list, env)
	for _, p := range probes {
		rec.ReadProbe(ctx, p)
	}
	return rec.Snapshot()
}
