package guide

import (
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/i18n"
)

// What says what a finding means: what herd looked at and what it found.
func What(id health.CheckID) i18n.Text { return what[id] }

// Steps returns how to fix a finding on goos as numbered steps in lang:
// the fuller step-by-step text where the guide has it, else the fix cut
// into its sentences and menu steps.
func Steps(id health.CheckID, goos string, lang i18n.Lang) []string {
	if s, ok := steps[id][goos]; ok {
		out := make([]string, len(s))
		for i, t := range s {
			out[i] = t.In(lang)
		}
		return out
	}
	e, ok := For(id)
	if !ok {
		return nil
	}
	txt := e.FixFor(goos).In(lang)
	var out []string
	for _, part := range strings.FieldsFunc(txt, func(r rune) bool { return r == '。' }) {
		if p := strings.TrimSpace(part); p != "" {
			if lang == i18n.Chinese {
				p += "。"
			}
			out = append(out, p)
		}
	}
	return out
}

var what = map[health.CheckID]i18n.Text{
	health.Firewall:            T("herd found that this device's firewall is off, or could not confirm that it is on.", "herd 发现此设备的防火墙已关闭，或无法确认防火墙已开启。"),
	health.Antivirus:           T("herd found no antivirus product with real-time protection running on this device.", "herd 未在此设备上发现开启实时保护的防病毒软件。"),
	health.AntivirusSignatures: T("The antivirus signatures on this device are older than the policy allows.", "此设备上的防病毒特征库比策略允许的更旧。"),
	health.AutoUpdate:          T("Automatic updates are turned off, so security fixes do not arrive by themselves.", "自动更新已关闭，安全修复不会自动安装。"),
	health.PendingUpdates:      T("Security updates are waiting to be installed, or have waited too long.", "有安全更新等待安装，或等待时间过长。"),
	health.OSSupport:           T("This operating system version no longer receives security updates from its maker.", "此操作系统版本已不再获得厂商的安全更新。"),
	health.DiskEncryption:      T("The system disk is not encrypted, so anyone holding the device can read its files.", "系统磁盘未加密，拿到设备的人可以读取其中的文件。"),
	health.ScreenLock:          T("The screen does not lock by itself after a short time, or unlocks without a password.", "屏幕不会在短时间后自动锁定，或者解锁不需要密码。"),
	health.SecureBoot:          T("Secure Boot is off, so the device cannot refuse a tampered boot loader.", "安全启动已关闭，设备无法拒绝被篡改的启动程序。"),
	health.Malware:             T("herd found signs of malware on this device: a known malicious program, file, or a connection to a known command server.", "herd 在此设备上发现了恶意软件的迹象：已知的恶意程序、文件，或与已知控制服务器的连接。"),
}

// steps are fuller instructions where one sentence is not enough.
var steps = map[health.CheckID]map[string][]i18n.Text{
	health.Firewall: {
		"windows": {
			T("Press the Windows key, type “Windows Security” and open it.", "按 Windows 键，输入“Windows 安全中心”并打开。"),
			T("Choose Firewall & network protection.", "选择“防火墙和网络保护”。"),
			T("Select the network marked (active) and switch Microsoft Defender Firewall on.", "选择标有“(活动)”的网络，打开 Microsoft Defender 防火墙。"),
			T("Run the herd agent again (herd-agent check) to confirm.", "再次运行 herd 代理（herd-agent check）确认。"),
		},
		"darwin": {
			T("Open the Apple menu → System Settings.", "打开苹果菜单 →“系统设置”。"),
			T("Choose Network, then Firewall.", "选择“网络”，然后选择“防火墙”。"),
			T("Turn the firewall on.", "打开防火墙。"),
			T("Run herd-agent check to confirm.", "运行 herd-agent check 确认。"),
		},
		"linux": {
			T("Use the firewall your system already has: herd-agent check names it. Do not add a second one beside it.", "使用系统中已有的防火墙：herd-agent check 会指出是哪一个。不要在它之外再添加第二个。"),
			T("If you manage this computer over SSH, allow SSH before you block anything, or you will be locked out (ufw: sudo ufw allow OpenSSH).", "如果您通过 SSH 管理这台电脑，请在阻止任何连接之前先放行 SSH，否则会被锁在外面（ufw：sudo ufw allow OpenSSH）。"),
			T("Ubuntu and Debian with ufw: install it if needed (sudo apt install ufw), then run sudo ufw default deny incoming and sudo ufw enable.", "使用 ufw 的 Ubuntu 和 Debian：如有需要先安装 ufw（sudo apt install ufw），然后运行 sudo ufw default deny incoming 和 sudo ufw enable。"),
			T("Fedora, RHEL and openSUSE with firewalld: run sudo systemctl enable --now firewalld and keep a default zone other than trusted (sudo firewall-cmd --set-default-zone=public).", "使用 firewalld 的 Fedora、RHEL 和 openSUSE：运行 sudo systemctl enable --now firewalld，并保持默认区域不是 trusted（sudo firewall-cmd --set-default-zone=public）。"),
			T("nftables alone: give the input chain in /etc/nftables.conf the policy drop, after rules that accept established connections, loopback, ICMP and SSH (tcp dport 22), then run sudo systemctl enable --now nftables.", "仅使用 nftables：在 /etc/nftables.conf 中为 input 链设置 policy drop，并在其前加入放行已建立连接、回环接口、ICMP 和 SSH（tcp dport 22）的规则，然后运行 sudo systemctl enable --now nftables。"),
			T("Check the result with sudo ufw status or sudo firewall-cmd --state.", "用 sudo ufw status 或 sudo firewall-cmd --state 查看结果。"),
			T("Run herd-agent check to confirm.", "运行 herd-agent check 确认。"),
		},
	},
	health.DiskEncryption: {
		"windows": {
			T("Open Settings → Privacy & security → Device encryption (Windows Home) or Control Panel → BitLocker Drive Encryption (Pro).", "打开“设置”→“隐私和安全性”→“设备加密”（家庭版），或“控制面板”→“BitLocker 驱动器加密”（专业版）。"),
			T("Turn encryption on for the system drive (C:).", "为系统盘（C:）打开加密。"),
			T("Save the recovery key somewhere safe that is not this device, such as your Microsoft account or a printed copy.", "把恢复密钥保存在此设备以外的安全位置，例如你的 Microsoft 账户或打印件。"),
			T("Leave the device on until encryption finishes.", "保持设备开机直到加密完成。"),
		},
		"darwin": {
			T("Open System Settings → Privacy & Security.", "打开“系统设置”→“隐私与安全性”。"),
			T("Find FileVault and choose Turn On.", "找到“文件保险箱”，选择“打开”。"),
			T("Keep the recovery key somewhere safe, away from the Mac.", "把恢复密钥保存在 Mac 以外的安全位置。"),
		},
		"linux": {
			T("Back up your files first: encrypting an existing Linux system disk means reinstalling.", "请先备份文件：为已有的 Linux 系统盘加密需要重新安装系统。"),
			T("Reinstall and choose “Encrypt the new installation” (LUKS) in the installer.", "重新安装，并在安装程序中选择“加密新安装的系统”（LUKS）。"),
			T("Choose a long passphrase and keep a copy somewhere safe.", "设置一个较长的密码短语，并在安全位置保存副本。"),
		},
	},
	health.ScreenLock: {
		"windows": {
			T("Open Settings → Accounts → Sign-in options.", "打开“设置”→“账户”→“登录选项”。"),
			T("Under “If you've been away, when should Windows require you to sign in again?”, choose “When PC wakes up from sleep”.", "在“你离开后，Windows 应在何时要求你重新登录？”下选择“电脑从睡眠状态唤醒时”。"),
			T("Open Settings → System → Power and set the screen to turn off after 5 minutes or less.", "打开“设置”→“系统”→“电源”，将屏幕关闭时间设为 5 分钟或更短。"),
		},
		"darwin": {
			T("Open System Settings → Lock Screen.", "打开“系统设置”→“锁定屏幕”。"),
			T("Set “Require password after screen saver begins or display is turned off” to Immediately.", "将“屏幕保护程序启动或显示器关闭后需要密码”设为“立即”。"),
			T("Set the screen saver or display sleep to 5 minutes or less.", "将屏幕保护程序或显示器睡眠时间设为 5 分钟或更短。"),
		},
		"linux": {
			T("GNOME: open Settings → Privacy → Screen Lock and turn Automatic Screen Lock on.", "GNOME：打开“设置”→“隐私”→“锁屏”，打开“自动锁屏”。"),
			T("Set Blank Screen Delay (Settings → Power) to 5 minutes or less.", "在“设置”→“电源”中将“黑屏延迟”设为 5 分钟或更短。"),
			T("KDE: System Settings → Screen Locking, lock automatically after 5 minutes.", "KDE：“系统设置”→“锁屏”，设为 5 分钟后自动锁定。"),
		},
	},
	health.Malware: {
		"windows": {
			T("Disconnect the device from the network if you can.", "如有可能，先断开设备的网络连接。"),
			T("Open Windows Security → Virus & threat protection → Scan options, choose Microsoft Defender Offline scan and select Scan now.", "打开“Windows 安全中心”→“病毒和威胁防护”→“扫描选项”，选择“Microsoft Defender 脱机扫描”，然后点击“立即扫描”。"),
			T("After cleaning, change the passwords you used on this device from another, healthy device.", "清除之后，请在另一台健康的设备上修改你在此设备上用过的密码。"),
			T("If the finding comes back, ask your IT support or reinstall Windows.", "如果问题再次出现，请联系 IT 支持或重新安装 Windows。"),
		},
		"darwin": {
			T("Disconnect the Mac from the network if you can.", "如有可能，先断开 Mac 的网络连接。"),
			T("Install all updates in System Settings → General → Software Update (they include XProtect's removal tool), then restart.", "在“系统设置”→“通用”→“软件更新”中安装全部更新（其中包含 XProtect 清除工具），然后重新启动。"),
			T("Remove apps you do not recognise from Applications and from System Settings → General → Login Items.", "从“应用程序”和“系统设置”→“通用”→“登录项”中移除你不认识的应用。"),
			T("Change your passwords from another, healthy device.", "在另一台健康的设备上修改密码。"),
		},
		"linux": {
			T("Disconnect the machine from the network if you can.", "如有可能，先断开计算机的网络连接。"),
			T("Look at the process and connection herd named (herd-agent check --json shows the evidence) and stop that program.", "查看 herd 指出的进程和连接（herd-agent check --json 会显示证据），并停止该程序。"),
			T("Scan with an up-to-date scanner, e.g. sudo freshclam && sudo clamscan -r /home.", "使用最新的扫描程序进行扫描，例如 sudo freshclam && sudo clamscan -r /home。"),
			T("If the system itself was changed, reinstall from trusted media and change your passwords from another device.", "如果系统本身被改动，请用可信的介质重新安装，并在另一台设备上修改密码。"),
		},
	},
}
