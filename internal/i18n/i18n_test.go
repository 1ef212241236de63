package i18n

import "testing"

func TestParse(t *testing.T) {
	for _, c := range []struct {
		tag  string
		want Lang
		ok   bool
	}{
		{"en", English, true},
		{"en-GB", English, true},
		{"en_US.UTF-8", English, true},
		{"C", English, true},
		{"POSIX", English, true},
		{"C.UTF-8", English, true},
		{"zh", Chinese, true},
		{"zh-CN", Chinese, true},
		{"zh_CN.UTF-8", Chinese, true},
		{"zh_CN.GB18030", Chinese, true},
		{"zh-Hans", Chinese, true},
		{"zh-Hans-CN", Chinese, true},
		{"zh_SG", Chinese, true},
		{"zh_CN@pinyin", Chinese, true},
		{" ZH-cn ", Chinese, true},
		{"zh-TW", English, false},
		{"zh_HK.UTF-8", English, false},
		{"fr_FR.UTF-8", English, false},
		{"", English, false},
		{"english", English, false},
	} {
		t.Run(c.tag, func(t *testing.T) {
			got, ok := Parse(c.tag)
			if got != c.want || ok != c.ok {
				t.Errorf("Parse(%q) = %q, %v; want %q, %v", c.tag, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	for _, c := range []struct {
		name                    string
		lcAll, lcMessages, lang string
		want                    Lang
	}{
		{"nothing set", "", "", "", English},
		{"LANG Chinese", "", "", "zh_CN.UTF-8", Chinese},
		{"LANG English", "", "", "en_US.UTF-8", English},
		{"LC_MESSAGES wins over LANG", "", "zh_CN.UTF-8", "en_US.UTF-8", Chinese},
		{"LC_ALL wins over both", "en_US.UTF-8", "zh_CN.UTF-8", "zh_CN.UTF-8", English},
		{"LC_ALL Chinese", "zh_CN.UTF-8", "", "en_US.UTF-8", Chinese},
		{"unsupported LC_ALL gives English, not LANG", "fr_FR.UTF-8", "", "zh_CN.UTF-8", English},
		{"C locale", "", "", "C", English},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("LC_ALL", c.lcAll)
			t.Setenv("LC_MESSAGES", c.lcMessages)
			t.Setenv("LANG", c.lang)
			if got := FromEnv(); got != c.want {
				t.Errorf("FromEnv = %q, want %q", got, c.want)
			}
		})
	}
}

func TestIn(t *testing.T) {
	m := T("on", "开")
	if m.In(English) != "on" || m.In(Chinese) != "开" || m.In("de") != "on" {
		t.Errorf("In: %q %q %q", m.In(English), m.In(Chinese), m.In("de"))
	}
	if T("only English", "").In(Chinese) != "only English" {
		t.Error("missing Chinese does not fall back to English")
	}
}
