package firewall

import (
	"fmt"
	"strconv"
	"strings"
)

// ProductState is a decoded Windows Security Center productState, the
// integer root/SecurityCenter2 gives for each registered security product.
//
// Microsoft does not document the integer's layout; it is read as three
// bytes 0xPPSSDD: PP the security provider flags (WSC_SECURITY_PROVIDER),
// SS the product's state (high nibble: 0 off, 1 on, 2 snoozed, 3 expired;
// the low nibble marks Microsoft's own products and is ignored), DD the
// signature status (0x10 out of date). It is decoded with masks, never by
// a table of known values.
type ProductState struct {
	Raw       uint32
	Providers uint8 // WSC_SECURITY_PROVIDER flags
	State     string
	UpToDate  bool
}

// WSC_SECURITY_PROVIDER flags.
const (
	ProviderFirewall  = 0x01
	ProviderAutoUpd   = 0x02
	ProviderAntivirus = 0x04
)

// DecodeProductState decodes a productState integer.
func DecodeProductState(v uint32) ProductState {
	ps := ProductState{
		Raw:       v,
		Providers: uint8(v >> 16 & 0xff),
		UpToDate:  v&0xf0 != 0x10,
	}
	switch v >> 12 & 0xf {
	case 0:
		ps.State = "off"
	case 1:
		ps.State = "on"
	case 2:
		ps.State = "snoozed"
	case 3:
		ps.State = "expired"
	default:
		ps.State = "unknown"
	}
	return ps
}

// On reports whether the product says it is running.
func (p ProductState) On() bool { return p.State == "on" }

// productStateValue reads productState from a WMI instance value, which
// may arrive as any integer type, a float from JSON or a string.
func productStateValue(v any) (uint32, error) {
	switch n := v.(type) {
	case float64:
		if n < 0 || n > 0xffffffff || n != float64(uint32(n)) {
			return 0, fmt.Errorf("productState %v out of range", n)
		}
		return uint32(n), nil
	case int:
		return uint32(n), rangeErr(int64(n))
	case int32:
		return uint32(n), rangeErr(int64(n))
	case int64:
		return uint32(n), rangeErr(n)
	case uint32:
		return n, nil
	case uint64:
		if n > 0xffffffff {
			return 0, fmt.Errorf("productState %d out of range", n)
		}
		return uint32(n), nil
	case string:
		u, err := strconv.ParseUint(strings.TrimSpace(n), 10, 32)
		return uint32(u), err
	}
	return 0, fmt.Errorf("productState has type %T", v)
}

func rangeErr(n int64) error {
	if n < 0 || n > 0xffffffff {
		return fmt.Errorf("productState %d out of range", n)
	}
	return nil
}
