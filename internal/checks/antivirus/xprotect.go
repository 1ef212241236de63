package antivirus

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// ParsePlistString returns the <string> value of key in an XML property
// list, or "" when the key is absent or the list is not XML.
func ParsePlistString(plist, key string) string {
	i := strings.Index(plist, "<key>"+key+"</key>")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(plist[i+len("<key>"+key+"</key>"):], " \t\r\n")
	v, ok := strings.CutPrefix(rest, "<string>")
	if !ok {
		return ""
	}
	end := strings.Index(v, "</string>")
	if end < 0 {
		return ""
	}
	return strings.TrimSpace(v[:end])
}

// Install is one entry of macOS's install history.
type Install struct {
	Name    string
	Version string
	Date    time.Time
}

// ParseInstallHistory reads `system_profiler -json SPInstallHistoryDataType`.
func ParseInstallHistory(s string) ([]Install, error) {
	var doc struct {
		Items []struct {
			Name    string `json:"_name"`
			Date    string `json:"install_date"`
			Version string `json:"install_version"`
		} `json:"SPInstallHistoryDataType"`
	}
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return nil, err
	}
	if doc.Items == nil {
		return nil, errors.New("no SPInstallHistoryDataType in the output")
	}
	out := make([]Install, 0, len(doc.Items))
	for _, it := range doc.Items {
		in := Install{Name: it.Name, Version: it.Version}
		for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05 -0700"} {
			if t, err := time.Parse(layout, it.Date); err == nil {
				in.Date = t.UTC()
				break
			}
		}
		out = append(out, in)
	}
	return out, nil
}

// LatestXProtect returns the newest XProtect data install in the history
// (XProtectPlistConfigData, XProtectPayloads, …); ok is false when there
// is none with a date.
func LatestXProtect(history []Install) (Install, bool) {
	var best Install
	for _, in := range history {
		if !strings.HasPrefix(strings.ToLower(in.Name), "xprotect") || in.Date.IsZero() {
			continue
		}
		if in.Date.After(best.Date) {
			best = in
		}
	}
	return best, !best.Date.IsZero()
}
