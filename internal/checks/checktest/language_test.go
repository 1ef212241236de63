package checktest

import "testing"

func TestLanguageProblems(t *testing.T) {
	tests := []struct {
		name, en, zh string
		problems     int
	}{
		{"clean pair", "The firewall is on.", "防火墙已开启。", 0},
		{"known case: English inside Chinese", "herd could not read whether unattended-upgrades is installed.",
			"herd 无法读取 whether unattended-upgrades is installed (/var/lib/dpkg/status)，无法判断。", 1},
		{"command outside backticks", "Run sudo apt install unattended-upgrades.", "请运行 sudo apt install unattended-upgrades 开启自动更新。", 0},
		{"command in backticks", "Run `sudo ufw enable`.", "请运行 `sudo ufw enable is the command to run here`。", 0},
		{"product names", "Windows Defender is off.", "Windows Defender 已关闭；Microsoft Defender Antivirus 处于被动模式。", 0},
		{"setting path", "Open System Settings.", "打开“系统设置 > Privacy & Security > FileVault”。", 0},
		{"file path", "x", "herd 无法读取 /etc/apt/apt.conf.d/20auto-upgrades 和 C:\\Windows\\System32。", 0},
		{"herd and a product", "x", "herd 无法判断 Software Update 是否已开启。", 0},
		{"long English sentence", "x", "请注意：this device has not been checked for updates recently。", 1},
		{"Chinese in English", "The firewall is 开启.", "防火墙已开启。", 1},
		{"full-width punctuation in English", "Done：yes", "完成。", 1},
		{"both wrong", "开启", "herd 无法读取 whether the file is there。", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := LanguageProblems("reason", tc.en, tc.zh)
			if len(got) != tc.problems {
				t.Errorf("got %d problems, want %d: %q", len(got), tc.problems, got)
			}
		})
	}
}

func TestParseOsqueryTable(t *testing.T) {
	rows, err := ParseOsqueryTable("osquery> SELECT a, b FROM t;\n+---+-----+\n| a | b   |\n+---+-----+\n| 1 | x y |\n| 2 |     |\n+---+-----+\n")
	if err != nil || len(rows) != 2 || rows[0]["a"] != "1" || rows[0]["b"] != "x y" || rows[1]["b"] != "" {
		t.Errorf("rows = %v, %v", rows, err)
	}
	if _, err := ParseOsqueryTable("osquery> SELECT 1;\n"); err == nil {
		t.Error("no table: no error")
	}
	if _, err := ParseOsqueryTable("| a | b |\n| 1 |\n"); err == nil {
		t.Error("a short row: no error")
	}
}
