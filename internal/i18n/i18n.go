// Package i18n holds the few pieces herd needs to speak to people in their
// language: a text in every supported language, and the choice of
// language from a flag or the environment.
package i18n

import (
	"os"
	"strings"
)

// Lang is a BCP 47 language tag herd supports.
type Lang string

const (
	English Lang = "en"
	Chinese Lang = "zh-CN"
)

// Supported lists the languages every message exists in.
var Supported = []Lang{English, Chinese}

// Text is one message in every supported language.
type Text struct {
	En string
	Zh string
}

// T makes a Text.
func T(en, zh string) Text { return Text{En: en, Zh: zh} }

// In returns the message in lang, falling back to English.
func (t Text) In(lang Lang) string {
	if lang == Chinese && t.Zh != "" {
		return t.Zh
	}
	return t.En
}

// IsZero reports whether t has no message.
func (t Text) IsZero() bool { return t.En == "" && t.Zh == "" }

// Parse maps a tag such as "zh", "zh_CN.UTF-8" or "en-GB" to a supported
// language; ok is false when the tag names none.
func Parse(tag string) (Lang, bool) {
	t := strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(t, ".@"); i >= 0 {
		t = t[:i]
	}
	t = strings.ReplaceAll(t, "_", "-")
	switch {
	case t == "":
		return English, false
	case t == "zh" || strings.HasPrefix(t, "zh-cn") || strings.HasPrefix(t, "zh-hans") || strings.HasPrefix(t, "zh-sg"):
		return Chinese, true
	case t == "en" || strings.HasPrefix(t, "en-") || t == "c" || t == "posix":
		return English, true
	}
	return English, false
}

// FromEnv picks the language from LC_ALL, LC_MESSAGES and LANG, in the
// order POSIX gives them; English when none names a supported language.
func FromEnv() Lang {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := os.Getenv(k); v != "" {
			l, _ := Parse(v)
			return l
		}
	}
	return English
}
