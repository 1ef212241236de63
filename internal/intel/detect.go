package intel

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"strings"
)

// Format is a feed layout herd reads.
type Format string

const (
	Unknown          Format = ""
	FeodoCSV         Format = "feodotracker_csv"
	FeodoJSON        Format = "feodotracker_json"
	URLhausCSV       Format = "urlhaus_csv"
	MalwareBazaarCSV Format = "malwarebazaar_csv"
	ThreatFoxCSV     Format = "threatfox_csv"
	ThreatFoxJSON    Format = "threatfox_json"
	STIX21           Format = "stix21"
	MISPEvent        Format = "misp_event"
	MISPManifest     Format = "misp_manifest"
	// ShadowserverSinkhole is a Shadowserver sinkhole event report: a
	// list of sightings (victim src_ip, time, family), not indicators.
	// Detect names it so a caller can route it to sighting import; Parse
	// refuses it with ErrNotIndicators.
	ShadowserverSinkhole Format = "shadowserver_sinkhole"
)

var (
	reSTIXBundle = regexp.MustCompile(`"type"\s*:\s*"bundle"`)
	reSTIXObj    = regexp.MustCompile(`"spec_version"\s*:\s*"2\.|"pattern"\s*:`)
	reMISPEvent  = regexp.MustCompile(`^[\[{]\s*(\{\s*)?"(Event|response)"\s*:`)
	reManifest   = regexp.MustCompile(`^\{\s*"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"\s*:\s*\{`)
	reFeodoJSON  = regexp.MustCompile(`^\[\s*(\]|\{[^\[\]]*"ip_address"\s*:)`)
	// ThreatFox's JSON export names the value ioc_value; its API answer
	// ({"query_status": …, "data": [IOC…]}) names it ioc.
	reThreatFox    = regexp.MustCompile(`"ioc_value"\s*:`)
	reThreatFoxAPI = regexp.MustCompile(`^\{\s*"query_status"\s*:\s*"[a-z_]*"\s*,\s*"data"\s*:\s*\[\s*\{[^\[\]]*"ioc"\s*:`)
)

// Detect tells the format of a file from its first bytes (HeadSize is
// enough). It looks only at the content: name is accepted so callers can
// pass it, and is never used to decide.
func Detect(name string, head []byte) Format {
	_ = name
	h := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	h = bytes.TrimLeft(h, " \t\r\n")
	if len(h) == 0 {
		return Unknown
	}
	if h[0] == '{' || h[0] == '[' {
		return detectJSON(h)
	}
	return detectCSV(h)
}

func detectJSON(h []byte) Format {
	switch {
	case reMISPEvent.Match(h):
		return MISPEvent
	case reManifest.Match(h):
		return MISPManifest
	case reFeodoJSON.Match(h):
		return FeodoJSON
	case reSTIXBundle.Match(h) && bytes.Contains(h, []byte(`"objects"`)):
		return STIX21
	case reThreatFox.Match(h) && bytes.Contains(h, []byte(`"ioc_type"`)):
		return ThreatFoxJSON
	case reThreatFoxAPI.Match(h) && bytes.Contains(h, []byte(`"ioc_type"`)):
		return ThreatFoxJSON
	case reSTIXObj.Match(h) && bytes.Contains(h, []byte(`"objects"`)):
		return STIX21
	}
	return Unknown
}

// detectCSV finds the header line, commented or not, and names the
// format by its columns.
func detectCSV(h []byte) Format {
	lines := strings.Split(string(h), "\n")
	if len(h) >= HeadSize && len(lines) > 1 {
		lines = lines[:len(lines)-1] // the last line may be cut
	}
	for _, line := range lines {
		if f := formatOfHeader(headerColumns(line)); f != Unknown {
			return f
		}
	}
	return Unknown
}

// headerColumns reads a line as a CSV header, commented ("# a,b") or not,
// and returns its lowercase column names; nil when it is no header.
func headerColumns(line string) []string {
	line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
	if line == "" || !strings.Contains(line, ",") {
		return nil
	}
	r := csv.NewReader(strings.NewReader(line))
	r.TrimLeadingSpace = true
	r.LazyQuotes = true
	cols, err := r.Read()
	if err != nil {
		return nil
	}
	for i, c := range cols {
		cols[i] = strings.ToLower(strings.TrimSpace(c))
	}
	return cols
}

// formatOfHeader names a format by the columns its header must have.
func formatOfHeader(cols []string) Format {
	if len(cols) < 2 {
		return Unknown
	}
	has := make(map[string]bool, len(cols))
	for _, c := range cols {
		has[c] = true
	}
	all := func(names ...string) bool {
		for _, n := range names {
			if !has[n] {
				return false
			}
		}
		return true
	}
	switch {
	case all("dst_ip", "dst_port", "malware"):
		return FeodoCSV
	case all("url", "url_status", "threat"):
		return URLhausCSV
	case all("sha256_hash", "md5_hash", "sha1_hash", "signature"):
		return MalwareBazaarCSV
	case all("ioc_value", "ioc_type"):
		return ThreatFoxCSV
	case all("src_ip", "timestamp", "infection"):
		return ShadowserverSinkhole
	}
	return Unknown
}
