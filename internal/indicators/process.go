package indicators

import (
	"fmt"
	"strings"
)

// A process-name indicator alarms every device that runs a program of
// that name, so it must name something only malware is called: never a
// program every Windows, macOS or Linux machine runs (svchost.exe,
// explorer.exe, launchd, systemd, bash), a common application or
// interpreter (chrome, python), a tool attackers borrow but owners use
// every day (powershell, rundll32, curl), or a generic word (update,
// service). Such names are refused at import and left out of bundles.

// genericProcesses are lowercase names, without ".exe".
var genericProcesses = func() map[string]bool {
	m := map[string]bool{}
	for _, group := range []string{
		// Windows: the system, its services and shell.
		`system idle registry smss csrss wininit winlogon services lsass lsaiso lsm svchost fontdrvhost dwm explorer
		sihost taskhost taskhostw taskhostex taskeng ctfmon conhost runtimebroker searchindexer searchprotocolhost
		searchfilterhost searchhost searchapp searchui startmenuexperiencehost shellexperiencehost textinputhost
		applicationframehost systemsettings lockapp logonui userinit consent dllhost spoolsv audiodg wmiprvse
		wuauclt usocoreworker usoclient musnotification trustedinstaller tiworker msiexec mmc taskmgr werfault
		wermgr smartscreen securityhealthservice securityhealthsystray msmpeng nissrv mpcmdrun mpdefendercoreservice
		sgrmbroker backgroundtaskhost compattelrunner sppsvc dashost wlanext dwwin oobe winver`,
		// Windows tools owners use, also borrowed by attackers.
		`cmd powershell powershell_ise pwsh wscript cscript mshta rundll32 regsvr32 regedit reg control notepad
		calc mspaint wordpad write schtasks sc net net1 netsh ipconfig ping tasklist taskkill whoami certutil
		bitsadmin wmic vssadmin bcdedit at atbroker cipher robocopy xcopy findstr`,
		// Applications and runtimes on any system.
		`chrome chromium msedge msedgewebview2 firefox iexplore opera brave safari outlook winword excel powerpnt
		onenote teams ms-teams onedrive skype slack discord zoom spotify steam code devenv java javaw node nodejs
		python pythonw python3 py perl ruby php go dotnet git ssh sshd ssh-agent gpg-agent curl wget vmtoolsd
		vboxservice thunderbird`,
		// Linux.
		`init systemd systemd-journald systemd-logind systemd-udevd systemd-resolved systemd-networkd
		systemd-timesyncd kthreadd kworker ksoftirqd migration rcu_sched bash sh dash zsh ksh csh tcsh fish
		busybox sudo su login agetty getty cron crond atd anacron dbus-daemon dbus-broker networkmanager
		wpa_supplicant dhclient avahi-daemon cupsd rsyslogd syslog-ng auditd polkitd udisksd upowerd
		accounts-daemon snapd packagekitd unattended-upgrade apt apt-get dpkg dnf yum rpm gnome-shell
		gnome-session plasmashell kwin_x11 kwin_wayland xorg xwayland pulseaudio pipewire wireplumber gdm gdm3
		lightdm sddm nautilus gnome-terminal konsole xterm tmux screen vim nano less top htop ps ls cat grep
		awk sed find tar gzip docker dockerd containerd containerd-shim runc kubelet nginx apache2 httpd
		mysqld mariadbd postgres redis-server`,
		// macOS.
		`launchd kernel_task windowserver loginwindow finder dock systemuiserver controlcenter spotlight mds
		mds_stores mdworker mdworker_shared coreaudiod cfprefsd distnoted syslogd configd notifyd
		opendirectoryd securityd trustd bluetoothd airportd powerd sharingd usernoted nsurlsessiond
		softwareupdated softwareupdate xprotect xprotectservice mrt terminal iterm2 mail messages facetime
		photos music xcode`,
		// This project's own agent, and words any program may be called.
		`herd herd-agent update updater setup install installer uninstall service services host agent client
		server daemon helper launcher app application main test run start tmp temp worker svc sys system32`,
	} {
		for _, n := range strings.Fields(group) {
			m[n] = true
		}
	}
	return m
}()

// MinProcessLen is the shortest process name (without ".exe") an
// indicator may have; shorter names are too likely to be something else.
const MinProcessLen = 3

// ProcessName canonicalises a process-name indicator: the program's name
// (the last element of a path), lowercase, as MatchProcess compares it.
// It refuses, with an error matching ErrNotSpecific, a name that is
// empty, shorter than MinProcessLen, or the name of a common program.
func ProcessName(s string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	if i := strings.LastIndexAny(n, `/\`); i >= 0 {
		n = n[i+1:]
	}
	if n == "" {
		return "", notSpecific(fmt.Sprintf("%q is no program name", s))
	}
	for _, r := range n {
		if r < ' ' || r == 0x7f {
			return "", fmt.Errorf("process name %q has control characters", s)
		}
	}
	if len(n) > 255 {
		return "", fmt.Errorf("process name %.40q… is too long", n)
	}
	base := strings.TrimSuffix(n, ".exe")
	if len(base) < MinProcessLen {
		return "", notSpecific(fmt.Sprintf("%q is too short to name one program", n))
	}
	if genericProcesses[base] {
		return "", notSpecific(fmt.Sprintf("%q is the name of a program found on ordinary computers, not of malware", n))
	}
	return n, nil
}
