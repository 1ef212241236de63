package diskencryption

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// BlockDevice is one node of lsblk's block-device tree. A device that
// sits on several parents (an LVM volume spanning two encrypted physical
// volumes, a RAID member) appears once per parent.
type BlockDevice struct {
	Name   string
	Type   string // disk, part, crypt, lvm, raid1, loop, rom, …
	FSType string // crypto_LUKS, LVM2_member, ext4, btrfs, zfs_member, …
	Label  string
	Mounts []string
	Parent string // name of the parent in the tree; "" for a top-level device
}

// ParseLsblkTree parses lsblk's default tree output with a header line,
// e.g. `lsblk -o NAME,TYPE,FSTYPE,MOUNTPOINT`. Both the unicode branch
// characters (├─ └─ │) and the ASCII ones (|- `- |) are understood. The
// columns are found by their position under the header, so empty cells
// (a disk without a file system) are read as empty. Continuation lines
// of a multi-valued MOUNTPOINTS column (blank name) add to the device
// above.
func ParseLsblkTree(text string) ([]BlockDevice, error) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	hi := -1
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			hi = i
			break
		}
	}
	if hi < 0 {
		return nil, errors.New("lsblk: empty output")
	}
	header := []rune(lines[hi])
	type col struct {
		name  string
		start int
	}
	var cols []col
	for i := 0; i < len(header); {
		if header[i] == ' ' {
			i++
			continue
		}
		j := i
		for j < len(header) && header[j] != ' ' {
			j++
		}
		cols = append(cols, col{strings.ToUpper(string(header[i:j])), i})
		i = j
	}
	if len(cols) == 0 || cols[0].name != "NAME" {
		return nil, fmt.Errorf("lsblk: header %q does not start with NAME", string(header))
	}
	idx := map[string]int{}
	for i, c := range cols {
		idx[c.name] = i
	}
	if _, ok := idx["TYPE"]; !ok {
		return nil, errors.New("lsblk: no TYPE column")
	}
	var out []BlockDevice
	var stack []string // names by depth
	for _, l := range lines[hi+1:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		row := []rune(l)
		cell := func(i int) string {
			s := cols[i].start
			if i == 0 {
				s = 0
			}
			if s >= len(row) {
				return ""
			}
			e := len(row)
			if i+1 < len(cols) && cols[i+1].start < e {
				e = cols[i+1].start
			}
			// A value wider than its column pushes into the next one;
			// lsblk pads columns to fit, so this only trims blanks.
			return strings.TrimSpace(string(row[s:e]))
		}
		nameCell := string(row[:min(len(row), cols[min(1, len(cols)-1)].start)])
		if len(cols) == 1 {
			nameCell = string(row)
		}
		name, depth := stripTree(nameCell)
		get := func(c string) string {
			if i, ok := idx[c]; ok && i > 0 {
				return cell(i)
			}
			return ""
		}
		mount := get("MOUNTPOINT")
		if mount == "" {
			mount = get("MOUNTPOINTS")
		}
		if name == "" {
			// A continuation line holding one more mount point.
			if len(out) > 0 && mount != "" {
				out[len(out)-1].Mounts = append(out[len(out)-1].Mounts, mount)
				continue
			}
			return nil, fmt.Errorf("lsblk: line %q has no device name", l)
		}
		typ := get("TYPE")
		if typ == "" || strings.ContainsFunc(typ, unicode.IsSpace) {
			return nil, fmt.Errorf("lsblk: line %q has no device type", l)
		}
		if depth > len(stack) {
			depth = len(stack) // malformed indentation: attach to the deepest
		}
		stack = append(stack[:depth], name)
		d := BlockDevice{Name: name, Type: typ, FSType: get("FSTYPE"), Label: get("LABEL")}
		if depth > 0 {
			d.Parent = stack[depth-1]
		}
		if mount != "" {
			d.Mounts = []string{mount}
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, errors.New("lsblk: no devices")
	}
	return out, nil
}

// stripTree removes the tree-drawing prefix of a NAME cell and returns
// the name and its depth (each level of the tree is two characters wide).
func stripTree(cell string) (string, int) {
	r := []rune(cell)
	i := 0
	for i < len(r) && strings.ContainsRune(" │├└─|`-", r[i]) {
		i++
	}
	name := strings.TrimSpace(string(r[i:]))
	return name, i / 2
}

type lsblkJSONDev struct {
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	FSType      *string        `json:"fstype"`
	Label       *string        `json:"label"`
	Mountpoint  *string        `json:"mountpoint"`
	Mountpoints []*string      `json:"mountpoints"`
	Children    []lsblkJSONDev `json:"children"`
}

// ParseLsblkJSON parses `lsblk -J` output (`lsblk -J -o
// NAME,TYPE,FSTYPE,MOUNTPOINTS`, `lsblk -fJ`, or the older single
// `mountpoint` form). A null inside "mountpoints" is an unmounted device.
func ParseLsblkJSON(r io.Reader) ([]BlockDevice, error) {
	var doc struct {
		BlockDevices []lsblkJSONDev `json:"blockdevices"`
	}
	dec := json.NewDecoder(io.LimitReader(r, 16<<20))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("lsblk json: %w", err)
	}
	if doc.BlockDevices == nil {
		return nil, errors.New(`lsblk json: no "blockdevices"`)
	}
	var out []BlockDevice
	var walk func(ds []lsblkJSONDev, parent string, depth int)
	walk = func(ds []lsblkJSONDev, parent string, depth int) {
		if depth > 64 {
			return
		}
		for _, d := range ds {
			b := BlockDevice{Name: d.Name, Type: d.Type, Parent: parent}
			if d.FSType != nil {
				b.FSType = *d.FSType
			}
			if d.Label != nil {
				b.Label = *d.Label
			}
			if d.Mountpoint != nil && *d.Mountpoint != "" {
				b.Mounts = append(b.Mounts, *d.Mountpoint)
			}
			for _, m := range d.Mountpoints {
				if m != nil && *m != "" {
					b.Mounts = append(b.Mounts, *m)
				}
			}
			out = append(out, b)
			walk(d.Children, d.Name, depth+1)
		}
	}
	walk(doc.BlockDevices, "", 0)
	return out, nil
}

// Mount is one line of /proc/mounts.
type Mount struct {
	Source, Target, FSType string
}

// ParseMounts parses /proc/mounts (or /etc/mtab), undoing the octal
// escapes (\040 for a space) the kernel writes.
func ParseMounts(text string) []Mount {
	var out []Mount
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		out = append(out, Mount{Source: unescapeMount(f[0]), Target: unescapeMount(f[1]), FSType: f[2]})
	}
	return out
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// MountAt returns the mount that is in effect at target: the last one
// listed for it, as later mounts cover earlier ones.
func MountAt(ms []Mount, target string) (Mount, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Target == target {
			return ms[i], true
		}
	}
	return Mount{}, false
}

// LUKSInfo is what `cryptsetup luksDump` and `cryptsetup status` tell
// about an encrypted device.
type LUKSInfo struct {
	Version   string // "1", "2"
	Subsystem string // "HW-OPAL" for hardware OPAL, else ""
	Type      string // from status: LUKS1, LUKS2, PLAIN, TCRYPT, BITLK
	Cipher    string // from status: aes-xts-plain64, cipher_null-ecb, …
	Active    bool   // status says "is active"
}

// ParseLUKSDump reads the header lines of `cryptsetup luksDump DEVICE`
// (both LUKS1 and LUKS2 layouts; tabs or spaces after the colon).
func ParseLUKSDump(text string) (LUKSInfo, error) {
	var info LUKSInfo
	seen := false
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "LUKS header information") {
			seen = true
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok || strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Version":
			info.Version = v
		case "Subsystem":
			if v != "(no subsystem)" {
				info.Subsystem = v
			}
		}
	}
	if !seen || info.Version == "" {
		return info, errors.New("cryptsetup luksDump: no LUKS header information")
	}
	return info, nil
}

// ParseCryptsetupStatus reads `cryptsetup status NAME`.
func ParseCryptsetupStatus(text string) (LUKSInfo, error) {
	var info LUKSInfo
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if strings.Contains(t, " is active") {
			info.Active = true
			continue
		}
		k, v, ok := strings.Cut(t, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "type":
			info.Type = strings.TrimSpace(v)
		case "cipher":
			info.Cipher = strings.TrimSpace(v)
		}
	}
	if !info.Active {
		return info, errors.New("cryptsetup status: device is not active")
	}
	return info, nil
}
