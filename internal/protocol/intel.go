package protocol

import (
	"strings"
	"time"
)

// PathIndicators serves the signed indicator bundle to enrolled devices.
const PathIndicators = "/v1/indicators"

// JWS types of what the authority signs for devices besides certificates.
const (
	// IndicatorsType is the typ of the detached JWS over an indicator
	// bundle or delta.
	IndicatorsType = "herd-indicators+jws"
	// NoticeType is the typ of a signed message for the device's user.
	NoticeType = "herd-notice+jws"
)

// HeaderSignature carries the detached JWS (RFC 7515 appendix F: the
// payload part left empty) over the body of a PathIndicators answer.
const HeaderSignature = "Herd-Signature"

// IndicatorsOffer tells a device, in the check-in answer, which bundle
// version the authority holds and how to download it: GET URI?since=N
// with "Authorization: Bearer Token" until ExpiresAt.
type IndicatorsOffer struct {
	Version   int64     `json:"version"`
	URI       string    `json:"uri"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SightingQuestion asks a device whether its own history shows, within
// Window of Around, what an outside report saw its address do. It
// answers with a health.SightingAnswer in its next statement.
//
// With Match MatchEndpoint (or empty), the report named the botnet
// server: the device looks for C2 ("ip" or "ip:port") in its history.
// With Match MatchFamily, the report named only the malware family (a
// sinkhole or drone report without the server): C2 is empty, and the
// device looks for any endpoint in its history that its signed indicator
// bundle lists as an address of that family (its indicator's family and
// Family the same under FamilyKey). It answers Seen only with such an
// endpoint, and gives it (and when it was seen) as the answer's
// evidence. The authority asks a family question only when its bundle
// holds addresses of that family.
//
// Either way a device confirms only from an endpoint its signed
// indicator bundle lists: a question about any other address is answered
// "not seen", so the authority cannot probe a device's history.
type SightingQuestion struct {
	ID            int64     `json:"id"`
	C2            string    `json:"c2"`
	Family        string    `json:"family,omitempty"`
	Match         string    `json:"match,omitempty"`
	Around        time.Time `json:"around"`
	WindowSeconds int64     `json:"window_seconds"`
}

// What a SightingQuestion asks to look for.
const (
	// MatchEndpoint: the C2 endpoint the question names.
	MatchEndpoint = "endpoint"
	// MatchFamily: any address the bundle lists for the family.
	MatchFamily = "family"
)

// familyAliases are other names feeds give the same malware family.
var familyAliases = map[string]string{
	"qbot":        "qakbot",
	"quakbot":     "qakbot",
	"pinkslipbot": "qakbot",
	"oakboat":     "qakbot",
	"geodo":       "emotet",
	"heodo":       "emotet",
	"beacon":      "cobaltstrike",
	"agentemis":   "cobaltstrike",
	"cobeacon":    "cobaltstrike",
	"negasteal":   "agenttesla",
	"bugat":       "dridex",
	"cridex":      "dridex",
	"trickster":   "trickbot",
	"sirefef":     "zeroaccess",
}

// FamilyKey is how the authority and agents compare malware family
// names from different feeds: lowercase, without a platform prefix
// ("win.", "elf.", "osx.", "apk." as Malpedia writes them), without
// parenthesised notes ("Mirai (ELF)"), letters and digits only, and
// well-known aliases (QBot, Pinkslipbot) as one name. "QakBot",
// "win.qakbot" and "qbot" have the same key; an empty name has the key "".
func FamilyKey(name string) string {
	s := strings.ToLower(strings.TrimSpace(name))
	for {
		i := strings.IndexByte(s, '(')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], ')')
		if j < 0 {
			s = s[:i]
			break
		}
		s = s[:i] + s[i+j+1:]
	}
	for _, p := range []string{"win.", "elf.", "osx.", "apk.", "jar.", "js.", "ps1.", "py.", "vbs.", "php.", "asp.", "ios."} {
		if strings.HasPrefix(s, p) {
			s = s[len(p):]
			break
		}
	}
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	k := b.String()
	if a, ok := familyAliases[k]; ok {
		return a
	}
	return k
}

// Localized is a text in each language the agent shows.
type Localized struct {
	EN string `json:"en"`
	ZH string `json:"zh-CN"`
}

// Notice is the payload of a NoticeType JWS: a message the authority
// wants the device's user to see, with the steps to act on it.
type Notice struct {
	Issuer   string      `json:"iss"`
	DeviceID string      `json:"sub"`
	IssuedAt int64       `json:"iat"`
	Expiry   int64       `json:"exp"`
	Verdict  string      `json:"verdict"`
	Title    Localized   `json:"title"`
	Message  Localized   `json:"message"`
	Steps    []Localized `json:"steps"`
	// Sighting is set when the verdict rests on an outside sighting the
	// device's own connection history confirmed.
	Sighting *NoticeSighting `json:"sighting,omitempty"`
}

// NoticeSighting says what an outside report and the device's own
// history confirmed, and when the hold on the device ends by itself.
type NoticeSighting struct {
	// Endpoint is the botnet control server the device's history shows.
	Endpoint string `json:"endpoint"`
	Family   string `json:"family,omitempty"`
	// SeenAt is when the device's history last saw the endpoint.
	SeenAt time.Time `json:"seen_at"`
	// ConfirmedAt is when the device's answer reached the authority.
	ConfirmedAt time.Time `json:"confirmed_at"`
	// Until is when the hold ends unless an operator clears it sooner.
	Until time.Time `json:"until"`
}
