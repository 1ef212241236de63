// Package all lists herd's device checks, in the order DESIGN.md gives
// them. It is the one place a new check is added.
package all

import (
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/checks/antivirus"
	"github.com/herd-health/herd/internal/checks/diskencryption"
	"github.com/herd-health/herd/internal/checks/firewall"
	"github.com/herd-health/herd/internal/checks/malware"
	"github.com/herd-health/herd/internal/checks/ossupport"
	"github.com/herd-health/herd/internal/checks/screenlock"
	"github.com/herd-health/herd/internal/checks/secureboot"
	"github.com/herd-health/herd/internal/checks/updates"
)

// Checks returns a fresh instance of every check.
func Checks() []checks.Check {
	return []checks.Check{
		firewall.New(),
		antivirus.NewAntivirus(),
		antivirus.NewSignatures(),
		updates.NewAutoUpdate(),
		updates.NewPending(),
		ossupport.New(),
		diskencryption.New(),
		screenlock.New(),
		secureboot.New(),
		malware.New(),
	}
}
