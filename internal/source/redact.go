package source

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Identifiers a Recorder replaces, each distinct value with its own
// placeholder, the same wherever it occurs (file contents, paths, command
// lines and output, registry keys and values), so a replay that follows
// an identifier from one read to the next (a mapping named luks-<UUID>, a
// user's SID in a registry path) still finds what was recorded:
//
//   - UUIDs and GUIDs (volumes, partitions, hardware, product instances):
//     00000000-0000-0000-0000-00000000000N. Public constants are kept: the
//     GUIDs the probes name (UEFI variable namespaces) and those of
//     Windows' built-in power schemes and settings.
//   - Windows account SIDs: the machine or domain part of S-1-5-21-a-b-c
//     becomes S-1-5-21-0-0-N; the account's RID stays.
//   - the volume identifier inside a device-mapper uuid (CRYPT-LUKS2-<hex>-…,
//     LVM-<id>), zero-padded digits of the same length.
//   - serial numbers, hardware UUIDs, machine ids and provisioning ids
//     given by name ("Serial Number (system): …", "Hardware UUID: …",
//     "IOPlatformSerialNumber" = "…", <key>IOPlatformUUID</key><string>…),
//     which become REDACTED-N.
//
// Files that hold nothing but such an identifier (/etc/machine-id, the
// DMI serial and UUID files) are recorded as REDACTED.
var (
	uuidRE     = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	sidRE      = regexp.MustCompile(`\bS-1-5-21-([0-9]+-[0-9]+-[0-9]+)\b`)
	dmCryptRE  = regexp.MustCompile(`\bCRYPT-[A-Z0-9]+-([0-9a-fA-F]{32})\b`)
	dmLVMRE    = regexp.MustCompile(`\bLVM-([A-Za-z0-9]{32,64})\b`)
	labelledRE = regexp.MustCompile(`(?i)((?:serial[ _-]?(?:number|no\.?|num)?|hardware[ _-]?uuid|platform[ _-]?uuid|provisioning[ _-]?udid|ioplatformserialnumber|ioplatformuuid|machine[ _-]?id|machineguid)"?[ \t]*(?:\([^)\n]*\)[ \t]*)?[:=][ \t]*"?)([^"\s,;<>]+)`)
	plistIDRE  = regexp.MustCompile(`(?i)(<key>(?:IOPlatformSerialNumber|IOPlatformUUID|serial-number|SerialNumber|HardwareUUID|ProvisioningUDID)</key>\s*<string>)([^<]*)(</string>)`)
)

// identifierFiles hold one identifier each and nothing a check reads.
var identifierFiles = map[string]bool{
	"/etc/machine-id":                            true,
	"/var/lib/dbus/machine-id":                   true,
	"/sys/class/dmi/id/product_uuid":             true,
	"/sys/class/dmi/id/product_serial":           true,
	"/sys/class/dmi/id/board_serial":             true,
	"/sys/class/dmi/id/chassis_serial":           true,
	"/sys/devices/virtual/dmi/id/product_uuid":   true,
	"/sys/devices/virtual/dmi/id/product_serial": true,
}

// publicGUIDs name things, not machines: Windows' built-in power schemes
// and the power settings herd reads.
var publicGUIDs = []string{
	"381b4222-f694-41f0-9685-ff5bb260df2e", // Balanced
	"8c5e7fda-e8bf-4a96-9a85-a6e23a8c635c", // High performance
	"a1841308-3541-4fab-bc81-f71556f20b4a", // Power saver
	"7516b95f-f776-4464-8c53-06167f40cc99", // SUB_VIDEO
	"3c0bc021-c8a8-4e07-a973-6b14cbcb2b7e", // VIDEOIDLE
	"238c9fa8-0aad-41ed-83f4-97be242c8f20", // SUB_SLEEP
	"29f6c1db-86da-48c5-9fdb-f2b67b1f44da", // STANDBYIDLE
	"fea3413e-7e05-4911-9a71-700331f1c294", // SUB_NONE
	"0e796bdb-100d-47d6-a2d5-f7d2daa51f51", // CONSOLELOCK
	"00000000-0000-0000-0000-000000000000",
}

// identifiers replaces identifiers consistently; safe for concurrent use.
type identifiers struct {
	mu      sync.Mutex
	keep    map[string]bool
	seen    map[string]map[string]string // kind → original → placeholder
	counter map[string]int
}

func newIdentifiers(probes []Probe) *identifiers {
	id := &identifiers{keep: map[string]bool{}, seen: map[string]map[string]string{}, counter: map[string]int{}}
	for _, g := range publicGUIDs {
		id.keep[g] = true
	}
	for _, p := range probes {
		for _, s := range p.strings() {
			for _, g := range uuidRE.FindAllString(s, -1) {
				id.keep[strings.ToLower(g)] = true
			}
		}
	}
	return id
}

// placeholder returns the placeholder of value among identifiers of one
// kind, made by mk from its number (1, 2, …) the first time.
func (id *identifiers) placeholder(kind, value string, mk func(n int) string) string {
	id.mu.Lock()
	defer id.mu.Unlock()
	m := id.seen[kind]
	if m == nil {
		m = map[string]string{}
		id.seen[kind] = m
	}
	if p, ok := m[value]; ok {
		return p
	}
	id.counter[kind]++
	p := mk(id.counter[kind])
	m[value] = p
	return p
}

// replace hides the identifiers in s.
func (id *identifiers) replace(s string) string {
	if s == "" {
		return s
	}
	s = plistIDRE.ReplaceAllStringFunc(s, func(m string) string {
		g := plistIDRE.FindStringSubmatch(m)
		return g[1] + id.redacted(g[2]) + g[3]
	})
	s = labelledRE.ReplaceAllStringFunc(s, func(m string) string {
		g := labelledRE.FindStringSubmatch(m)
		v := g[2]
		switch {
		case v == "null" || v == "true" || v == "false" || v == "(null)" || v == "none" || v == "None":
			return m // no identifier there
		case !strings.HasSuffix(g[1], `"`) && strings.Trim(v, "0123456789") == "":
			return g[1] + id.digits("labelled-number", v) // a bare number stays a number
		}
		return g[1] + id.redacted(v)
	})
	s = dmCryptRE.ReplaceAllStringFunc(s, func(m string) string {
		g := dmCryptRE.FindStringSubmatch(m)
		return strings.TrimSuffix(m, g[1]) + id.digits("dm", g[1])
	})
	s = dmLVMRE.ReplaceAllStringFunc(s, func(m string) string {
		g := dmLVMRE.FindStringSubmatch(m)
		return "LVM-" + id.digits("lvm", g[1])
	})
	s = sidRE.ReplaceAllStringFunc(s, func(m string) string {
		g := sidRE.FindStringSubmatch(m)
		return "S-1-5-21-" + id.placeholder("sid", g[1], func(n int) string { return fmt.Sprintf("0-0-%d", n) })
	})
	s = uuidRE.ReplaceAllStringFunc(s, func(m string) string {
		l := strings.ToLower(m)
		if id.keep[l] {
			return m
		}
		return id.placeholder("uuid", l, func(n int) string { return fmt.Sprintf("00000000-0000-0000-0000-%012x", n) })
	})
	return s
}

func (id *identifiers) redacted(v string) string {
	if strings.HasPrefix(v, "REDACTED") {
		return v
	}
	return id.placeholder("labelled", v, func(n int) string { return fmt.Sprintf("REDACTED-%d", n) })
}

// digits is a placeholder of the same length as v, so a parser that
// expects a fixed-width field still reads it.
func (id *identifiers) digits(kind, v string) string {
	return id.placeholder(kind, v, func(n int) string { return fmt.Sprintf("%0*d", len(v), n) })
}

// scrubFile removes what a file holds beyond what checks read: the real
// names (GECOS) of /etc/passwd, whose other fields the checks use, and the
// whole content of files that hold only an identifier.
func scrubFile(name string, b []byte) []byte {
	switch {
	case identifierFiles[name]:
		return []byte("REDACTED\n")
	case name == "/etc/passwd":
		lines := strings.SplitAfter(string(b), "\n")
		for i, l := range lines {
			body, nl := strings.CutSuffix(l, "\n")
			f := strings.Split(body, ":")
			if len(f) == 7 && !strings.HasPrefix(body, "#") {
				f[4] = ""
				lines[i] = strings.Join(f, ":")
				if nl {
					lines[i] += "\n"
				}
			}
		}
		return []byte(strings.Join(lines, ""))
	}
	return b
}
