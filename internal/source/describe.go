package source

import "strings"

// Describe names exactly what the probe reads on goos: the path, the
// command line, the WMI class or the registry key; for the process and
// connection lists, the files, commands or system calls they come from
// on that OS.
func (p Probe) Describe(goos string) string {
	switch p.Kind {
	case KindFile, KindDir:
		return p.Path
	case KindCommand:
		return strings.Join(p.Argv, " ")
	case KindWMI:
		return p.Class
	case KindRegistry:
		return p.Key
	case KindProcesses:
		switch goos {
		case "linux":
			return "/proc/[pid]/comm /proc/[pid]/exe"
		case "darwin":
			return "ps -axo pid=,comm="
		case "windows":
			return "CreateToolhelp32Snapshot (process names and executable paths)"
		}
	case KindConnections:
		switch goos {
		case "linux":
			return "/proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 /proc/[pid]/fd"
		case "darwin":
			return "lsof -nP -iTCP -iUDP"
		case "windows":
			return "netstat -ano"
		}
	}
	return ""
}

// Template reports whether the probe stands for reads it cannot name
// ahead: a path, argument or key holding a placeholder ("<device>") or a
// "*". `herd-agent collect` does not read a template; the checks read
// what it stands for as they run.
func (p Probe) Template() bool {
	for _, s := range p.strings() {
		if hasWildcard(s) {
			return true
		}
	}
	return false
}

func (p Probe) strings() []string {
	switch p.Kind {
	case KindFile, KindDir:
		return []string{p.Path}
	case KindCommand:
		return p.Argv
	case KindWMI:
		return []string{p.Class}
	case KindRegistry:
		return []string{p.Key}
	}
	return nil
}

func hasWildcard(s string) bool {
	if strings.Contains(s, "*") {
		return true
	}
	i := strings.IndexByte(s, '<')
	return i >= 0 && strings.IndexByte(s[i:], '>') > 0
}

// Expand replaces a leading "~" in the probe's path with src's home.
func (p Probe) Expand(src Source) Probe {
	if p.Kind == KindFile || p.Kind == KindDir {
		p.Path = Expand(src, p.Path)
	}
	return p
}

// Matches reports whether read, one read a check made, is what p lists:
// the same kind and the same path, argv (element by element), class or
// key, where a placeholder in angle brackets or a "*" in p matches any
// text (within one argument, for a command). Registry keys and WMI
// classes compare without regard to case, as Windows does. p's "~" must
// be expanded first (see Expand).
func (p Probe) Matches(read Probe) bool {
	if p.Kind != read.Kind {
		return false
	}
	switch p.Kind {
	case KindFile, KindDir:
		return wildMatch(p.Path, read.Path, false)
	case KindCommand:
		if len(p.Argv) != len(read.Argv) {
			return false
		}
		for i := range p.Argv {
			if !wildMatch(p.Argv[i], read.Argv[i], false) {
				return false
			}
		}
		return true
	case KindWMI:
		return wildMatch(p.Class, read.Class, true)
	case KindRegistry:
		return wildMatch(p.Key, read.Key, true)
	}
	return true // processes, connections
}

// wildMatch matches s against pattern, where "*" and "<…>" match any
// run of characters, possibly empty.
func wildMatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	// Split the pattern into literal pieces around the wildcards.
	var pieces []string
	var cur strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '*':
			pieces, cur = append(pieces, cur.String()), strings.Builder{}
		case c == '<' && strings.IndexByte(pattern[i:], '>') > 0:
			pieces, cur = append(pieces, cur.String()), strings.Builder{}
			i += strings.IndexByte(pattern[i:], '>')
		default:
			cur.WriteByte(c)
		}
	}
	pieces = append(pieces, cur.String())
	if len(pieces) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, pieces[0]) {
		return false
	}
	s = s[len(pieces[0]):]
	last := pieces[len(pieces)-1]
	for _, mid := range pieces[1 : len(pieces)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}
