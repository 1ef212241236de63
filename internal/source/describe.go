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
