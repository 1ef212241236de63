package updates

import (
	"strings"
)

// DebPackage is one binary package from dpkg's status file or an APT
// Packages index.
type DebPackage struct {
	Name, Version, Arch string
	Status              string // dpkg's Status field; empty in a Packages index
}

// ParseDebStanza reads the fields herd needs from one stanza.
func ParseDebStanza(stanza string) DebPackage {
	var p DebPackage
	for len(stanza) > 0 {
		line, rest, _ := strings.Cut(stanza, "\n")
		stanza = rest
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			p.Name = v
		case "Version":
			p.Version = v
		case "Architecture":
			p.Arch = v
		case "Status":
			p.Status = v
		}
	}
	return p
}

// installedKey names a package as APT matches it: by name and
// architecture, where "all" packages are matched by name alone.
func installedKey(name, arch string) string {
	if arch == "all" {
		arch = ""
	}
	return name + "/" + arch
}

// ParseDpkgInstalled reads /var/lib/dpkg/status and returns the version
// of every installed package (Status "… ok installed"), keyed by name and
// architecture.
func ParseDpkgInstalled(text string) map[string]string {
	out := map[string]string{}
	for _, st := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		p := ParseDebStanza(st)
		if p.Name == "" || p.Version == "" || !strings.HasSuffix(p.Status, " installed") {
			continue
		}
		out[installedKey(p.Name, p.Arch)] = p.Version
	}
	return out
}

// newerThanInstalled returns a keep function for source.ReadStanzas: a
// Packages stanza is kept when it offers a package that is installed in
// an older version.
func newerThanInstalled(installed map[string]string) func(string) bool {
	return func(stanza string) bool {
		p := ParseDebStanza(stanza)
		have, ok := installed[installedKey(p.Name, p.Arch)]
		return ok && p.Version != "" && CompareDebVersions(p.Version, have) > 0
	}
}

// isSecurityPackagesList reports whether a file of /var/lib/apt/lists is
// the Packages index of a security suite, e.g.
// deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4
// or security.ubuntu.com_ubuntu_dists_noble-security_main_binary-amd64_Packages.
func isSecurityPackagesList(name string) bool {
	i := strings.Index(name, "_dists_")
	if i < 0 || !strings.Contains(name, "_Packages") {
		return false
	}
	suite, _, _ := strings.Cut(name[i+len("_dists_"):], "_")
	if !strings.HasSuffix(suite, "-security") {
		return false
	}
	base := name[strings.LastIndex(name, "_Packages"):]
	switch base {
	case "_Packages", "_Packages.lz4", "_Packages.gz", "_Packages.xz", "_Packages.zst":
		return true
	}
	return false
}
