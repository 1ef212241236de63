package screenlock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParseGVariant reads one value as `gsettings get` prints it: GVariant
// text such as "true", "uint32 300", "@u 300", "int32 -1" or "'text'".
// It returns the value without its type annotation or string quotes.
func ParseGVariant(text string) (string, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return "", errors.New("gsettings: empty value")
	}
	if strings.HasPrefix(s, "@") {
		// "@u 300": an explicit type before the value.
		if _, v, ok := strings.Cut(s, " "); ok {
			s = strings.TrimSpace(v)
		} else {
			return "", fmt.Errorf("gsettings: value %q has a type but no value", text)
		}
	}
	for _, p := range []string{"uint32 ", "int32 ", "uint64 ", "int64 ", "uint16 ", "int16 ", "byte ", "double "} {
		if strings.HasPrefix(s, p) {
			s = strings.TrimSpace(s[len(p):])
			break
		}
	}
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		s = s[1 : len(s)-1]
	}
	if strings.ContainsAny(s, "\n") {
		return "", fmt.Errorf("gsettings: value %q spans lines", text)
	}
	return s, nil
}

// GVariantUint reads an unsigned integer GVariant (idle-delay, lock-delay).
func GVariantUint(text string) (uint64, error) {
	v, err := ParseGVariant(text)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("gsettings: %q is not an unsigned number", v)
	}
	return n, nil
}

// GVariantBool reads a boolean GVariant.
func GVariantBool(text string) (bool, error) {
	v, err := ParseGVariant(text)
	if err != nil {
		return false, err
	}
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("gsettings: %q is not a boolean", v)
}

// INI is a parsed KDE-style configuration file: section → key → value.
type INI map[string]map[string]string

// ParseINI reads a KDE configuration file (kscreenlockerrc). Keys may
// carry a locale or "[$i]" marker, which is dropped; later values win.
func ParseINI(r io.Reader) (INI, error) {
	ini := INI{}
	sec := ""
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if l[0] == '[' {
			end := strings.IndexByte(l, ']')
			if end < 0 {
				return ini, fmt.Errorf("ini: bad section line %q", l)
			}
			// "[Daemon][$i]" names section Daemon with an immutability marker.
			sec = l[1:end]
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if i := strings.IndexByte(k, '['); i > 0 {
			k = k[:i]
		}
		if ini[sec] == nil {
			ini[sec] = map[string]string{}
		}
		ini[sec][k] = strings.TrimSpace(v)
	}
	return ini, sc.Err()
}

// KDELock is the automatic screen lock of Plasma's kscreenlocker.
type KDELock struct {
	Autolock     bool
	Timeout      time.Duration // idle time before locking; 0 = never
	LockGrace    time.Duration // seconds after the screen blanks before a password is needed
	LockOnResume bool
}

// KDEDefaults are kscreenlocker's defaults when kscreenlockerrc does not
// set a key: lock after 5 minutes, 5 seconds' grace, lock on resume.
var KDEDefaults = KDELock{Autolock: true, Timeout: 5 * time.Minute, LockGrace: 5 * time.Second, LockOnResume: true}

// ParseKScreenLockerRC reads kscreenlockerrc's [Daemon] section over the
// defaults: Autolock, Timeout (minutes), LockGrace (seconds), LockOnResume.
func ParseKScreenLockerRC(r io.Reader) (KDELock, error) {
	k := KDEDefaults
	ini, err := ParseINI(r)
	if err != nil {
		return k, err
	}
	d := ini["Daemon"]
	parseBool := func(key string, dst *bool) error {
		if v, ok := d[key]; ok {
			b, err := strconv.ParseBool(strings.ToLower(v))
			if err != nil {
				return fmt.Errorf("kscreenlockerrc: %s=%q is not a boolean", key, v)
			}
			*dst = b
		}
		return nil
	}
	parseNum := func(key string, unit time.Duration, dst *time.Duration) error {
		if v, ok := d[key]; ok {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return fmt.Errorf("kscreenlockerrc: %s=%q is not a number", key, v)
			}
			*dst = time.Duration(n) * unit
		}
		return nil
	}
	if err := errors.Join(parseBool("Autolock", &k.Autolock), parseBool("LockOnResume", &k.LockOnResume),
		parseNum("Timeout", time.Minute, &k.Timeout), parseNum("LockGrace", time.Second, &k.LockGrace)); err != nil {
		return k, err
	}
	return k, nil
}

// Session is a login session as loginctl shows it.
type Session struct {
	ID, User, Type, Class, Desktop, State string
	Active, Remote                        bool
}

// Graphical reports whether the session has a display.
func (s Session) Graphical() bool {
	return s.Type == "x11" || s.Type == "wayland" || s.Type == "mir"
}

var (
	sessionIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	uidRE       = regexp.MustCompile(`^[0-9]+$`)
)

// ParseLoginctlSessions reads the session ids from `loginctl
// list-sessions --no-legend` (the first column, in any systemd version).
func ParseLoginctlSessions(text string) []string {
	var ids []string
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		// The second column is the user's uid in every systemd version.
		if len(f) < 2 || !sessionIDRE.MatchString(f[0]) || !uidRE.MatchString(f[1]) {
			continue
		}
		ids = append(ids, f[0])
	}
	return ids
}

// ParseShowSession reads `loginctl show-session ID -p …` (Key=Value lines).
func ParseShowSession(id, text string) Session {
	s := Session{ID: id}
	for _, l := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok {
			continue
		}
		switch k {
		case "Name":
			s.User = v
		case "Type":
			s.Type = v
		case "Class":
			s.Class = v
		case "Desktop":
			s.Desktop = v
		case "State":
			s.State = v
		case "Active":
			s.Active = v == "yes"
		case "Remote":
			s.Remote = v == "yes"
		}
	}
	return s
}

// PasswdEntry is one line of /etc/passwd.
type PasswdEntry struct {
	Name, UID, Home string
}

// ParsePasswd reads /etc/passwd.
func ParsePasswd(text string) []PasswdEntry {
	var out []PasswdEntry
	for _, l := range strings.Split(text, "\n") {
		f := strings.Split(l, ":")
		if len(f) < 7 || f[0] == "" || strings.HasPrefix(f[0], "#") {
			continue
		}
		out = append(out, PasswdEntry{Name: f[0], UID: f[2], Home: f[5]})
	}
	return out
}

// MacLock is what `sysadminctl -screenLock status` says.
type MacLock struct {
	Enabled bool
	Delay   time.Duration // after the screen saver starts or the display sleeps
}

var (
	macDelayRE = regexp.MustCompile(`screenLock delay is (immediate|([0-9]+) seconds?)`)
	macOffRE   = regexp.MustCompile(`screenLock is off`)
)

// ParseSysadminctlScreenLock reads `sysadminctl -screenLock status`,
// which writes to stderr behind a log prefix, e.g. "2024-05-01
// 10:00:00.000 sysadminctl[123:4567] screenLock delay is 300 seconds".
func ParseSysadminctlScreenLock(text string) (MacLock, error) {
	if m := macDelayRE.FindStringSubmatch(text); m != nil {
		if m[1] == "immediate" {
			return MacLock{Enabled: true}, nil
		}
		n, err := strconv.ParseUint(m[2], 10, 32)
		if err != nil {
			return MacLock{}, fmt.Errorf("sysadminctl: bad delay %q", m[2])
		}
		return MacLock{Enabled: true, Delay: time.Duration(n) * time.Second}, nil
	}
	if macOffRE.MatchString(text) {
		return MacLock{}, nil
	}
	return MacLock{}, errors.New("sysadminctl: no screenLock state in the output")
}

// ParseDefaultsNumber reads the number `defaults read DOMAIN KEY` prints
// ("1", "0", "300", "5.0").
func ParseDefaultsNumber(text string) (float64, error) {
	s := strings.TrimSpace(text)
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 || n > 1e9 {
		return 0, fmt.Errorf("defaults: %q is not a number", s)
	}
	return n, nil
}

// ParsePmsetDisplaySleep reads the "displaysleep" minutes from `pmset -g`
// (the settings in use). ok is false when the line is missing.
func ParsePmsetDisplaySleep(text string) (time.Duration, bool) {
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "displaysleep" {
			if n, err := strconv.ParseUint(f[1], 10, 32); err == nil {
				return time.Duration(n) * time.Minute, true
			}
		}
	}
	return 0, false
}

// PowerSetting is one setting of the active power scheme as `powercfg
// /query SCHEME_CURRENT SUB SETTING` tells it: its value plugged in (AC)
// and on battery (DC). Times are seconds, 0 meaning never; switches are
// 0 (off) or 1 (on).
type PowerSetting struct {
	AC, DC uint64
}

// ParsePowercfgQuery reads `powercfg /query SCHEME_CURRENT SUB SETTING`:
// the "Current AC Power Setting Index" and "Current DC Power Setting
// Index" lines, each a hexadecimal number. powercfg translates its labels,
// so when the English ones are missing the last two hexadecimal values
// are taken, which are those two lines in every language (the minimum,
// maximum and increment lines come before them).
func ParsePowercfgQuery(text string) (PowerSetting, error) {
	var hex []uint64
	ac, dc := -1, -1
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		label, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v, ok := strings.CutPrefix(strings.TrimSpace(val), "0x")
		if !ok || v == "" {
			continue
		}
		n, err := strconv.ParseUint(v, 16, 64)
		if err != nil {
			continue
		}
		switch l := strings.ToLower(label); {
		case strings.Contains(l, "current ac power setting index"):
			ac = len(hex)
		case strings.Contains(l, "current dc power setting index"):
			dc = len(hex)
		}
		hex = append(hex, n)
	}
	switch {
	case ac >= 0 && dc >= 0:
		return PowerSetting{AC: hex[ac], DC: hex[dc]}, nil
	case ac < 0 && dc < 0 && len(hex) >= 2 && !strings.Contains(strings.ToLower(text), "power setting index"):
		return PowerSetting{AC: hex[len(hex)-2], DC: hex[len(hex)-1]}, nil
	}
	return PowerSetting{}, errors.New("powercfg: no AC and DC setting index in the output")
}
