package diskencryption

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Conversion is a BitLocker volume's conversion state, the authority on
// whether its data is encrypted.
type Conversion string

const (
	FullyDecrypted       Conversion = "FullyDecrypted"
	FullyEncrypted       Conversion = "FullyEncrypted" // also "Used Space Only Encrypted" and wipe states
	EncryptionInProgress Conversion = "EncryptionInProgress"
	DecryptionInProgress Conversion = "DecryptionInProgress"
	EncryptionPaused     Conversion = "EncryptionPaused"
	DecryptionPaused     Conversion = "DecryptionPaused"
)

// conversionCodes are Win32_EncryptableVolume ConversionStatus values,
// which the BitLocker module's VolumeStatus enum shares.
var conversionCodes = map[int]Conversion{
	0: FullyDecrypted, 1: FullyEncrypted, 2: EncryptionInProgress,
	3: DecryptionInProgress, 4: EncryptionPaused, 5: DecryptionPaused,
	6: FullyEncrypted, 7: FullyEncrypted, // wipe in progress / paused
}

func conversionFromText(s string) (Conversion, bool) {
	k := strings.ToLower(strings.Join(strings.Fields(s), ""))
	switch k {
	case "fullydecrypted":
		return FullyDecrypted, true
	case "fullyencrypted", "usedspaceonlyencrypted", "fullyencryptedwipeinprogress", "fullyencryptedwipesuspended", "fullyencryptedwipepaused":
		return FullyEncrypted, true
	case "encryptioninprogress":
		return EncryptionInProgress, true
	case "decryptioninprogress":
		return DecryptionInProgress, true
	case "encryptionpaused", "encryptionsuspended":
		return EncryptionPaused, true
	case "decryptionpaused", "decryptionsuspended":
		return DecryptionPaused, true
	}
	if n, err := strconv.Atoi(k); err == nil {
		c, ok := conversionCodes[n]
		return c, ok
	}
	return "", false
}

// Protection is a volume's protection status: "On", "Off" or "Unknown"
// (a locked volume).
type Protection string

const (
	ProtectionOn      Protection = "On"
	ProtectionOff     Protection = "Off"
	ProtectionUnknown Protection = "Unknown"
)

func protectionFromText(s string) (Protection, bool) {
	k := strings.ToLower(strings.TrimSpace(s))
	k = strings.TrimPrefix(k, "protection ")
	switch {
	case k == "on" || k == "1":
		return ProtectionOn, true
	case k == "off" || k == "0" || strings.HasPrefix(k, "off ") || strings.HasPrefix(k, "off("):
		return ProtectionOff, true
	case k == "unknown" || k == "2":
		return ProtectionUnknown, true
	}
	return "", false
}

// BitLocker is the state of one volume as manage-bde, Get-BitLockerVolume
// or WMI report it.
type BitLocker struct {
	Volume     string // "C:"
	Conversion Conversion
	Protection Protection
	Percent    float64 // -1 when not reported
	Method     string
	Protectors []string
}

// ParseManageBDE parses `manage-bde -status C:` (English output). It
// returns the first volume in the output.
func ParseManageBDE(text string) (BitLocker, error) {
	bl := BitLocker{Percent: -1}
	inProtectors := false
	found := false
	for _, raw := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		l := strings.TrimSpace(raw)
		if strings.HasPrefix(l, "Volume ") && len(l) > 8 && l[8] == ':' {
			if found {
				break // only the first volume
			}
			found = true
			bl.Volume = l[7:9]
			continue
		}
		if l == "" {
			inProtectors = false
			continue
		}
		k, v, hasColon := strings.Cut(l, ":")
		if inProtectors && (!hasColon || !strings.HasPrefix(raw, "    ") || strings.HasPrefix(raw, "        ")) {
			bl.Protectors = append(bl.Protectors, l)
			continue
		}
		if !hasColon {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Conversion Status":
			c, ok := conversionFromText(v)
			if !ok {
				return bl, fmt.Errorf("manage-bde: unfamiliar conversion status %q", v)
			}
			bl.Conversion = c
		case "Protection Status":
			p, ok := protectionFromText(v)
			if !ok {
				return bl, fmt.Errorf("manage-bde: unfamiliar protection status %q", v)
			}
			bl.Protection = p
		case "Percentage Encrypted":
			if p, err := strconv.ParseFloat(strings.TrimSuffix(strings.ReplaceAll(v, ",", "."), "%"), 64); err == nil {
				bl.Percent = p
			}
		case "Encryption Method":
			bl.Method = v
		case "Key Protectors", "Key Protector":
			inProtectors = true
			if v != "" && !strings.EqualFold(v, "None Found") {
				bl.Protectors = append(bl.Protectors, v)
			}
		}
	}
	if bl.Conversion == "" {
		return bl, errors.New("manage-bde: no conversion status (not English output, or an error)")
	}
	return bl, nil
}

// ParseBitLockerJSON parses `Get-BitLockerVolume … | ConvertTo-Json`:
// one object or an array of them, with enum values as names or numbers
// and KeyProtector as type names, numbers, or objects with
// KeyProtectorType. It returns the volume at mount (e.g. "C:"), or the
// only volume when mount is empty.
func ParseBitLockerJSON(r io.Reader, mount string) (BitLocker, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4<<20))
	if err != nil {
		return BitLocker{}, err
	}
	b = bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	var list []map[string]any
	if len(b) > 0 && b[0] == '[' {
		err = json.Unmarshal(b, &list)
	} else {
		var one map[string]any
		err = json.Unmarshal(b, &one)
		list = []map[string]any{one}
	}
	if err != nil {
		return BitLocker{}, fmt.Errorf("Get-BitLockerVolume json: %w", err)
	}
	for _, v := range list {
		if v == nil {
			continue
		}
		mp := strings.TrimSuffix(fmt.Sprint(v["MountPoint"]), `\`)
		if mount != "" && len(list) > 1 && !strings.EqualFold(mp, mount) {
			continue
		}
		bl := BitLocker{Volume: mp, Percent: -1}
		c, ok := conversionFromText(scalar(v["VolumeStatus"]))
		if !ok {
			return bl, fmt.Errorf("Get-BitLockerVolume: unfamiliar VolumeStatus %q", scalar(v["VolumeStatus"]))
		}
		bl.Conversion = c
		if p, ok := protectionFromText(scalar(v["ProtectionStatus"])); ok {
			bl.Protection = p
		}
		if p, err := strconv.ParseFloat(scalar(v["EncryptionPercentage"]), 64); err == nil {
			bl.Percent = p
		}
		bl.Method = scalar(v["EncryptionMethod"])
		var kps []any
		switch k := v["KeyProtector"].(type) {
		case []any:
			kps = k
		case nil:
		default:
			kps = []any{k}
		}
		for _, kp := range kps {
			if m, ok := kp.(map[string]any); ok {
				kp = m["KeyProtectorType"]
			}
			bl.Protectors = append(bl.Protectors, protectorName(scalar(kp)))
		}
		return bl, nil
	}
	return BitLocker{}, fmt.Errorf("Get-BitLockerVolume: no volume %s", mount)
}

// protectorNames are the BitLocker key protector type numbers.
var protectorNames = map[string]string{
	"0": "Unknown", "1": "Tpm", "2": "ExternalKey", "3": "NumericalPassword",
	"4": "TpmPin", "5": "TpmStartupKey", "6": "TpmPinStartupKey",
	"7": "PublicKey", "8": "Password", "9": "TpmNetworkKey", "10": "AdAccountOrGroup",
}

func protectorName(s string) string {
	if n, ok := protectorNames[s]; ok {
		return n
	}
	return s
}

// scalar renders a JSON scalar as text ("" for null).
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint32:
		return strconv.FormatUint(uint64(x), 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	}
	return fmt.Sprint(v)
}

// BitLockerFromWMI reads Win32_EncryptableVolume instances and returns
// the one for drive (e.g. "C:").
func BitLockerFromWMI(insts []map[string]any, drive string) (BitLocker, error) {
	for _, in := range insts {
		if !strings.EqualFold(scalar(in["DriveLetter"]), drive) {
			continue
		}
		bl := BitLocker{Volume: drive, Percent: -1}
		c, ok := conversionFromText(scalar(in["ConversionStatus"]))
		if !ok {
			return bl, fmt.Errorf("Win32_EncryptableVolume: no usable ConversionStatus (%q)", scalar(in["ConversionStatus"]))
		}
		bl.Conversion = c
		if p, ok := protectionFromText(scalar(in["ProtectionStatus"])); ok {
			bl.Protection = p
		}
		return bl, nil
	}
	return BitLocker{}, fmt.Errorf("Win32_EncryptableVolume: no volume %s", drive)
}
