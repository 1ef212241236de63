package source

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// RegQueryKey is one key as `reg query` prints it.
type RegQueryKey struct {
	// Key is named as Source.Registry names keys: HKLM\…, HKCU\…, HKU\….
	Key    string
	Values map[string]RegValue
}

var regQueryRoots = map[string]string{
	"HKEY_LOCAL_MACHINE":  "HKLM",
	"HKEY_CURRENT_USER":   "HKCU",
	"HKEY_USERS":          "HKU",
	"HKEY_CLASSES_ROOT":   "HKCR",
	"HKEY_CURRENT_CONFIG": "HKCC",
}

// ParseRegQuery reads what `reg query KEY [/v NAME] [/s]` prints, so a
// captured registry can become a snapshot's: each key's full name on a
// line of its own, then one line per value, its name, type and data
// separated by four spaces (REG_MULTI_SZ strings each followed by a
// literal \0). An output that only says the key or value cannot be found
// is an error matching fs.ErrNotExist.
func ParseRegQuery(text string) ([]RegQueryKey, error) {
	var out []RegQueryKey
	var cur *RegQueryKey
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "End of search:"):
			continue
		case strings.HasPrefix(trimmed, "ERROR:"):
			if strings.Contains(strings.ToLower(trimmed), "unable to find") {
				return out, &fs.PathError{Op: "reg query", Path: "", Err: fs.ErrNotExist}
			}
			return out, fmt.Errorf("reg query: %s", strings.TrimPrefix(trimmed, "ERROR: "))
		case !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t"):
			root, rest, _ := strings.Cut(trimmed, `\`)
			short, ok := regQueryRoots[strings.ToUpper(root)]
			if !ok {
				return out, fmt.Errorf("reg query: %q is not a key", trimmed)
			}
			key := short
			if rest != "" {
				key += `\` + rest
			}
			out = append(out, RegQueryKey{Key: key, Values: map[string]RegValue{}})
			cur = &out[len(out)-1]
		default:
			if cur == nil {
				return out, errors.New("reg query: a value before any key")
			}
			name, v, err := parseRegQueryValue(trimmed)
			if err != nil {
				return out, err
			}
			cur.Values[name] = v
		}
	}
	if len(out) == 0 {
		return nil, errors.New("reg query: no key in the output")
	}
	return out, nil
}

// parseRegQueryValue reads "Name    REG_TYPE    data".
func parseRegQueryValue(line string) (string, RegValue, error) {
	// The type is the first field of the form REG_…, set off by four
	// spaces; the name before it may hold spaces itself.
	i := strings.Index(line, "    REG_")
	if i < 0 {
		return "", RegValue{}, fmt.Errorf("reg query: no type in %q", line)
	}
	name := strings.TrimSpace(line[:i])
	if name == "(Default)" {
		name = ""
	}
	rest := line[i+4:]
	typ, data, _ := strings.Cut(rest, "    ")
	typ = strings.TrimSpace(typ)
	data = strings.TrimSpace(data)
	v := RegValue{Type: typ}
	switch typ {
	case "REG_DWORD", "REG_QWORD":
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(data), "0x"), 16, 64)
		if err != nil {
			return "", RegValue{}, fmt.Errorf("reg query: %s %s is not a number: %q", name, typ, data)
		}
		v.Value = n
	case "REG_MULTI_SZ":
		l := strings.Split(data, `\0`)
		if len(l) > 0 && l[len(l)-1] == "" {
			l = l[:len(l)-1] // each string is followed by \0
		}
		if data == "" {
			l = []string{}
		}
		v.Value = l
	case "REG_BINARY", "REG_NONE":
		b, err := hex.DecodeString(data)
		if err != nil {
			return "", RegValue{}, fmt.Errorf("reg query: %s %s is not hexadecimal: %q", name, typ, data)
		}
		v.Value = b
	default: // REG_SZ, REG_EXPAND_SZ and types herd does not read
		v.Value = data
	}
	return name, v, nil
}
