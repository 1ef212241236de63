package checktest

import (
	"strings"
	"unicode"
)

// functionWords are English words that occur in sentences but not in
// product names, commands or setting names. A Chinese text that holds a
// run of English words with these in it holds an English sentence.
var functionWords = map[string]bool{
	"a": true, "an": true, "the": true, "is": true, "are": true, "was": true, "were": true,
	"be": true, "been": true, "has": true, "have": true, "had": true, "not": true, "no": true,
	"of": true, "to": true, "in": true, "for": true, "with": true, "by": true, "from": true,
	"and": true, "or": true, "but": true, "whether": true, "if": true, "that": true, "this": true,
	"it": true, "its": true, "can": true, "cannot": true, "could": true, "does": true, "do": true,
	"which": true, "what": true, "how": true, "when": true, "there": true, "so": true, "at": true,
	"as": true, "than": true, "then": true, "will": true, "would": true, "should": true, "may": true,
}

// isCJK reports whether r is Chinese, Japanese or Korean script or CJK
// punctuation (including full-width forms).
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		(r >= 0x3000 && r <= 0x303f) || (r >= 0xff00 && r <= 0xffef)
}

// stripCode removes what is quoted as code: `…` spans.
func stripCode(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '`':
			in = !in
			b.WriteRune(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// englishRuns splits a Chinese text into runs of consecutive English
// words: tokens of Latin letters (with inner - ' . _) separated only by
// spaces. A token that looks like a path, a file name, an option or a
// key (it holds / \ = : or a dot between letters, or starts with -) ends
// a run, as does any other character.
func englishRuns(s string) [][]string {
	var runs [][]string
	var cur []string
	end := func() {
		if len(cur) > 0 {
			runs = append(runs, cur)
		}
		cur = nil
	}
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }) {
		// Split the token further at CJK and punctuation, keeping word
		// characters together.
		start := 0
		rs := []rune(tok)
		for i := 0; i <= len(rs); i++ {
			if i < len(rs) && !isBreak(rs[i]) {
				continue
			}
			word := string(rs[start:i])
			start = i + 1
			switch {
			case word == "":
			case isEnglishWord(word):
				cur = append(cur, word)
			default:
				end()
			}
			if i < len(rs) {
				end() // a break inside a token ends the run
			}
		}
	}
	end()
	return runs
}

// isBreak reports whether r ends a word inside a token.
func isBreak(r rune) bool {
	return isCJK(r) || strings.ContainsRune(",;()[]{}<>\"“”‘’!?", r)
}

// isEnglishWord reports whether w is a plain English word: letters, with
// at most inner hyphens or apostrophes, and no path, option or number.
func isEnglishWord(w string) bool {
	w = strings.TrimRight(w, ".:")
	if w == "" || strings.HasPrefix(w, "-") || strings.ContainsAny(w, "/\\=_.:~$%#@*") {
		return false
	}
	letters := 0
	for _, r := range w {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			letters++
		case r == '-' || r == '\'':
		default:
			return false
		}
	}
	return letters > 0
}

// LanguageProblems lists what is in the wrong language: English
// sentences inside the Chinese text zh, and CJK characters inside the
// English text en. what names the texts in the messages.
//
// A Chinese text may name products, settings, commands and files in
// English ("Windows Defender", "sudo apt install unattended-upgrades",
// "/var/lib/dpkg/status"); it may not hold English prose. The line is
// drawn at a run of three or more consecutive English words (outside
// `code`, with paths, options and keys breaking runs) of which at least
// two are function words such as "is", "whether", "the" — the words
// product names and commands do not have — or a run of six or more words
// with at least one.
func LanguageProblems(what, en, zh string) []string {
	var out []string
	if strings.IndexFunc(en, isCJK) >= 0 {
		out = append(out, what+": the English text holds Chinese: "+en)
	}
	for _, run := range englishRuns(stripCode(zh)) {
		fw := 0
		for _, w := range run {
			if functionWords[strings.ToLower(strings.TrimRight(w, ".:"))] {
				fw++
			}
		}
		if len(run) >= 3 && (fw >= 2 || (len(run) >= 6 && fw >= 1)) {
			out = append(out, what+": the Chinese text holds English words \""+strings.Join(run, " ")+"\": "+zh)
		}
	}
	return out
}
