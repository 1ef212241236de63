// Package guide is herd's plain-language help for each finding: what the
// check means, why it matters, and how to fix it on each platform, in
// every supported language. The agent, the relying-party warning page and
// the authority's public pages all tell people the same thing.
package guide

import (
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/i18n"
)

// Entry is the help for one check.
type Entry struct {
	ID    health.CheckID
	Title i18n.Text
	Why   i18n.Text
	// Fix is how to fix it, per OS (linux, windows, darwin).
	Fix map[string]i18n.Text
}

// FixFor returns the fix for goos, or the first one when goos is unknown.
func (e Entry) FixFor(goos string) i18n.Text {
	if t, ok := e.Fix[goos]; ok {
		return t
	}
	for _, os := range []string{"windows", "darwin", "linux"} {
		if t, ok := e.Fix[os]; ok {
			return t
		}
	}
	return i18n.Text{}
}

// For returns the help for a check id; ok is false for an unknown id.
func For(id health.CheckID) (Entry, bool) {
	e, ok := entries[id]
	return e, ok
}

// All returns the help for every check, in design order.
func All() []Entry {
	out := make([]Entry, 0, len(health.CheckIDs))
	for _, id := range health.CheckIDs {
		out = append(out, entries[id])
	}
	return out
}

var T = i18n.T

var entries = map[health.CheckID]Entry{
	health.Firewall: {
		ID:    health.Firewall,
		Title: T("Firewall", "防火墙"),
		Why:   T("A firewall stops other computers on the network from reaching programs on this device that were never meant to be reachable.", "防火墙可阻止网络上的其他计算机访问本设备上本不应对外开放的程序。"),
		Fix: map[string]i18n.Text{
			"windows": T("Open Settings → Privacy & security → Windows Security → Firewall & network protection, and turn the firewall on for the active network.", "打开“设置”→“隐私和安全性”→“Windows 安全中心”→“防火墙和网络保护”，为当前网络打开防火墙。"),
			"darwin":  T("Open System Settings → Network → Firewall and turn the firewall on.", "打开“系统设置”→“网络”→“防火墙”，然后打开防火墙。"),
			"linux":   T("Turn on the firewall your distribution already has, for example ufw on Ubuntu (`sudo ufw allow OpenSSH` first if you manage it over SSH, then `sudo ufw enable`) or firewalld on Fedora (`sudo systemctl enable --now firewalld`).", "启用发行版已有的防火墙，例如 Ubuntu 上的 ufw（如果通过 SSH 管理，请先运行 `sudo ufw allow OpenSSH`，再运行 `sudo ufw enable`），或 Fedora 上的 firewalld（`sudo systemctl enable --now firewalld`）。"),
		},
	},
	health.Antivirus: {
		ID:    health.Antivirus,
		Title: T("Antivirus protection", "防病毒保护"),
		Why:   T("Real-time antivirus protection catches most known malware before it can run.", "实时防病毒保护能在大多数已知恶意软件运行之前将其拦截。"),
		Fix: map[string]i18n.Text{
			"windows": T("Open Windows Security → Virus & threat protection and turn on real-time protection, or make sure your own antivirus product is running.", "打开“Windows 安全中心”→“病毒和威胁防护”，打开实时保护；或确认你安装的防病毒软件正在运行。"),
			"darwin":  T("Keep macOS's built-in XProtect on by installing system data files and security responses automatically (System Settings → General → Software Update → Automatic updates).", "在“系统设置”→“通用”→“软件更新”→“自动更新”中打开“安装系统数据文件和安全响应”，让 macOS 内置的 XProtect 保持有效。"),
			"linux":   T("Install and run an on-access scanner, for example ClamAV (`sudo apt install clamav-daemon`), if your organisation requires one.", "如单位要求，请安装并运行实时扫描程序，例如 ClamAV（`sudo apt install clamav-daemon`）。"),
		},
	},
	health.AntivirusSignatures: {
		ID:    health.AntivirusSignatures,
		Title: T("Antivirus updates", "防病毒特征库更新"),
		Why:   T("Antivirus recognises new malware only from recent signature updates.", "防病毒软件只有依靠最新的特征库才能识别新出现的恶意软件。"),
		Fix: map[string]i18n.Text{
			"windows": T("Open Windows Security → Virus & threat protection → Protection updates and select Check for updates.", "打开“Windows 安全中心”→“病毒和威胁防护”→“保护更新”，点击“检查更新”。"),
			"darwin":  T("Open System Settings → General → Software Update and install any security responses and system data files.", "打开“系统设置”→“通用”→“软件更新”，安装安全响应和系统数据文件。"),
			"linux":   T("Update the signatures with `sudo freshclam` and keep the freshclam service running.", "运行 `sudo freshclam` 更新特征库，并保持 freshclam 服务运行。"),
		},
	},
	health.AutoUpdate: {
		ID:    health.AutoUpdate,
		Title: T("Automatic updates", "自动更新"),
		Why:   T("Most attacks use security holes that were already fixed; automatic updates close them without you having to remember.", "大多数攻击利用的是早已修复的安全漏洞；自动更新能在你无需操心的情况下及时修补。"),
		Fix: map[string]i18n.Text{
			"windows": T("Open Settings → Windows Update and make sure updates are not paused; ask your IT department if a policy turned them off.", "打开“设置”→“Windows 更新”，确认更新没有被暂停；如果是组织策略关闭了更新，请联系 IT 部门。"),
			"darwin":  T("Open System Settings → General → Software Update → Automatic updates and turn on installing security responses and macOS updates.", "打开“系统设置”→“通用”→“软件更新”→“自动更新”，打开安装安全响应和 macOS 更新。"),
			"linux":   T("Turn on automatic security updates, for example `sudo apt install unattended-upgrades && sudo dpkg-reconfigure -plow unattended-upgrades` on Debian and Ubuntu, or `sudo dnf install dnf-automatic && sudo systemctl enable --now dnf-automatic.timer` on Fedora.", "打开自动安全更新，例如在 Debian 和 Ubuntu 上运行 `sudo apt install unattended-upgrades && sudo dpkg-reconfigure -plow unattended-upgrades`，在 Fedora 上运行 `sudo dnf install dnf-automatic && sudo systemctl enable --now dnf-automatic.timer`。"),
		},
	},
	health.PendingUpdates: {
		ID:    health.PendingUpdates,
		Title: T("Pending security updates", "待安装的安全更新"),
		Why:   T("A security update protects you only once it is installed and, where needed, the device has restarted.", "安全更新只有在安装完成、并在需要时重启设备之后才会生效。"),
		Fix: map[string]i18n.Text{
			"windows": T("Open Settings → Windows Update, install the updates and restart when asked.", "打开“设置”→“Windows 更新”，安装更新并按提示重启。"),
			"darwin":  T("Open System Settings → General → Software Update, install the updates and restart when asked.", "打开“系统设置”→“通用”→“软件更新”，安装更新并按提示重启。"),
			"linux":   T("Install the updates (`sudo apt update && sudo apt upgrade`, or `sudo dnf upgrade`) and restart if the system asks for it.", "安装更新（`sudo apt update && sudo apt upgrade` 或 `sudo dnf upgrade`），如系统提示则重启。"),
		},
	},
	health.OSSupport: {
		ID:    health.OSSupport,
		Title: T("Supported operating system", "受支持的操作系统"),
		Why:   T("An operating system past its end of support gets no more security fixes, so every new hole stays open.", "超过支持期的操作系统不再获得安全修复，新发现的漏洞将一直存在。"),
		Fix: map[string]i18n.Text{
			"windows": T("Upgrade to a Windows version that still receives security updates (Settings → Windows Update).", "升级到仍在接收安全更新的 Windows 版本（“设置”→“Windows 更新”）。"),
			"darwin":  T("Upgrade to a macOS version that still receives security updates (System Settings → General → Software Update).", "升级到仍在接收安全更新的 macOS 版本（“系统设置”→“通用”→“软件更新”）。"),
			"linux":   T("Upgrade to a release of your distribution that still receives security updates.", "将发行版升级到仍在接收安全更新的版本。"),
		},
	},
	health.DiskEncryption: {
		ID:    health.DiskEncryption,
		Title: T("Disk encryption", "磁盘加密"),
		Why:   T("If the device is lost or stolen, encryption keeps your files and saved passwords unreadable.", "设备丢失或被盗时，加密能让你的文件和保存的密码无法被读取。"),
		Fix: map[string]i18n.Text{
			"windows": T("Turn on BitLocker or Device encryption (Settings → Privacy & security → Device encryption), and keep the recovery key somewhere safe.", "打开 BitLocker 或“设备加密”（“设置”→“隐私和安全性”→“设备加密”），并把恢复密钥保存在安全的地方。"),
			"darwin":  T("Turn on FileVault (System Settings → Privacy & Security → FileVault), and keep the recovery key somewhere safe.", "打开 FileVault（“系统设置”→“隐私与安全性”→“FileVault”），并把恢复密钥保存在安全的地方。"),
			"linux":   T("Encryption is chosen when Linux is installed: reinstall with the \"encrypt the disk\" (LUKS) option after backing up your files.", "Linux 的磁盘加密需在安装时选择：请先备份文件，然后重新安装并勾选“加密磁盘”（LUKS）选项。"),
		},
	},
	health.ScreenLock: {
		ID:    health.ScreenLock,
		Title: T("Screen lock", "屏幕锁定"),
		Why:   T("A screen that locks itself keeps others from using the device when you step away.", "自动锁屏可防止你离开时他人使用你的设备。"),
		Fix: map[string]i18n.Text{
			"windows": T("Open Settings → Accounts → Sign-in options and require sign-in after the screen turns off; set the screen to turn off after 15 minutes or less.", "打开“设置”→“帐户”→“登录选项”，设置屏幕关闭后需要重新登录；并将屏幕关闭时间设为 15 分钟或更短。"),
			"darwin":  T("Open System Settings → Lock Screen and require a password immediately after the screen saver starts or the display turns off.", "打开“系统设置”→“锁定屏幕”，设置在屏幕保护程序启动或显示器关闭后立即要求输入密码。"),
			"linux":   T("In your desktop's settings (GNOME: Settings → Privacy → Screen Lock), turn on automatic screen lock after a short blank-screen delay.", "在桌面设置中（GNOME：“设置”→“隐私”→“锁屏”）打开自动锁屏，并设置较短的黑屏延迟。"),
		},
	},
	health.SecureBoot: {
		ID:    health.SecureBoot,
		Title: T("Secure Boot", "安全启动"),
		Why:   T("Secure Boot stops malware from hiding in the start-up process, before the operating system and antivirus run.", "安全启动可防止恶意软件藏身于开机过程，即在操作系统和防病毒软件运行之前。"),
		Fix: map[string]i18n.Text{
			"windows": T("Restart into the UEFI firmware settings (Settings → System → Recovery → Advanced start-up → UEFI Firmware Settings) and enable Secure Boot.", "重启进入 UEFI 固件设置（“设置”→“系统”→“恢复”→“高级启动”→“UEFI 固件设置”），然后启用安全启动。"),
			"darwin":  T("On a Mac with Apple silicon or a T2 chip, start up in Recovery and set Full Security in Startup Security Utility.", "在搭载 Apple 芯片或 T2 芯片的 Mac 上，进入恢复模式，在“启动安全性实用工具”中选择“完整安全性”。"),
			"linux":   T("Enable Secure Boot in the UEFI firmware settings; most distributions boot with it through a signed shim.", "在 UEFI 固件设置中启用安全启动；大多数发行版通过已签名的 shim 支持安全启动。"),
		},
	},
	health.Malware: {
		ID:    health.Malware,
		Title: T("Signs of infection", "感染迹象"),
		Why:   T("This device showed a sign of known malware, such as a connection to a botnet's control server. It may be used by criminals without your knowledge.", "此设备出现了已知恶意软件的迹象，例如连接到僵尸网络的控制服务器。它可能在你不知情的情况下被犯罪分子利用。"),
		Fix: map[string]i18n.Text{
			"windows": T("Run a full and an offline scan in Windows Security (Virus & threat protection → Scan options → Microsoft Defender Offline scan), remove what it finds, then change your important passwords from another, clean device.", "在“Windows 安全中心”中运行完整扫描和脱机扫描（“病毒和威胁防护”→“扫描选项”→“Microsoft Defender 脱机扫描”），清除发现的威胁，然后用另一台干净的设备修改重要密码。"),
			"darwin":  T("Remove apps you do not recognise, install all updates (they refresh XProtect), restart, then change your important passwords from another, clean device.", "删除你不认识的应用，安装所有更新（会同时更新 XProtect）并重启，然后用另一台干净的设备修改重要密码。"),
			"linux":   T("Scan with ClamAV (`sudo clamscan -r /`), stop and remove what it finds; if in doubt reinstall from trusted media, then change your important passwords from another, clean device.", "用 ClamAV 扫描（`sudo clamscan -r /`），停止并删除发现的程序；如有疑问，请用可信介质重新安装系统，然后用另一台干净的设备修改重要密码。"),
		},
	},
}

// LearnURL is the authority's public page about a finding:
// issuer + "/learn/" + id. The agent, the relying party's warning page
// and the console all link there.
func LearnURL(issuer string, id health.CheckID) string {
	return strings.TrimRight(issuer, "/") + "/learn/" + string(id)
}
