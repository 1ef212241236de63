package antivirus

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MpStatus is what Get-MpComputerStatus says about Microsoft Defender
// Antivirus. A nil pointer or a zero time means the cmdlet gave no value.
type MpStatus struct {
	RunningMode      string // AMRunningMode: Normal, Passive Mode, SxS Passive Mode, EDR Block Mode
	ServiceEnabled   *bool  // AMServiceEnabled
	AntivirusEnabled *bool
	RealTime         *bool // RealTimeProtectionEnabled
	SignatureAge     int   // AntivirusSignatureAge in days; -1 when not given
	SignatureUpdated time.Time
	SignatureVersion string
	ProductVersion   string
}

// Passive reports whether Defender stands down for another product.
func (m MpStatus) Passive() bool {
	r := strings.ToLower(m.RunningMode)
	return strings.Contains(r, "passive") || strings.Contains(r, "edr block")
}

// ErrNoMpStatus: the text holds no Defender status (the cmdlet failed).
var ErrNoMpStatus = errors.New("no Defender status in the output")

// noData is the value the cmdlet gives for an age it does not know.
const noData = 4294967295

// ParseMpStatus reads Get-MpComputerStatus output, either the default
// "Name : Value" list or ConvertTo-Json output.
func ParseMpStatus(s string) (MpStatus, error) {
	fields := map[string]string{}
	t := strings.TrimSpace(strings.TrimPrefix(s, "\ufeff"))
	if strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		var raw any
		dec := json.NewDecoder(strings.NewReader(t))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return MpStatus{}, ErrNoMpStatus
		}
		if l, ok := raw.([]any); ok && len(l) > 0 {
			raw = l[0]
		}
		obj, ok := raw.(map[string]any)
		if !ok {
			return MpStatus{}, ErrNoMpStatus
		}
		for k, v := range obj {
			switch x := v.(type) {
			case bool:
				fields[k] = strconv.FormatBool(x)
			case json.Number:
				fields[k] = x.String()
			case string:
				fields[k] = x
			}
		}
	} else {
		for _, line := range strings.Split(t, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			k = strings.TrimSpace(k)
			if k == "" || strings.ContainsAny(k, " +") {
				continue // error text, not a property line
			}
			fields[k] = strings.TrimSpace(v)
		}
	}
	m := MpStatus{SignatureAge: -1}
	known := 0
	for k, v := range fields {
		switch k {
		case "AMRunningMode":
			m.RunningMode = v
		case "AMServiceEnabled":
			m.ServiceEnabled = parseBool(v)
		case "AntivirusEnabled":
			m.AntivirusEnabled = parseBool(v)
		case "RealTimeProtectionEnabled":
			m.RealTime = parseBool(v)
		case "AntivirusSignatureAge":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n != noData {
				m.SignatureAge = int(n)
			}
		case "AntivirusSignatureLastUpdated":
			m.SignatureUpdated = parsePSDate(v)
		case "AntivirusSignatureVersion":
			m.SignatureVersion = v
		case "AMProductVersion":
			m.ProductVersion = v
		default:
			continue
		}
		known++
	}
	if known == 0 || (m.RunningMode == "" && m.RealTime == nil && m.AntivirusEnabled == nil) {
		return MpStatus{}, ErrNoMpStatus
	}
	return m, nil
}

func parseBool(s string) *bool {
	var b bool
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		b = true
	case "false":
		b = false
	default:
		return nil
	}
	return &b
}

var msDate = regexp.MustCompile(`^/Date\((-?\d+)([+-]\d{4})?\)/$`)

// parsePSDate reads the date forms PowerShell prints: /Date(ms)/ from
// Windows PowerShell's ConvertTo-Json, ISO 8601 from PowerShell 7, and
// the en-US list form. Times without a zone are taken as UTC (an error of
// hours at most, well under the signature limit). Dates before 2000 are
// placeholders, not dates.
func parsePSDate(s string) time.Time {
	s = strings.TrimSpace(strings.ReplaceAll(s, `\/`, "/"))
	if s == "" {
		return time.Time{}
	}
	var t time.Time
	if m := msDate.FindStringSubmatch(s); m != nil {
		ms, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return time.Time{}
		}
		t = time.UnixMilli(ms).UTC()
	} else {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "1/2/2006 3:04:05 PM", "1/2/2006 15:04:05", "2006-01-02 15:04:05"} {
			if p, err := time.Parse(layout, s); err == nil {
				t = p
				break
			}
		}
	}
	if t.Year() < 2000 {
		return time.Time{}
	}
	return t
}
