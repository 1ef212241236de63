package firewall

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"slices"
	"strings"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/checks"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/source"
)

// What the Windows check reads.
var (
	psProfilesArgv = []string{"powershell", "-NoProfile", "-NonInteractive", "-Command",
		"Get-NetFirewallProfile -PolicyStore ActiveStore | Select-Object Name,Enabled,DefaultInboundAction | ConvertTo-Json"}
	netshAllArgv     = []string{"netsh", "advfirewall", "show", "allprofiles", "state"}
	netshCurrentArgv = []string{"netsh", "advfirewall", "show", "currentprofile", "state"}
	psWSCArgv        = []string{"powershell", "-NoProfile", "-NonInteractive", "-Command",
		"Get-CimInstance -Namespace root/SecurityCenter2 -ClassName FirewallProduct | Select-Object displayName,productState,pathToSignedProductExe | ConvertTo-Json"}
	wscFirewallClass = "root/SecurityCenter2:FirewallProduct"
	fwPolicyKey      = `HKLM\SYSTEM\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy\`
	// registry subkey → profile name
	fwRegistryProfiles = [][2]string{{"DomainProfile", "Domain"}, {"StandardProfile", "Private"}, {"PublicProfile", "Public"}}
)

func windowsProbes() []source.Probe {
	p := []source.Probe{
		source.Command(psProfilesArgv...),
		source.Command(netshAllArgv...),
		source.Command(netshCurrentArgv...),
	}
	for _, rp := range fwRegistryProfiles {
		p = append(p, source.RegistryKey(fwPolicyKey+rp[0], "EnableFirewall"))
	}
	return append(p, source.WMIClass(wscFirewallClass), source.Command(psWSCArgv...),
		// Whether a registered firewall's program is still installed.
		source.Dir("<folder of the program a Security Center row names>"))
}

var windowsFix = i18n.T(
	"Turn on the firewall: open Windows Security > Firewall & network protection and switch on Microsoft Defender Firewall for the active network (Domain, Private and Public), or in an administrator PowerShell run: Set-NetFirewallProfile -Profile Domain,Private,Public -Enabled True -DefaultInboundAction Block.",
	"开启防火墙：打开“Windows 安全中心 > 防火墙和网络保护”，为当前网络（域、专用和公用）打开 Microsoft Defender 防火墙；或在管理员 PowerShell 中运行：Set-NetFirewallProfile -Profile Domain,Private,Public -Enabled True -DefaultInboundAction Block。")

func runWindows(ctx context.Context, src source.Source) checks.Result {
	return judge([]sub{windowsFirewall(ctx, src), windowsThirdParty(ctx, src)}, windowsFix)
}

type profileReading struct {
	Profile
	source string
}

func windowsFirewall(ctx context.Context, src source.Source) sub {
	s := sub{name: "Windows Defender Firewall", trust: health.OSReported}
	got := map[string]profileReading{}
	var notes []string
	set := func(p Profile, from string) {
		if p.Enabled == "" {
			return
		}
		if _, ok := got[p.Name]; !ok {
			got[p.Name] = profileReading{p, from}
		}
	}
	if out, err := src.Run(ctx, psProfilesArgv...); err == nil && out.OK() {
		if ps, perr := ParseNetFirewallProfiles(out.Stdout); perr == nil {
			for _, p := range ps {
				set(p, "Get-NetFirewallProfile")
			}
		} else {
			notes = append(notes, "Get-NetFirewallProfile: unreadable output")
		}
	}
	if out, err := src.Run(ctx, netshAllArgv...); err == nil && out.OK() {
		for _, p := range ParseNetshProfiles(out.Stdout) {
			set(p, argvString(netshAllArgv))
		}
	}
	for _, rp := range fwRegistryProfiles {
		vals, err := src.Registry(fwPolicyKey + rp[0])
		if err != nil {
			continue
		}
		if v, ok := regDWORD(vals, "EnableFirewall"); ok {
			p := Profile{Name: rp[1], Enabled: "off"}
			if v != 0 {
				p.Enabled = "on"
			}
			set(p, fwPolicyKey+rp[0])
		}
	}
	var active []string
	if out, err := src.Run(ctx, netshCurrentArgv...); err == nil && out.OK() {
		for _, p := range ParseNetshProfiles(out.Stdout) {
			active = append(active, p.Name)
			set(p, argvString(netshCurrentArgv))
		}
	}

	describe := func(p profileReading) string {
		switch {
		case p.Enabled == "on" && p.InboundAllowed:
			return p.Name + " profile on, but it allows incoming connections by default"
		case p.Enabled == "on":
			return p.Name + " profile on"
		}
		return p.Name + " profile off"
	}
	blocks := func(p profileReading) bool { return p.Enabled == "on" && !p.InboundAllowed }

	if len(got) == 0 {
		s.state, s.detail, s.source = unread, "could not read the firewall profiles", argvString(netshAllArgv)
		return s
	}
	if len(active) > 0 {
		s.facts = map[string]any{"active_profiles": strings.Join(active, ",")}
		var parts []string
		allOn, anyMissing := true, false
		for _, name := range active {
			p, ok := got[name]
			if !ok {
				anyMissing = true
				parts = append(parts, name+" profile state not readable")
				continue
			}
			parts = append(parts, describe(p))
			if s.source == "" || !blocks(p) {
				s.source = p.source
			}
			if !blocks(p) {
				allOn = false
			}
		}
		s.detail = strings.Join(parts, ", ") + " (active)"
		switch {
		case !allOn:
			s.state = off
		case anyMissing:
			s.state = unread
		default:
			s.state = on
		}
		return s
	}

	// The active profile is not known: judge all profiles.
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	slices.Sort(names)
	var parts []string
	nOn, nOff := 0, 0
	for _, n := range names {
		p := got[n]
		parts = append(parts, describe(p))
		if blocks(p) {
			nOn++
		} else {
			nOff++
		}
		if s.source == "" {
			s.source = p.source
		}
	}
	s.detail = strings.Join(parts, ", ") + "; the active profile could not be read"
	switch {
	case nOff == 0 && len(got) == 3:
		s.state = on
	case nOn == 0:
		s.state = off
	default:
		s.state = unread
	}
	return s
}

// wscProduct is one registered third-party firewall.
type wscProduct struct {
	name, exe string
	state     ProductState
	ok        bool
}

func windowsThirdParty(ctx context.Context, src source.Source) sub {
	s := sub{name: "third-party firewall", source: wscFirewallClass, trust: health.ProductReported}
	insts, err := src.WMI(ctx, wscFirewallClass)
	if err != nil {
		if noSecurityCenter(err.Error()) {
			s.state, s.detail = absent, "Security Center not available (Windows Server has none)"
			return s
		}
		// Fall back to PowerShell's CIM cmdlets.
		out, perr := src.Run(ctx, psWSCArgv...)
		switch {
		case perr != nil:
			s.state, s.detail = unread, "Security Center could not be read ("+runErr(err)+")"
			return s
		case noSecurityCenter(out.Stderr + out.Stdout):
			s.state, s.detail, s.source = absent, "Security Center not available (Windows Server has none)", "Get-CimInstance FirewallProduct"
			return s
		case !out.OK():
			s.state, s.detail, s.source = unread, "Security Center could not be read: "+firstLine(out.Stderr+out.Stdout), "Get-CimInstance FirewallProduct"
			return s
		}
		insts, err = parseCimJSON(out.Stdout)
		s.source = "Get-CimInstance FirewallProduct"
		if err != nil {
			s.state, s.detail = unread, "unreadable Security Center output"
			return s
		}
	}
	var prods []wscProduct
	for _, in := range insts {
		p := wscProduct{}
		p.name, _ = in["displayName"].(string)
		p.exe, _ = in["pathToSignedProductExe"].(string)
		v, perr := productStateValue(in["productState"])
		if perr == nil {
			p.state, p.ok = DecodeProductState(v), true
		}
		prods = append(prods, p)
	}
	if len(prods) == 0 {
		s.state, s.detail = absent, "none registered with Security Center"
		return s
	}
	var parts []string
	anyOn, anyUnread := false, false
	var onNames []string
	for _, p := range prods {
		name := p.name
		if name == "" {
			name = "unnamed product"
		}
		switch {
		case !p.ok:
			parts = append(parts, name+" (state unreadable)")
			anyUnread = true
		case p.state.On() && programGone(src, p.exe):
			parts = append(parts, name+" registered as on, but its program is no longer installed")
		case p.state.On():
			parts = append(parts, name+" on")
			anyOn = true
			onNames = append(onNames, name)
		default:
			parts = append(parts, name+" "+p.state.State)
		}
	}
	s.detail = strings.Join(parts, ", ")
	switch {
	case anyOn:
		s.state = on
		s.facts = map[string]any{"product": strings.Join(onNames, ", ")}
	case anyUnread:
		s.state = unread
	default:
		s.state = off
	}
	return s
}

// noSecurityCenter reports whether an error says root/SecurityCenter2
// does not exist, as on Windows Server (WBEM_E_INVALID_NAMESPACE).
func noSecurityCenter(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "invalid namespace") || strings.Contains(m, "0x8004100e")
}

// programGone reports whether a registered product's program is known to
// be missing: its folder does not exist or does not list it. A stale
// Security Center row survives an uninstall and is no protection. When
// the path cannot be checked, the product is given the benefit of the
// doubt.
func programGone(src source.Source, exe string) bool {
	exe = strings.TrimSpace(exe)
	i := strings.LastIndex(exe, `\`)
	if i <= 0 || strings.Contains(exe, "%") || len(exe) < 3 || exe[1] != ':' {
		return false
	}
	names, err := src.ReadDir(exe[:i])
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	base := strings.ToLower(exe[i+1:])
	for _, n := range names {
		if strings.ToLower(n) == base {
			return false
		}
	}
	return true
}

// parseCimJSON reads ConvertTo-Json output: one object or an array.
func parseCimJSON(text string) ([]map[string]any, error) {
	text = strings.TrimSpace(strings.TrimPrefix(text, "\ufeff"))
	if text == "" {
		return nil, nil
	}
	if strings.HasPrefix(text, "{") {
		var one map[string]any
		if err := json.Unmarshal([]byte(text), &one); err != nil {
			return nil, err
		}
		return []map[string]any{one}, nil
	}
	var many []map[string]any
	err := json.Unmarshal([]byte(text), &many)
	return many, err
}

// regDWORD reads a REG_DWORD value.
func regDWORD(vals map[string]source.RegValue, name string) (uint64, bool) {
	v, ok := vals[name]
	if !ok {
		return 0, false
	}
	switch n := v.Value.(type) {
	case uint64:
		return n, true
	case uint32:
		return uint64(n), true
	case int:
		return uint64(n), n >= 0
	case float64:
		return uint64(n), n >= 0
	}
	return 0, false
}
