package firewall

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
)

// Profile is one Windows Defender Firewall profile's state.
type Profile struct {
	// Name is Domain, Private or Public.
	Name string
	// Enabled is "on", "off" or "" when not known.
	Enabled string
	// InboundAllowed is true when the profile's default inbound action
	// is Allow (the firewall is on but lets everything in).
	InboundAllowed bool
}

// ParseNetshProfiles reads the output of `netsh advfirewall show
// allprofiles state` (or `currentprofile state`): one "<Name> Profile
// Settings:" header per profile followed by a "State ON|OFF" line. The
// profiles come back in the order printed; output in another language
// gives none.
func ParseNetshProfiles(text string) []Profile {
	var out []Profile
	var cur *Profile
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, ok := strings.CutSuffix(line, " Profile Settings:"); ok {
			out = append(out, Profile{Name: canonicalProfile(name)})
			cur = &out[len(out)-1]
			continue
		}
		f := strings.Fields(line)
		if cur != nil && len(f) == 2 && f[0] == "State" {
			switch strings.ToUpper(f[1]) {
			case "ON":
				cur.Enabled = "on"
			case "OFF":
				cur.Enabled = "off"
			}
		}
	}
	return out
}

// ParseNetFirewallProfiles reads the JSON of
// `Get-NetFirewallProfile | Select-Object Name,Enabled,DefaultInboundAction | ConvertTo-Json`.
// A single profile comes as an object, several as an array. Enabled may be
// a boolean, the GpoBoolean enum as a number (0 False, 1 True, 2
// NotConfigured) or its name; DefaultInboundAction the Action enum (0
// NotConfigured, 2 Allow, 4 Block) or its name.
func ParseNetFirewallProfiles(text string) ([]Profile, error) {
	text = strings.TrimSpace(strings.TrimPrefix(text, "\ufeff"))
	if text == "" {
		return nil, fmt.Errorf("no output")
	}
	var raw []map[string]any
	if strings.HasPrefix(text, "{") {
		var one map[string]any
		if err := json.Unmarshal([]byte(text), &one); err != nil {
			return nil, err
		}
		raw = []map[string]any{one}
	} else if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, err
	}
	var out []Profile
	for _, m := range raw {
		name, _ := m["Name"].(string)
		if name == "" {
			continue
		}
		p := Profile{Name: canonicalProfile(name)}
		switch v := m["Enabled"].(type) {
		case bool:
			p.Enabled = map[bool]string{true: "on", false: "off"}[v]
		case float64:
			switch v {
			case 0:
				p.Enabled = "off"
			case 1:
				p.Enabled = "on"
			}
		case string:
			switch strings.ToLower(v) {
			case "true", "1":
				p.Enabled = "on"
			case "false", "0":
				p.Enabled = "off"
			}
		}
		switch v := m["DefaultInboundAction"].(type) {
		case float64:
			p.InboundAllowed = v == 2
		case string:
			p.InboundAllowed = strings.EqualFold(v, "Allow") || v == "2"
		}
		out = append(out, p)
	}
	return out, nil
}

// canonicalProfile maps the names Windows uses for a profile in its
// tools and registry to Domain, Private or Public.
func canonicalProfile(name string) string {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "domain", "domainprofile", "domainauthenticated":
		return "Domain"
	case "private", "standard", "standardprofile":
		return "Private"
	case "public", "publicprofile":
		return "Public"
	}
	return strings.TrimSpace(name)
}
