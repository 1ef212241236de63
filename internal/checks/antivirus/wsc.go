package antivirus

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ScannerState is the real-time scanner state Security Center reports for
// a product.
type ScannerState int

const (
	ScannerUnknown ScannerState = iota
	ScannerOn
	ScannerOff
	ScannerSnoozed
	ScannerExpired
)

func (s ScannerState) String() string {
	switch s {
	case ScannerOn:
		return "on"
	case ScannerOff:
		return "off"
	case ScannerSnoozed:
		return "snoozed"
	case ScannerExpired:
		return "expired"
	}
	return "unknown"
}

// SignatureState is whether Security Center says a product's definitions
// are up to date.
type SignatureState int

const (
	SignaturesUnknown SignatureState = iota
	SignaturesUpToDate
	SignaturesOutOfDate
)

func (s SignatureState) String() string {
	switch s {
	case SignaturesUpToDate:
		return "up to date"
	case SignaturesOutOfDate:
		return "out of date"
	}
	return "unknown"
}

// Security provider flags (WSC_SECURITY_PROVIDER) in the top byte.
const (
	ProviderFirewall  = 0x01
	ProviderAutoUpd   = 0x02
	ProviderAntivirus = 0x04
	ProviderInternet  = 0x08
	ProviderUAC       = 0x10
	ProviderService   = 0x20
)

// ProductState is a decoded Security Center productState: 0xPPSSDD, the
// provider flags, the scanner byte and the definitions byte. The layout is
// not documented by Microsoft; it is the one the community reads, and it
// is decoded with masks so values never seen before still decode.
type ProductState struct {
	Raw        uint32
	Providers  uint8
	Scanner    ScannerState
	Signatures SignatureState
}

// DecodeProductState splits a productState value into its three bytes.
func DecodeProductState(v uint32) ProductState {
	ps := ProductState{Raw: v, Providers: uint8(v >> 16)}
	// The low nibble of the scanner byte marks a Microsoft product; only
	// the high nibble carries the state.
	switch (v >> 8) & 0xF0 {
	case 0x00:
		ps.Scanner = ScannerOff
	case 0x10:
		ps.Scanner = ScannerOn
	case 0x20:
		ps.Scanner = ScannerSnoozed
	case 0x30:
		ps.Scanner = ScannerExpired
	}
	switch v & 0xFF {
	case 0x00:
		ps.Signatures = SignaturesUpToDate
	case 0x10:
		ps.Signatures = SignaturesOutOfDate
	}
	if v > 0xFFFFFF {
		// Bits above the three known bytes: not a layout we know.
		ps.Scanner, ps.Signatures = ScannerUnknown, SignaturesUnknown
	}
	return ps
}

// WSCProduct is one row of root/SecurityCenter2:AntiVirusProduct.
type WSCProduct struct {
	Name          string
	ProductExe    string // pathToSignedProductExe
	ReportingExe  string // pathToSignedReportingExe
	State         ProductState
	StateReadable bool // productState was present and a number
}

// IsDefender reports whether the row is Microsoft Defender Antivirus.
func (p WSCProduct) IsDefender() bool {
	if strings.HasPrefix(strings.ToLower(p.ProductExe), "windowsdefender:") {
		return true
	}
	n := strings.ToLower(p.Name)
	return n == "windows defender" || n == "microsoft defender antivirus" || n == "microsoft defender"
}

// ParseWSCProducts reads the instances of AntiVirusProduct as the WMI
// source returns them (JSON-decoded maps).
func ParseWSCProducts(rows []map[string]any) []WSCProduct {
	out := make([]WSCProduct, 0, len(rows))
	for _, r := range rows {
		p := WSCProduct{
			Name:         str(r["displayName"]),
			ProductExe:   str(r["pathToSignedProductExe"]),
			ReportingExe: str(r["pathToSignedReportingExe"]),
		}
		if v, ok := toUint32(r["productState"]); ok {
			p.State, p.StateReadable = DecodeProductState(v), true
		}
		out = append(out, p)
	}
	return out
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func toUint32(v any) (uint32, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case uint32:
		return x, true
	case json.Number:
		n, err := x.Float64()
		if err != nil {
			return 0, false
		}
		f = n
	case string:
		n, err := strconv.ParseUint(strings.TrimSpace(x), 0, 32)
		if err != nil {
			return 0, false
		}
		return uint32(n), true
	default:
		return 0, false
	}
	if f < 0 || f > math.MaxUint32 || f != math.Trunc(f) {
		return 0, false
	}
	return uint32(f), true
}

// ParseWSCList reads the plain `Get-CimInstance … AntiVirusProduct` list
// output (blocks of "name : value" lines) into instances, so captured
// text can be turned into the rows the WMI source gives.
func ParseWSCList(s string) []map[string]any {
	var out []map[string]any
	cur := map[string]any{}
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
			cur = map[string]any{}
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "" {
			continue
		}
		if n, err := strconv.ParseUint(v, 10, 32); err == nil && k == "productState" {
			cur[k] = float64(n)
		} else {
			cur[k] = v
		}
	}
	flush()
	return out
}
