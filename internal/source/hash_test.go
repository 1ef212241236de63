package source

import "testing"

func TestProcessNames(t *testing.T) {
	tests := []struct {
		exe, comm, name, other string
	}{
		{"/usr/bin/gnome-keyring-daemon", "gnome-keyring-d\n", "gnome-keyring-daemon", ""},
		{"/usr/sbin/sshd", "sshd\n", "sshd", ""},
		// A script: the interpreter is the executable, the kernel names the script.
		{"/usr/bin/python3.11", "miner.py\n", "python3.11", "miner.py"},
		// A process that renamed itself.
		{"/tmp/.x/xmrig", "[kworker/0:1]", "xmrig", "[kworker/0:1]"},
		// No executable to read (a kernel thread, another user's process).
		{"", "kworker/0:1\n", "kworker/0:1", ""},
		// Cut at 15, but not a prefix of the executable's name.
		{"/opt/app/launcher", "abcdefghijklmno", "launcher", "abcdefghijklmno"},
	}
	for _, tc := range tests {
		name, other := ProcessNames(tc.exe, tc.comm)
		if name != tc.name || other != tc.other {
			t.Errorf("ProcessNames(%q, %q) = %q, %q; want %q, %q", tc.exe, tc.comm, name, other, tc.name, tc.other)
		}
	}
}
