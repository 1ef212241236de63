package antivirus

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ClamVersion is what `clamscan --version` (or clamdscan) prints:
// "ClamAV 1.0.7/27470/Tue Dec  1 08:26:03 2026", the engine version, then
// the daily database version and its build time when a database is loaded.
type ClamVersion struct {
	Engine    string
	DBVersion int       // 0 when no database was loaded
	DBTime    time.Time // zero when no database was loaded
}

// ParseClamVersion reads the first "ClamAV …" line of s.
func ParseClamVersion(s string) (ClamVersion, error) {
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, "ClamAV ")
		if !ok {
			continue
		}
		parts := strings.SplitN(rest, "/", 3)
		v := ClamVersion{Engine: strings.TrimSpace(parts[0])}
		if v.Engine == "" {
			break
		}
		if len(parts) == 3 {
			if n, err := strconv.Atoi(strings.TrimSpace(parts[1])); err == nil && n > 0 {
				v.DBVersion = n
			}
			// ctime form, local time without a zone; read as UTC.
			if t, err := time.Parse(time.ANSIC, strings.Join(strings.Fields(parts[2]), " ")); err == nil {
				v.DBTime = t
			} else if t, err := time.Parse("Mon Jan 2 15:04:05 2006", strings.Join(strings.Fields(parts[2]), " ")); err == nil {
				v.DBTime = t
			}
		}
		return v, nil
	}
	return ClamVersion{}, errors.New("no ClamAV version line")
}

// CVDHeader is the header of a ClamAV database file (.cvd or .cld): the
// first 512 bytes, "ClamAV-VDB:<build time>:<version>:<signatures>:
// <functionality level>:<md5>:<digital signature>:<builder>:<stime>",
// padded with spaces.
type CVDHeader struct {
	Built      time.Time
	Version    int
	Signatures int
}

// ParseCVDHeader reads the header at the start of b; only the first 512
// bytes are looked at.
func ParseCVDHeader(b []byte) (CVDHeader, error) {
	if len(b) > 512 {
		b = b[:512]
	}
	s := strings.TrimRight(string(b), " \x00\n")
	rest, ok := strings.CutPrefix(s, "ClamAV-VDB:")
	if !ok {
		return CVDHeader{}, errors.New("not a ClamAV database header")
	}
	f := strings.Split(rest, ":")
	if len(f) < 3 {
		return CVDHeader{}, errors.New("short ClamAV database header")
	}
	var h CVDHeader
	if t, err := time.Parse("02 Jan 2006 15-04 -0700", strings.TrimSpace(f[0])); err == nil {
		h.Built = t.UTC()
	}
	if h.Built.IsZero() && len(f) >= 8 {
		// stime: the build time in seconds since the epoch.
		if n, err := strconv.ParseInt(strings.TrimSpace(f[len(f)-1]), 10, 64); err == nil && n > 946684800 {
			h.Built = time.Unix(n, 0).UTC()
		}
	}
	h.Version, _ = strconv.Atoi(strings.TrimSpace(f[1]))
	h.Signatures, _ = strconv.Atoi(strings.TrimSpace(f[2]))
	if h.Built.IsZero() {
		return h, errors.New("ClamAV database header has no readable build time")
	}
	return h, nil
}

// ParseClamdConf returns the paths clamd.conf puts under on-access
// scanning (OnAccessIncludePath and OnAccessMountPath), ignoring comments.
func ParseClamdConf(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch strings.ToLower(f[0]) {
		case "onaccessincludepath", "onaccessmountpath":
			out = append(out, strings.Join(f[1:], " "))
		}
	}
	return out
}
