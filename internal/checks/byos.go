package checks

import (
	"context"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// OSCheck is a check's logic for one operating system.
type OSCheck interface {
	// Probes lists everything the logic may read.
	Probes() []source.Probe
	// Run judges the system read through src.
	Run(ctx context.Context, src source.Source, env Env) Result
}

// OSFunc makes an OSCheck of a probe list and a run function.
func OSFunc(probes func() []source.Probe, run func(context.Context, source.Source, Env) Result) OSCheck {
	return osFunc{probes, run}
}

type osFunc struct {
	probes func() []source.Probe
	run    func(context.Context, source.Source, Env) Result
}

func (f osFunc) Probes() []source.Probe { return f.probes() }
func (f osFunc) Run(ctx context.Context, src source.Source, env Env) Result {
	return f.run(ctx, src, env)
}

// ByOS is a Check made of one OSCheck per operating system, chosen by
// the OS the source reads (src.OS(), so snapshots of every platform run
// on any machine). An operating system without logic is not applicable.
type ByOS struct {
	CheckID                health.CheckID
	Linux, Windows, Darwin OSCheck
}

// For returns the logic for goos, or nil.
func (b ByOS) For(goos string) OSCheck {
	switch goos {
	case "linux":
		return b.Linux
	case "windows":
		return b.Windows
	case "darwin":
		return b.Darwin
	}
	return nil
}

// ID is the check's id.
func (b ByOS) ID() health.CheckID { return b.CheckID }

// Probes lists what the logic for goos reads.
func (b ByOS) Probes(goos string) []source.Probe {
	if c := b.For(goos); c != nil {
		return c.Probes()
	}
	return nil
}

// Run runs the logic for src.OS().
func (b ByOS) Run(ctx context.Context, src source.Source, env Env) Result {
	if c := b.For(src.OS()); c != nil {
		return c.Run(ctx, src, env)
	}
	return UnknownOS(b.CheckID, src.OS())
}

// UnknownOS is the result of a check on an operating system it has no
// logic for.
func UnknownOS(id health.CheckID, goos string) Result {
	return NotApplicable(
		i18n.T("herd does not run the "+string(id)+" check on this operating system ("+goos+").",
			"herd 不在此操作系统（"+goos+"）上运行 "+string(id)+" 检查。"),
		Evidence("herd-agent", health.SelfReported))
}
