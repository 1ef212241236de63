package agent

import (
	"fmt"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/protocol"
)

// SightingFinding is why the device is contraindicated when the verdict
// rests on an outside sighting its own connection history confirmed. It
// is read from the authority's verified notice only.
type SightingFinding struct {
	ID     health.CheckID `json:"id"`
	Status health.Status  `json:"status"`
	// Source is "sighting", as in the authority's malware result.
	Source   string    `json:"source"`
	Reason   string    `json:"reason"`
	Endpoint string    `json:"endpoint"`
	Family   string    `json:"family,omitempty"`
	SeenAt   time.Time `json:"seen_at"`
	// Until is when the hold ends by itself unless an operator clears it
	// sooner after the device is cleaned.
	Until time.Time `json:"until"`
}

// SightingFor returns the confirmed sighting the kept, verified notice
// names, in lang; false when the verdict does not rest on one.
func (a *Agent) SightingFor(lang i18n.Lang) (*SightingFinding, bool) {
	kept, ok := a.Notice()
	if !ok {
		return nil, false
	}
	return sightingFinding(&kept.Notice, lang)
}

func sightingFinding(n *protocol.Notice, lang i18n.Lang) (*SightingFinding, bool) {
	if n.Sighting == nil || health.Tier(n.Verdict) != health.Contraindicated {
		return nil, false
	}
	s := n.Sighting
	return &SightingFinding{ID: health.Malware, Status: health.Fail, Source: "sighting",
		Reason: SightingReason(s).In(lang), Endpoint: s.Endpoint, Family: s.Family, SeenAt: s.SeenAt, Until: s.Until}, true
}

// SightingReason says, in the user's own time zone, what a confirmed
// sighting means and when it clears.
func SightingReason(s *protocol.NoticeSighting) i18n.Text {
	seen, until := FormatTime(s.SeenAt), FormatTime(s.Until)
	return i18n.T(
		fmt.Sprintf("An outside report that this device's address talked to a botnet control server was confirmed by this device's own connection history (%s, seen %s); it stays until %s unless the device is cleaned and an operator clears it.", s.Endpoint, seen, until),
		fmt.Sprintf("一份外部报告称此设备的地址曾与僵尸网络控制服务器通信，此设备自身的连接记录证实了这一点（%s，发现于 %s）；除非设备已清理并由管理员解除，否则此状态将保持到 %s。", s.Endpoint, seen, until))
}

// WithSighting puts the sighting finding in place of the device's own
// malware result (appended when there is none), so the list agrees with
// the verdict; the device's own result stays as a detail. Without a
// finding the results are returned as they are.
func WithSighting(results []health.Result, f *SightingFinding, lang i18n.Lang) []health.Result {
	if f == nil {
		return results
	}
	r := health.Result{ID: health.Malware, Status: health.Fail, Reason: f.Reason,
		Evidence: health.Evidence{Source: f.Source, Trust: health.SelfReported,
			Facts: map[string]any{"endpoint": f.Endpoint, "seen_at": f.SeenAt, "until": f.Until}},
		Remediation: i18n.T("Clean the device with the steps above, then ask your health authority's operator to clear the report.",
			"按上面的步骤清理设备，然后请您的健康认证机构的管理员解除该报告。").In(lang),
	}
	if f.Family != "" {
		r.Evidence.Facts["family"] = f.Family
	}
	out := make([]health.Result, 0, len(results)+1)
	placed := false
	for _, o := range results {
		if o.ID != health.Malware || placed {
			out = append(out, o)
			continue
		}
		if o.Status == health.Fail {
			// The device's own check found malware: that is the reason.
			out, placed = append(out, o), true
			continue
		}
		own := r
		own.Details = append([]string{i18n.T("this device's own malware check now: ", "此设备自身的恶意软件检查当前结果：").In(lang) + o.Reason}, o.Details...)
		out, placed = append(out, own), true
	}
	if !placed {
		out = append(out, r)
	}
	return out
}
