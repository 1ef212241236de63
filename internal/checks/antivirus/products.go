package antivirus

import (
	"path"
	"strings"

	"github.com/herd-health/herd/internal/source"
)

// product is an anti-malware product recognised by its processes.
type product struct {
	Name  string
	Procs []string // process names (Linux truncates them to 15 bytes)
	Dirs  []string // install directories an executable lives under
}

var linuxProducts = []product{
	{Name: "CrowdStrike Falcon", Procs: []string{"falcon-sensor"}, Dirs: []string{"/opt/CrowdStrike/"}},
	{Name: "Microsoft Defender for Endpoint", Procs: []string{"wdavdaemon"}, Dirs: []string{"/opt/microsoft/mdatp/"}},
	{Name: "Sophos", Procs: []string{"sophos_threat_d", "sophos_threat_detector", "soapd", "savd"}, Dirs: []string{"/opt/sophos-spl/", "/opt/sophos-av/"}},
	{Name: "ESET", Procs: []string{"esets_daemon", "oaeventd"}, Dirs: []string{"/opt/eset/"}},
	{Name: "SentinelOne", Procs: []string{"s1-agent"}, Dirs: []string{"/opt/sentinelone/"}},
	{Name: "Trellix Endpoint Security", Procs: []string{"mfetpd"}, Dirs: []string{"/opt/McAfee/"}},
}

var darwinProducts = []product{
	{Name: "CrowdStrike Falcon", Procs: []string{"com.crowdstrike.falcon.Agent", "falcond"}, Dirs: []string{"/Library/CS/", "/Applications/Falcon.app/"}},
	{Name: "Microsoft Defender for Endpoint", Procs: []string{"wdavdaemon", "wdavdaemon_enterprise"}, Dirs: []string{"/Library/Application Support/Microsoft/Defender/"}},
	{Name: "Sophos", Procs: []string{"SophosScanD", "SophosAntiVirus"}, Dirs: []string{"/Library/Sophos Anti-Virus/"}},
	{Name: "SentinelOne", Procs: []string{"sentineld"}, Dirs: []string{"/Library/Sentinel/"}},
	{Name: "Malwarebytes", Procs: []string{"RTProtectionDaemon"}},
	{Name: "ESET", Procs: []string{"esets_daemon"}},
}

var windowsProducts = []product{
	{Name: "CrowdStrike Falcon", Procs: []string{"CSFalconService.exe"}},
	{Name: "Sophos", Procs: []string{"SophosFileScanner.exe", "SavService.exe"}},
	{Name: "ESET", Procs: []string{"ekrn.exe"}},
	{Name: "SentinelOne", Procs: []string{"SentinelAgent.exe"}},
	{Name: "Trend Micro", Procs: []string{"ntrtscan.exe"}},
	{Name: "Symantec Endpoint Protection", Procs: []string{"ccSvcHst.exe"}},
	{Name: "Trellix Endpoint Security", Procs: []string{"mfetp.exe"}},
}

// recognise returns the names of the products in list with a running
// process, in list order.
func recognise(procs []source.Process, list []product) []string {
	var out []string
	for _, p := range list {
		if runs(procs, p) {
			out = append(out, p.Name)
		}
	}
	return out
}

func runs(procs []source.Process, p product) bool {
	for _, pr := range procs {
		base := pr.Exe
		if i := strings.LastIndexAny(base, `/\`); i >= 0 {
			base = base[i+1:]
		}
		for _, n := range p.Procs {
			if strings.EqualFold(pr.Name, n) || strings.EqualFold(path.Base(pr.Name), n) || (base != "" && strings.EqualFold(base, n)) {
				return true
			}
		}
		for _, d := range p.Dirs {
			if pr.Exe != "" && strings.HasPrefix(pr.Exe, d) {
				return true
			}
		}
	}
	return false
}

// running reports whether a process named name runs.
func running(procs []source.Process, name string) bool {
	for _, p := range procs {
		if p.Name == name || path.Base(p.Exe) == name {
			return true
		}
	}
	return false
}
