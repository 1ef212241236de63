//go:build !windows

package agent

import "os"

// runningAsService: the agent runs as root, as the installed service
// does (a systemd unit, a LaunchDaemon), outside any user's session.
func runningAsService() bool { return os.Geteuid() == 0 }

// consoleMessage exists on Windows only.
func consoleMessage(title, body string) error { return ErrNoSession }
