package authority

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/herd-health/herd/health"
)

// decodeStatement decodes a statement's JSON payload. The statements
// agents send have one plain shape; a hand-written reader takes that shape
// directly, and anything it does not recognise exactly (unknown or
// differently cased keys, a key given twice, escapes in strings, null,
// null other than for a list, non-integer numbers, sighting answers, nested facts, trailing data) is
// decoded by encoding/json with unknown fields refused, as before. The
// reader never reports an error of its own: it either produces exactly
// the value encoding/json would, or hands over (FuzzStatementDecode).
func decodeStatement(b []byte, st *health.Statement) error {
	if fastStatement(b, st) {
		return nil
	}
	*st = health.Statement{}
	return decodeJSON(b, st)
}

// fastStatement decodes b into st when b has the plain shape, and reports
// whether it did. st is left untouched when it reports false.
func fastStatement(b []byte, st *health.Statement) bool {
	d := sdec{b: b}
	var s health.Statement
	d.ws()
	if !d.statement(&s) {
		return false
	}
	d.ws()
	if d.i != len(d.b) {
		return false
	}
	*st = s
	return true
}

// sdec reads JSON from b at i. Every method reports false for anything
// outside the plain shape; the caller then falls back.
type sdec struct {
	b []byte
	i int
}

func (d *sdec) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *sdec) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// rawStr reads a string without escapes or control characters and returns
// its bytes (without quotes); non-ASCII bytes must be valid UTF-8, as
// encoding/json would otherwise replace them.
func (d *sdec) rawStr() ([]byte, bool) {
	if !d.eat('"') {
		return nil, false
	}
	start := d.i
	ascii := true
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
		d.i++
	}
	return nil, false
}

func (d *sdec) str() (string, bool) {
	s, ok := d.rawStr()
	if !ok {
		return "", false
	}
	return string(s), true
}

// time reads a string as time.Time does in encoding/json: the quoted
// bytes go to Time.UnmarshalJSON.
func (d *sdec) time(t *time.Time) bool {
	start := d.i
	if _, ok := d.rawStr(); !ok {
		return false
	}
	return t.UnmarshalJSON(d.b[start:d.i]) == nil
}

// int reads an integer literal of at most 18 digits (no fraction, no
// exponent, no leading zeros).
func (d *sdec) int() (int64, bool) {
	neg := d.eat('-')
	start := d.i
	var n int64
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		n = n*10 + int64(d.b[d.i]-'0')
		d.i++
	}
	digits := d.i - start
	if digits == 0 || digits > 18 || (digits > 1 && d.b[start] == '0') {
		return 0, false
	}
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// number reads a JSON number as encoding/json does into an interface
// value: a float64.
func (d *sdec) number() (float64, bool) {
	start := d.i
	d.eat('-')
	ds := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i == ds || (d.i-ds > 1 && d.b[ds] == '0') {
		return 0, false
	}
	if d.eat('.') {
		fs := d.i
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
		if d.i == fs {
			return 0, false
		}
	}
	if d.eat('e') || d.eat('E') {
		if !d.eat('+') {
			d.eat('-')
		}
		es := d.i
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
		if d.i == es {
			return 0, false
		}
	}
	f, err := parseFloat(d.b[start:d.i])
	return f, err == nil
}

// object reads an object, calling field for each key with the decoder
// placed at the value; field reads the value.
func (d *sdec) object(field func(key []byte) bool) bool {
	if !d.eat('{') {
		return false
	}
	d.ws()
	if d.eat('}') {
		return true
	}
	for {
		d.ws()
		k, ok := d.rawStr()
		if !ok {
			return false
		}
		d.ws()
		if !d.eat(':') {
			return false
		}
		d.ws()
		if !field(k) {
			return false
		}
		d.ws()
		if d.eat(',') {
			continue
		}
		return d.eat('}')
	}
}

// array reads an array, calling elem with the decoder placed at each
// element. It reports the number of elements.
func (d *sdec) array(elem func() bool) bool {
	if !d.eat('[') {
		return false
	}
	d.ws()
	if d.eat(']') {
		return true
	}
	for {
		d.ws()
		if !elem() {
			return false
		}
		d.ws()
		if d.eat(',') {
			continue
		}
		return d.eat(']')
	}
}

func (d *sdec) strings(dst *[]string) bool {
	if d.lit("null") {
		*dst = nil
		return true
	}
	out := []string{}
	ok := d.array(func() bool {
		s, ok := d.str()
		out = append(out, s)
		return ok
	})
	*dst = out
	return ok
}

// once sets bit in seen and reports whether it was clear: a key given
// twice falls back, so that encoding/json's rules for repeats apply.
func once(seen *uint32, bit uint32) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

func (d *sdec) statement(s *health.Statement) bool {
	var seen uint32
	return d.object(func(k []byte) bool {
		switch string(k) {
		case "version":
			n, ok := d.int()
			if !ok || int64(int(n)) != n {
				return false
			}
			s.Version = int(n)
			return once(&seen, 1<<0)
		case "device_id":
			v, ok := d.str()
			s.DeviceID = v
			return ok && once(&seen, 1<<1)
		case "nonce":
			v, ok := d.str()
			s.Nonce = v
			return ok && once(&seen, 1<<2)
		case "issued_at":
			return d.time(&s.IssuedAt) && once(&seen, 1<<3)
		case "collected_at":
			return d.time(&s.CollectedAt) && once(&seen, 1<<4)
		case "os":
			v, ok := d.str()
			s.OS = v
			return ok && once(&seen, 1<<5)
		case "os_version":
			v, ok := d.str()
			s.OSVersion = v
			return ok && once(&seen, 1<<6)
		case "agent_version":
			v, ok := d.str()
			s.AgentVersion = v
			return ok && once(&seen, 1<<7)
		case "indicators_version":
			n, ok := d.int()
			s.IndicatorsVersion = n
			return ok && once(&seen, 1<<8)
		case "audiences":
			return d.strings(&s.Audiences) && once(&seen, 1<<9)
		case "checks":
			if d.lit("null") {
				s.Checks = nil
				return once(&seen, 1<<10)
			}
			s.Checks = make([]health.Result, 0, len(health.CheckIDs))
			return d.array(func() bool {
				s.Checks = append(s.Checks, health.Result{})
				return d.result(&s.Checks[len(s.Checks)-1])
			}) && once(&seen, 1<<10)
		}
		// sightings, unknown or differently cased keys: encoding/json.
		return false
	})
}

func (d *sdec) result(r *health.Result) bool {
	var seen uint32
	return d.object(func(k []byte) bool {
		switch string(k) {
		case "id":
			v, ok := d.rawStr()
			r.ID = health.CheckID(intern(v))
			return ok && once(&seen, 1<<0)
		case "status":
			v, ok := d.rawStr()
			r.Status = health.Status(intern(v))
			return ok && once(&seen, 1<<1)
		case "reason":
			v, ok := d.str()
			r.Reason = v
			return ok && once(&seen, 1<<2)
		case "evidence":
			return d.evidence(&r.Evidence) && once(&seen, 1<<3)
		case "details":
			return d.strings(&r.Details) && once(&seen, 1<<4)
		case "remediation":
			v, ok := d.str()
			r.Remediation = v
			return ok && once(&seen, 1<<5)
		}
		return false
	})
}

// evidence reads what health.Evidence.UnmarshalJSON reads: source and
// trust, every other key into Facts. Facts here are strings, numbers and
// booleans; anything else falls back.
func (d *sdec) evidence(e *health.Evidence) bool {
	var seen uint32
	return d.object(func(k []byte) bool {
		switch string(k) {
		case "source":
			v, ok := d.str()
			e.Source = v
			return ok && once(&seen, 1<<0)
		case "trust":
			v, ok := d.rawStr()
			e.Trust = health.Trust(intern(v))
			return ok && once(&seen, 1<<1)
		}
		key := string(k)
		if e.Facts == nil {
			e.Facts = map[string]any{}
		} else if _, dup := e.Facts[key]; dup {
			return false
		}
		if d.i >= len(d.b) {
			return false
		}
		switch c := d.b[d.i]; {
		case c == '"':
			v, ok := d.str()
			e.Facts[key] = v
			return ok
		case c == 't':
			e.Facts[key] = true
			return d.lit("true")
		case c == 'f':
			e.Facts[key] = false
			return d.lit("false")
		case c == '-' || (c >= '0' && c <= '9'):
			f, ok := d.number()
			e.Facts[key] = f
			return ok
		}
		return false
	})
}

func (d *sdec) lit(s string) bool {
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

// intern returns the shared string for the ids, statuses and trust
// levels every statement repeats, and a copy otherwise.
func intern(b []byte) string {
	switch string(b) {
	case "firewall":
		return string(health.Firewall)
	case "antivirus":
		return string(health.Antivirus)
	case "antivirus_signatures":
		return string(health.AntivirusSignatures)
	case "auto_update":
		return string(health.AutoUpdate)
	case "pending_updates":
		return string(health.PendingUpdates)
	case "os_support":
		return string(health.OSSupport)
	case "disk_encryption":
		return string(health.DiskEncryption)
	case "screen_lock":
		return string(health.ScreenLock)
	case "secure_boot":
		return string(health.SecureBoot)
	case "malware":
		return string(health.Malware)
	case "pass":
		return string(health.Pass)
	case "fail":
		return string(health.Fail)
	case "unknown":
		return string(health.Unknown)
	case "not_applicable":
		return string(health.NotApplicable)
	case "os_reported":
		return string(health.OSReported)
	case "product_reported":
		return string(health.ProductReported)
	case "hardware_backed":
		return string(health.HardwareBacked)
	case "self_reported":
		return string(health.SelfReported)
	}
	return string(b)
}

func parseFloat(b []byte) (float64, error) { return strconv.ParseFloat(string(b), 64) }
