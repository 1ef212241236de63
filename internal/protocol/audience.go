package protocol

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxAudience is the longest audience a certificate is issued for.
const MaxAudience = 256

// ValidAudience checks an audience a certificate would be issued for (a
// relying party's identity, shown to people and compared by browsers).
// The authority refuses a check-in asking for any other, and the agent
// refuses to keep one, by this one rule:
// 1 to 256 printable characters, and either an https URL with a host
// (http only to a loopback host, for tests and local relays), an
// identifier urn:… or tag:…, or a plain name such as shop.example.
// Schemes that run code or carry data (javascript:, data:, file:, …),
// URLs with a user name or a fragment, and plain names holding quotes or
// angle brackets are refused.
func ValidAudience(aud string) error {
	if aud == "" {
		return errors.New("the audience is empty")
	}
	if n := len(aud); n > MaxAudience {
		return fmt.Errorf("the audience is %d bytes long; at most %d are accepted", n, MaxAudience)
	}
	if !utf8.ValidString(aud) {
		return fmt.Errorf("the audience %q is not UTF-8", aud)
	}
	for _, r := range aud {
		if r < 0x21 || r == 0x7f || (r >= 0x80 && r < 0xa0) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
			return fmt.Errorf("the audience %q holds a space, control or format character", aud)
		}
	}
	scheme, rest, hasScheme := strings.Cut(aud, ":")
	if !hasScheme || strings.ContainsAny(scheme, "/?#") {
		if strings.ContainsAny(aud, "<>\"'`\\") {
			return fmt.Errorf("the audience %q holds characters a name does not need", aud)
		}
		return nil
	}
	switch strings.ToLower(scheme) {
	case "https", "http":
		u, err := url.Parse(aud)
		if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
			return fmt.Errorf("the audience %q is not a URL like https://bank.example", aud)
		}
		if strings.EqualFold(scheme, "http") && !loopbackHost(u.Hostname()) {
			return fmt.Errorf("the audience %q is plain http to a host other than loopback; use https", aud)
		}
		return nil
	case "urn", "tag":
		if rest == "" || strings.ContainsAny(rest, "<>\"'`\\") {
			return fmt.Errorf("the audience %q is not an identifier like %s:example.com,2026:shop", aud, strings.ToLower(scheme))
		}
		return nil
	}
	return fmt.Errorf("the audience %q is neither an https URL nor an identifier like urn:… or tag:…", aud)
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
