package healthcert

import "github.com/herd-health/herd/health"

// A fast path for decoding the JSON herd itself writes: a header and
// claims with ASCII strings free of escapes, integer times, no unknown,
// repeated or null members. Anything else makes it give up (ok false) and
// the caller decodes with encoding/json, so the result is always what
// encoding/json would produce; the fast path only saves time, because a
// relying party decodes every certificate it has not seen before.

type fastScanner struct {
	s string
	i int
}

func (p *fastScanner) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// consume skips whitespace and then c.
func (p *fastScanner) consume(c byte) bool {
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// peek skips whitespace and reports the next byte (0 at the end).
func (p *fastScanner) peek() byte {
	p.ws()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// str reads a string of printable ASCII without escapes.
func (p *fastScanner) str() (string, bool) {
	if !p.consume('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			v := p.s[start:p.i]
			p.i++
			return v, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
		p.i++
	}
	return "", false
}

// int reads an integer of at most 18 digits, no fraction or exponent.
func (p *fastScanner) int() (int64, bool) {
	p.ws()
	neg := false
	if p.i < len(p.s) && p.s[p.i] == '-' {
		neg = true
		p.i++
	}
	start := p.i
	var n int64
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		n = n*10 + int64(p.s[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 18 || (digits > 1 && p.s[start] == '0') {
		return 0, false
	}
	if p.i < len(p.s) {
		switch p.s[p.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// object reads {"key": value, …}, calling member for each key with the
// scanner positioned at the value. member returns false to give up.
// Keys must be distinct among the first 64 names member reports via bit.
func (p *fastScanner) object(member func(key string) bool) bool {
	if !p.consume('{') {
		return false
	}
	if p.peek() == '}' {
		p.i++
		return true
	}
	for {
		key, ok := p.str()
		if !ok || !p.consume(':') || !member(key) {
			return false
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

// end reports whether only whitespace is left.
func (p *fastScanner) end() bool {
	p.ws()
	return p.i == len(p.s)
}

// once marks bit in *seen and reports whether it was clear.
func once(seen *uint32, bit uint32) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// fastHeader decodes a protected header.
func fastHeader(b []byte, h *Header) bool {
	p := fastScanner{s: string(b)}
	var seen uint32
	ok := p.object(func(key string) bool {
		var ok bool
		switch key {
		case "alg":
			h.Alg, ok = p.str()
			return ok && once(&seen, 1)
		case "kid":
			h.Kid, ok = p.str()
			return ok && once(&seen, 2)
		case "typ":
			h.Typ, ok = p.str()
			return ok && once(&seen, 4)
		}
		return false
	})
	return ok && p.end()
}

// fastClaims decodes a certificate's claims.
func fastClaims(b []byte, c *Claims) bool {
	p := fastScanner{s: string(b)}
	var seen uint32
	ok := p.object(func(key string) bool {
		var ok bool
		switch key {
		case ClaimIssuer:
			c.Issuer, ok = p.str()
			return ok && once(&seen, 1<<0)
		case ClaimAudience:
			var a string
			a, ok = p.str()
			c.Audience = Audience(a)
			return ok && once(&seen, 1<<1)
		case ClaimSubject:
			c.Subject, ok = p.str()
			return ok && once(&seen, 1<<2)
		case ClaimIssuedAt:
			c.IssuedAt, ok = p.int()
			return ok && once(&seen, 1<<3)
		case ClaimExpiry:
			c.Expiry, ok = p.int()
			return ok && once(&seen, 1<<4)
		case ClaimID:
			c.ID, ok = p.str()
			return ok && once(&seen, 1<<5)
		case ClaimProfile:
			c.Profile, ok = p.str()
			return ok && once(&seen, 1<<6)
		case ClaimVerifierID:
			return once(&seen, 1<<7) && p.verifierID(&c.VerifierID)
		case ClaimSubmods:
			return once(&seen, 1<<8) && p.submods(c)
		}
		return false
	})
	return ok && p.end()
}

func (p *fastScanner) verifierID(v *VerifierID) bool {
	var seen uint32
	return p.object(func(key string) bool {
		var ok bool
		switch key {
		case "build":
			v.Build, ok = p.str()
			return ok && once(&seen, 1)
		case "developer":
			v.Developer, ok = p.str()
			return ok && once(&seen, 2)
		}
		return false
	})
}

func (p *fastScanner) submods(c *Claims) bool {
	if c.Submods == nil {
		c.Submods = make(map[string]Appraisal, 1)
	}
	return p.object(func(name string) bool {
		if _, dup := c.Submods[name]; dup {
			return false
		}
		var a Appraisal
		if !p.appraisal(&a) {
			return false
		}
		c.Submods[name] = a
		return true
	})
}

func (p *fastScanner) appraisal(a *Appraisal) bool {
	var seen uint32
	return p.object(func(key string) bool {
		var ok bool
		var s string
		switch key {
		case ClaimEARStatus:
			s, ok = p.str()
			a.Status = health.Tier(s)
			return ok && once(&seen, 1)
		case ClaimPolicyID:
			a.PolicyID, ok = p.str()
			return ok && once(&seen, 2)
		case ClaimFindings:
			return once(&seen, 4) && p.findings(&a.Findings)
		}
		return false
	})
}

func (p *fastScanner) findings(out *[]health.Finding) bool {
	if !p.consume('[') {
		return false
	}
	if p.peek() == ']' {
		p.i++
		*out = []health.Finding{}
		return true
	}
	*out = make([]health.Finding, 0, 4)
	for {
		var f health.Finding
		var seen uint32
		ok := p.object(func(key string) bool {
			s, ok := p.str()
			switch key {
			case "id":
				f.ID = health.CheckID(s)
				return ok && once(&seen, 1)
			case "status":
				f.Status = health.Status(s)
				return ok && once(&seen, 2)
			case "trust":
				f.Trust = health.Trust(s)
				return ok && once(&seen, 4)
			}
			return false
		})
		if !ok {
			return false
		}
		*out = append(*out, f)
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return true
		default:
			return false
		}
	}
}
