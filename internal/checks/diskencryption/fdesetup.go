package diskencryption

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// FileVault is what `fdesetup status` says.
type FileVault struct {
	On          bool
	Encrypting  bool    // "Encryption in progress"
	Decrypting  bool    // "Decryption in progress"
	Pending     bool    // "Encryption in progress: Pending" (waits for power)
	Percent     float64 // of the conversion in progress; -1 when not given
	Deferred    bool    // "Deferred enablement appears to be active …" or "will be enabled after the next restart"
	MasterKey   bool    // "FileVault master keychain appears to be installed."
	Unfamiliar  []string
	DeferredFor string // the user named in the deferral line, if any
}

var (
	percentRE  = regexp.MustCompile(`(?i)percent completed\s*=\s*([0-9]+(?:\.[0-9]+)?)`)
	deferredRE = regexp.MustCompile(`(?i)^deferred enablement appears to be active(?: for user '?([^'.]*)'?)?\.?$`)
)

// ParseFdesetupStatus parses the output of `fdesetup status`. The first
// line must say whether FileVault is On or Off; further lines add the
// state of a conversion or a deferral. Lines it does not know are kept in
// Unfamiliar.
func ParseFdesetupStatus(text string) (FileVault, error) {
	fv := FileVault{Percent: -1}
	first := true
	for _, raw := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		l := strings.TrimSpace(raw)
		if l == "" {
			continue
		}
		ll := strings.ToLower(l)
		if first {
			first = false
			switch {
			case strings.HasPrefix(ll, "filevault is on"):
				fv.On = true
			case strings.HasPrefix(ll, "filevault is off"):
				if strings.Contains(ll, "will be enabled") {
					fv.Deferred = true
				}
			default:
				return fv, errors.New("fdesetup status: first line does not say whether FileVault is On or Off")
			}
			continue
		}
		switch {
		case strings.HasPrefix(ll, "encryption in progress"):
			fv.Encrypting = true
			if strings.Contains(ll, "pending") {
				fv.Pending = true
			}
		case strings.HasPrefix(ll, "decryption in progress"):
			fv.Decrypting = true
		case deferredRE.MatchString(l):
			fv.Deferred = true
			fv.DeferredFor = deferredRE.FindStringSubmatch(l)[1]
		case strings.HasPrefix(ll, "filevault master keychain appears to be installed"):
			fv.MasterKey = true
		default:
			fv.Unfamiliar = append(fv.Unfamiliar, l)
		}
		if m := percentRE.FindStringSubmatch(l); m != nil {
			if p, err := strconv.ParseFloat(m[1], 64); err == nil {
				fv.Percent = p
			}
		}
	}
	if first {
		return fv, errors.New("fdesetup status: empty output")
	}
	return fv, nil
}
