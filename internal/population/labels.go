package population

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/herd-health/herd/internal/checks/ossupport"
)

// Segment labels.
//
// A segment label is never text a device chose: every label is taken from
// a closed vocabulary the authority knows, so no aggregate, export, STIX
// object, TAXII answer or public page can carry a name, an address or a
// message a device put in its statement, and a device cannot make new
// segments at will (each one would be a cell of its own, and a cell of one
// device is a device). The vocabulary:
//
//   - OS family: linux, windows or darwin; anything else is "other".
//   - OS release: a release in the os_support table the agent ships
//     (internal/checks/ossupport), named "<product> <release>" ("debian 12",
//     "ubuntu 24.04", "macos 15", "windows 26100" by build number), the
//     rolling releases "arch" and "opensuse-tumbleweed", or "<family>
//     other" ("linux other", "windows other", "macos other"). A release
//     label always belongs to one OS family, so the releases of a family
//     add up to the family's count and the two dimensions nest.
//   - Agent version: a release number with an optional pre-release tag
//     (1.2, 1.2.3, 1.2.3-rc.1; build metadata after "+" is dropped) or
//     "dev"; anything else is "other". A version number is still chosen
//     by the device, so a release (see Releaser) also pools every agent
//     version fewer than K devices reported that day into "other": a
//     version is named only when K devices share it, and a device cannot
//     open segments of its own.
//   - Country: an ISO 3166-1 alpha-2 code as the GeoIP database gives it,
//     or "" (unknown).
//   - Malware family: the family the authority's own threat intelligence
//     gives the indicator the device matched (see FamilyLabel), else
//     "unknown".

// Other is the label of everything outside a dimension's vocabulary.
const Other = "other"

// OSLabel is the OS family label of a reported OS.
func OSLabel(goos string) string {
	switch goos {
	case "linux", "windows", "darwin":
		return goos
	}
	return Other
}

// releaseOtherLabel is the "other release" label of an OS family label.
func releaseOtherLabel(family string) string {
	switch family {
	case "linux":
		return "linux other"
	case "windows":
		return "windows other"
	case "darwin":
		return "macos other"
	}
	return Other
}

// releaseTable is the vocabulary of release labels, built once from the
// embedded os_support table: product → release names (Linux, macOS) and
// the Windows build numbers it lists.
type releaseTable struct {
	linux  map[string][]string // product → releases, longest first
	macos  map[string]bool
	builds map[int]bool
}

var (
	releasesOnce sync.Once
	releases     releaseTable
)

func releaseVocabulary() releaseTable {
	releasesOnce.Do(func() {
		t := releaseTable{linux: map[string][]string{}, macos: map[string]bool{}, builds: map[int]bool{}}
		d := ossupport.Embedded()
		for id, p := range d.Products {
			for _, r := range p.Releases {
				switch id {
				case "windows", "windows-server":
					if r.Build > 0 {
						t.builds[r.Build] = true
					}
				case "macos":
					t.macos[r.Release] = true
				default:
					t.linux[id] = append(t.linux[id], r.Release)
				}
			}
		}
		for id := range t.linux {
			rs := t.linux[id]
			sort.Slice(rs, func(i, j int) bool { return len(rs[i]) > len(rs[j]) || len(rs[i]) == len(rs[j]) && rs[i] < rs[j] })
		}
		releases = t
	})
	return releases
}

// rollingReleases are Linux distributions without release numbers.
var rollingReleases = map[string]bool{"arch": true, "opensuse-tumbleweed": true}

// ReleaseLabel is the OS release label of a reported OS and release
// ("debian 12", "windows 22631", "macos 14.5" as the agent reports them):
// a release the os_support table lists, or the family's "other".
func ReleaseLabel(goos, osVersion string) string {
	family := OSLabel(goos)
	other := releaseOtherLabel(family)
	id, ver, _ := strings.Cut(strings.TrimSpace(strings.ToLower(osVersion)), " ")
	ver = strings.TrimSpace(ver)
	t := releaseVocabulary()
	switch family {
	case "linux":
		if rollingReleases[id] && ver == "" {
			return id
		}
		for _, r := range t.linux[id] {
			if ver == r || strings.HasPrefix(ver, r+".") {
				return id + " " + r
			}
		}
	case "windows":
		if id != "windows" {
			break
		}
		// "22631" or "10.0.22631": the build is the last number.
		if i := strings.LastIndexByte(ver, '.'); i >= 0 {
			ver = ver[i+1:]
		}
		if n, err := strconv.Atoi(ver); err == nil && len(ver) <= 6 && t.builds[n] {
			return "windows " + strconv.Itoa(n)
		}
	case "darwin":
		if id != "macos" {
			break
		}
		// macOS 10.x is named by major and minor, 11 and later by major.
		parts := strings.Split(ver, ".")
		name := parts[0]
		if name == "10" && len(parts) > 1 {
			name = "10." + parts[1]
		}
		if t.macos[name] {
			return "macos " + name
		}
	}
	return other
}

// ReleaseFamily is the OS family label a release label belongs to.
func ReleaseFamily(label string) string {
	id, _, _ := strings.Cut(label, " ")
	switch {
	case label == Other:
		return Other
	case id == "windows":
		return "windows"
	case id == "macos":
		return "darwin"
	case id == "linux" || rollingReleases[id]:
		return "linux"
	}
	if _, ok := releaseVocabulary().linux[id]; ok {
		return "linux"
	}
	return Other
}

// agentVersion is a release number, an optional pre-release tag from a
// closed list, and optional build metadata (which names no release and
// is dropped).
var agentVersion = regexp.MustCompile(`^(\d{1,6}\.\d{1,6}(?:\.\d{1,6})?(?:-(?:alpha|beta|rc|pre|dev)(?:\.?\d{1,6})?)?)(?:\+[0-9A-Za-z.-]{1,64})?$`)

// AgentLabel is the agent version label of a reported agent version:
// "dev", or a version such as 1.4, 1.4.2 or 1.4.2-rc.1 (build metadata
// after "+" dropped); anything else, including a pre-release tag outside
// alpha, beta, rc, pre and dev, is "other".
func AgentLabel(v string) string {
	if v == "dev" {
		return v
	}
	if m := agentVersion.FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return Other
}

// CountryLabel is the country label of a GeoIP answer: two ASCII letters
// in upper case, or "" (unknown).
func CountryLabel(c string) string {
	if len(c) != 2 {
		return ""
	}
	c = strings.ToUpper(c)
	if c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return ""
	}
	return c
}

// ipLike finds text that looks like an IPv4 address or the start of an
// IPv6 one.
var ipLike = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9a-fA-F]{1,4}:[0-9a-fA-F]{0,4}:`)

// FamilyLabel is the label of a malware family name taken from the
// authority's own threat intelligence (feeds and sightings the operator
// imported): the name if it is a plausible family name (letters, digits,
// space, '.', '_', '-', at most 64 characters, no address in it), else
// "unknown". Even the authority's intel is checked, since a feed is text
// from elsewhere.
func FamilyLabel(f string) string {
	f = strings.TrimSpace(f)
	if f == "" || len(f) > 64 || ipLike.MatchString(f) {
		return "unknown"
	}
	for _, r := range f {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == ' ' || r == '.' || r == '_' || r == '-') {
			return "unknown"
		}
	}
	return f
}

// Labels are a check-in's segment labels.
type Labels struct {
	OS, OSVersion, Agent, Country string
}

// SegmentLabels turns what a device reported (OS, release, agent
// version) and the country its address resolved to into labels.
func SegmentLabels(goos, osVersion, agent, country string) Labels {
	return Labels{OS: OSLabel(goos), OSVersion: ReleaseLabel(goos, osVersion), Agent: AgentLabel(agent), Country: CountryLabel(country)}
}
