package diskencryption

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

var (
	lsblkJSON = []string{"lsblk", "-J", "-o", "NAME,TYPE,FSTYPE,LABEL,MOUNTPOINTS"}
	lsblkText = []string{"lsblk", "-o", "NAME,TYPE,FSTYPE,MOUNTPOINT"}
)

// notBlockFS are root file systems that sit on no block device of this
// system: container layers, memory, network and host-shared file systems.
var notBlockFS = map[string]bool{
	"overlay": true, "aufs": true, "fuse-overlayfs": true, "tmpfs": true,
	"rootfs": true, "9p": true, "virtiofs": true, "nfs": true, "nfs4": true,
	"cifs": true, "squashfs": true, "ramfs": true,
}

var fixLinux = i18n.T(
	"Encrypt the system disk with LUKS. Most distributions offer it only when installing: back up your files and reinstall with disk encryption selected (\"Encrypt the new installation\" / \"Encrypt system\"). An existing partition can be converted in place with `cryptsetup reencrypt --encrypt` from a live system, after a full backup.",
	"使用 LUKS 加密系统磁盘。大多数发行版只在安装时提供此选项：请先备份文件，然后在重新安装时选择磁盘加密（“加密新安装的系统”/“加密系统”）。也可以在完整备份后，从 Live 系统中使用 `cryptsetup reencrypt --encrypt` 就地转换现有分区。")

// blockTree indexes lsblk's devices by name.
type blockTree struct {
	byName map[string][]BlockDevice
	order  []string
}

func newBlockTree(devs []BlockDevice) blockTree {
	t := blockTree{byName: map[string][]BlockDevice{}}
	for _, d := range devs {
		if _, ok := t.byName[d.Name]; !ok {
			t.order = append(t.order, d.Name)
		}
		t.byName[d.Name] = append(t.byName[d.Name], d)
	}
	return t
}

func (t blockTree) first(name string) BlockDevice { return t.byName[name][0] }

func (t blockTree) parents(name string) []string {
	var ps []string
	for _, d := range t.byName[name] {
		if d.Parent != "" && !slices.Contains(ps, d.Parent) {
			ps = append(ps, d.Parent)
		}
	}
	return ps
}

// encrypted reports whether every path from name up the tree passes
// through a crypt device. It returns the path it followed (the failing
// one when not encrypted) and the crypt device found.
func (t blockTree) encrypted(name string, depth int) (ok bool, chain []string, crypt string) {
	d := t.first(name)
	chain = []string{describe(d)}
	for _, o := range t.byName[name] {
		// lsblk -f has no TYPE column: the opened mapping of a LUKS
		// container is then known by its parent's file system type.
		if o.Type == "crypt" || (o.Parent != "" && t.first(o.Parent).FSType == "crypto_LUKS") {
			return true, chain, name
		}
	}
	ps := t.parents(name)
	if len(ps) == 0 || depth > 32 {
		return false, chain, ""
	}
	var okChain []string
	for _, p := range ps {
		pok, pchain, pcrypt := t.encrypted(p, depth+1)
		if !pok {
			return false, append(chain, pchain...), ""
		}
		if okChain == nil {
			okChain, crypt = pchain, pcrypt
		}
	}
	return true, append(chain, okChain...), crypt
}

func describe(d BlockDevice) string {
	if d.FSType != "" {
		return fmt.Sprintf("%s (%s, %s)", d.Name, d.Type, d.FSType)
	}
	return fmt.Sprintf("%s (%s)", d.Name, d.Type)
}

// holding returns the devices that hold the file system mounted at
// target: those lsblk lists it on, else the one /proc/mounts names, else
// for ZFS the members of the pool.
func (t blockTree) holding(target string, m Mount, haveMount bool) []string {
	var out []string
	for _, n := range t.order {
		for _, d := range t.byName[n] {
			if slices.Contains(d.Mounts, target) && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	if len(out) > 0 || !haveMount {
		return out
	}
	if m.FSType == "zfs" {
		pool, _, _ := strings.Cut(m.Source, "/")
		for _, n := range t.order {
			d := t.first(n)
			if d.FSType == "zfs_member" && (d.Label == "" || d.Label == pool) {
				out = append(out, n)
			}
		}
		return out
	}
	if name, ok := strings.CutPrefix(m.Source, "/dev/mapper/"); ok {
		if _, ok := t.byName[name]; ok {
			return []string{name}
		}
	}
	if strings.HasPrefix(m.Source, "/dev/") {
		if _, ok := t.byName[path.Base(m.Source)]; ok {
			return []string{path.Base(m.Source)}
		}
	}
	return nil
}

// volume is one judged mount point.
type volume struct {
	target string
	ok     bool
	chain  []string
	crypt  string
}

func runLinux(ctx context.Context, src source.Source) checks.Result {
	var mounts []Mount
	b, mountsErr := src.ReadFile("/proc/mounts")
	if mountsErr == nil {
		mounts = ParseMounts(string(b))
	}
	rootMount, haveRoot := MountAt(mounts, "/")
	if haveRoot && notBlockFS[rootMount.FSType] {
		ev := checks.Evidence("/proc/mounts", health.OSReported)
		ev.Facts = map[string]any{"root_fstype": rootMount.FSType}
		return checks.NotApplicable(i18n.T(
			fmt.Sprintf("The root file system is %s, not a disk of this system (a container or live system); disk encryption belongs to the host that holds the real disk.", rootMount.FSType),
			fmt.Sprintf("根文件系统是 %s，并非本系统的磁盘（容器或 Live 系统）；磁盘加密取决于持有实际磁盘的宿主机。", rootMount.FSType)), ev)
	}

	devs, evSource, details := readTree(ctx, src)
	if devs == nil {
		return linuxFromSysfs(src, rootMount, haveRoot, details)
	}
	tree := newBlockTree(devs)

	targets := []string{"/"}
	if hm, ok := MountAt(mounts, "/home"); ok && !notBlockFS[hm.FSType] {
		targets = append(targets, "/home")
	} else if len(tree.holding("/home", Mount{}, false)) > 0 {
		targets = append(targets, "/home")
	}
	var vols []volume
	rootHolders := tree.holding("/", rootMount, haveRoot)
	for _, target := range targets {
		m, have := MountAt(mounts, target)
		holders := tree.holding(target, m, have)
		if target == "/home" && slices.Equal(holders, rootHolders) {
			continue // /home is a subvolume or directory of the root device
		}
		if len(holders) == 0 {
			if target == "/" {
				ev := checks.Evidence(evSource, health.OSReported)
				r := checks.Unknown(i18n.T(
					"Could not find the disk that holds the root file system, so its encryption is unknown.",
					"找不到存放根文件系统的磁盘，因此无法确定其是否加密。"), ev)
				r.Details = details
				return r
			}
			continue
		}
		for _, h := range holders {
			ok, chain, crypt := tree.encrypted(h, 0)
			vols = append(vols, volume{target: target, ok: ok, chain: chain, crypt: crypt})
		}
	}
	ev := checks.Evidence(evSource, health.OSReported)
	for _, v := range vols {
		details = append(details, fmt.Sprintf("%s: %s", v.target, strings.Join(v.chain, " → ")))
	}
	for _, v := range vols {
		if !v.ok {
			r := checks.Fail(i18n.T(
				fmt.Sprintf("The disk holding %s is not encrypted: there is no LUKS/dm-crypt layer under it.", v.target),
				fmt.Sprintf("存放 %s 的磁盘未加密：其下没有 LUKS/dm-crypt 加密层。", v.target)), ev, fixLinux)
			r.Details = details
			return r
		}
	}
	// Every judged volume is encrypted; add what cryptsetup tells.
	ev.Facts = map[string]any{}
	for _, v := range vols {
		info, extra := cryptDetails(ctx, src, tree, v.crypt)
		details = append(details, extra...)
		if info.Cipher != "" {
			ev.Facts["cipher"] = info.Cipher
		}
		if info.Version != "" {
			ev.Facts["luks_version"] = info.Version
		}
		if info.Subsystem != "" {
			ev.Facts["luks_subsystem"] = info.Subsystem
		}
		if strings.HasPrefix(info.Cipher, "cipher_null") {
			r := checks.Fail(i18n.T(
				fmt.Sprintf("%s is in a LUKS container that uses the null cipher, which does not encrypt anything.", v.target),
				fmt.Sprintf("%s 所在的 LUKS 容器使用空加密算法（cipher_null），实际上没有加密任何数据。", v.target)), ev, fixLinux)
			r.Details = details
			return r
		}
	}
	if len(ev.Facts) == 0 {
		ev.Facts = nil
	}
	r := checks.Pass(i18n.T(
		"The system disk is encrypted with LUKS/dm-crypt.",
		"系统磁盘已使用 LUKS/dm-crypt 加密。"), ev)
	r.Details = details
	return r
}

// readTree runs lsblk, JSON first and the text tree for older versions.
func readTree(ctx context.Context, src source.Source) ([]BlockDevice, string, []string) {
	var details []string
	out, err := src.Run(ctx, lsblkJSON...)
	if err == nil && out.OK() {
		devs, perr := ParseLsblkJSON(strings.NewReader(out.Stdout))
		if perr == nil {
			return devs, "lsblk", nil
		}
		details = append(details, "lsblk -J: "+perr.Error())
	} else {
		details = append(details, "lsblk -J: "+runError(out, err))
	}
	out, err = src.Run(ctx, lsblkText...)
	if err == nil && out.OK() {
		devs, perr := ParseLsblkTree(out.Stdout)
		if perr == nil {
			return devs, "lsblk", nil
		}
		details = append(details, "lsblk: "+perr.Error())
	} else {
		details = append(details, "lsblk: "+runError(out, err))
	}
	return nil, "", details
}

func runError(out source.Output, err error) string {
	switch {
	case errors.Is(err, source.ErrNotFound):
		return "not installed"
	case err != nil:
		return err.Error()
	}
	msg := strings.TrimSpace(out.Stderr)
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Sprintf("exit %d %s", out.Exit, msg)
}

// cryptDetails asks cryptsetup about the crypt mapping and its LUKS
// device. Both need privilege and are only supporting detail.
func cryptDetails(ctx context.Context, src source.Source, tree blockTree, crypt string) (LUKSInfo, []string) {
	var info LUKSInfo
	var details []string
	if crypt == "" {
		return info, nil
	}
	if out, err := src.Run(ctx, "cryptsetup", "status", crypt); err == nil && out.OK() {
		if st, err := ParseCryptsetupStatus(out.Stdout); err == nil {
			info.Type, info.Cipher = st.Type, st.Cipher
			details = append(details, fmt.Sprintf("cryptsetup status %s: type %s, cipher %s", crypt, st.Type, st.Cipher))
		}
	}
	for _, p := range tree.parents(crypt) {
		if tree.first(p).FSType != "crypto_LUKS" {
			continue
		}
		out, err := src.Run(ctx, "cryptsetup", "luksDump", "/dev/"+p)
		if err != nil || !out.OK() {
			continue
		}
		if d, err := ParseLUKSDump(out.Stdout); err == nil {
			info.Version, info.Subsystem = d.Version, d.Subsystem
			line := fmt.Sprintf("cryptsetup luksDump /dev/%s: LUKS%s", p, d.Version)
			if d.Subsystem != "" {
				line += ", subsystem " + d.Subsystem
			}
			details = append(details, line)
		}
		break
	}
	return info, details
}

// linuxFromSysfs judges the root device from /proc/mounts and
// /sys/block/*/dm when lsblk cannot be used.
func linuxFromSysfs(src source.Source, root Mount, haveRoot bool, details []string) checks.Result {
	ev := checks.Evidence("/sys/block", health.OSReported)
	unknown := func(en, zh string) checks.Result {
		r := checks.Unknown(i18n.T(en, zh), ev)
		r.Details = details
		return r
	}
	if !haveRoot {
		return unknown("Neither lsblk nor /proc/mounts could be read, so disk encryption is unknown.",
			"无法读取 lsblk 和 /proc/mounts，因此无法确定磁盘是否加密。")
	}
	names, err := src.ReadDir("/sys/block")
	if err != nil {
		return unknown("lsblk is not available and /sys/block could not be read, so disk encryption is unknown.",
			"lsblk 不可用且无法读取 /sys/block，因此无法确定磁盘是否加密。")
	}
	dmByName := map[string]string{} // mapper name → dm-N
	for _, n := range names {
		if !strings.HasPrefix(n, "dm-") {
			continue
		}
		if b, err := src.ReadFile("/sys/block/" + n + "/dm/name"); err == nil {
			dmByName[strings.TrimSpace(string(b))] = n
		}
	}
	var start string
	switch {
	case strings.HasPrefix(root.Source, "/dev/mapper/"):
		start = dmByName[strings.TrimPrefix(root.Source, "/dev/mapper/")]
	case strings.HasPrefix(root.Source, "/dev/dm-"):
		start = path.Base(root.Source)
	case strings.HasPrefix(root.Source, "/dev/") && root.Source != "/dev/root":
		details = append(details, "/: "+root.Source+" (no device-mapper layer)")
		r := checks.Fail(i18n.T(
			"The root file system is directly on "+root.Source+", with no LUKS/dm-crypt layer: the disk is not encrypted.",
			"根文件系统直接位于 "+root.Source+" 上，没有 LUKS/dm-crypt 加密层：磁盘未加密。"), ev, fixLinux)
		r.Details = details
		return r
	}
	if start == "" {
		return unknown("Could not find the device that holds the root file system ("+root.Source+"), so its encryption is unknown.",
			"找不到存放根文件系统的设备（"+root.Source+"），因此无法确定其是否加密。")
	}
	ok, chain, err := sysfsEncrypted(src, start, 0)
	details = append(details, "/: "+strings.Join(chain, " → "))
	if err != nil {
		return unknown("Could not read the device-mapper tables under /sys/block, so disk encryption is unknown.",
			"无法读取 /sys/block 下的 device-mapper 信息，因此无法确定磁盘是否加密。")
	}
	if !ok {
		r := checks.Fail(i18n.T(
			"The disk holding / is not encrypted: there is no LUKS/dm-crypt layer under it.",
			"存放 / 的磁盘未加密：其下没有 LUKS/dm-crypt 加密层。"), ev, fixLinux)
		r.Details = details
		return r
	}
	r := checks.Pass(i18n.T("The system disk is encrypted with LUKS/dm-crypt.", "系统磁盘已使用 LUKS/dm-crypt 加密。"), ev)
	r.Details = details
	return r
}

// sysfsEncrypted follows /sys/block/dm-N/slaves down to the disks; a dm
// device whose uuid starts with CRYPT- is a dm-crypt mapping.
func sysfsEncrypted(src source.Source, dev string, depth int) (bool, []string, error) {
	if !strings.HasPrefix(dev, "dm-") || depth > 32 {
		return false, []string{dev}, nil
	}
	b, err := src.ReadFile("/sys/block/" + dev + "/dm/uuid")
	if err != nil {
		return false, []string{dev}, err
	}
	uuid := strings.TrimSpace(string(b))
	kind, _, _ := strings.Cut(uuid, "-")
	if len(uuid) > 20 {
		uuid = uuid[:20] + "…"
	}
	chain := []string{dev + " (" + uuid + ")"}
	if kind == "CRYPT" {
		return true, chain, nil
	}
	// Every device-mapper device has a slaves directory: one missing is
	// missing evidence, not a device with nothing beneath it.
	slaves, err := src.ReadDir("/sys/block/" + dev + "/slaves")
	if err != nil {
		return false, chain, err
	}
	if len(slaves) == 0 {
		return false, chain, nil
	}
	var okChain []string
	for _, s := range slaves {
		ok, c, err := sysfsEncrypted(src, s, depth+1)
		if err != nil {
			return false, append(chain, c...), err
		}
		if !ok {
			return false, append(chain, c...), nil
		}
		if okChain == nil {
			okChain = c
		}
	}
	return true, append(chain, okChain...), nil
}
