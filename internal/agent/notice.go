package agent

import (
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/guide"
	"github.com/herd-health/herd/internal/i18n"
	"github.com/herd-health/herd/internal/protocol"
)

// UserNotice is a verified notice as the user reads it, in one language.
type UserNotice struct {
	Title   string `json:"title"`
	Message string `json:"message"`
	// Steps say how to clean this device.
	Steps    []string  `json:"steps"`
	IssuedAt time.Time `json:"issued_at"`
}

// NoticeFor returns the verified notice kept for the user (see Notice)
// in lang. For a contraindicated device the steps are the guide's
// cleaning steps for goos; otherwise, or for an OS the guide does not
// know, they are the steps the authority signed.
func (a *Agent) NoticeFor(goos string, lang i18n.Lang) (*UserNotice, bool) {
	kept, ok := a.Notice()
	if !ok {
		return nil, false
	}
	n := kept.Notice
	u := &UserNotice{
		Title:    localized(n.Title, lang),
		Message:  localized(n.Message, lang),
		IssuedAt: time.Unix(n.IssuedAt, 0).UTC(),
	}
	if e, ok := guide.For(health.Malware); ok && health.Tier(n.Verdict) == health.Contraindicated {
		if _, known := e.Fix[goos]; known {
			u.Steps = guide.Steps(health.Malware, goos, lang)
		}
	}
	if len(u.Steps) == 0 {
		for _, s := range n.Steps {
			if t := localized(s, lang); t != "" {
				u.Steps = append(u.Steps, t)
			}
		}
	}
	return u, true
}

// localized picks lang's text, or the other language's when lang's is
// missing.
func localized(l protocol.Localized, lang i18n.Lang) string {
	if lang == i18n.Chinese && l.ZH != "" {
		return l.ZH
	}
	if l.EN != "" {
		return l.EN
	}
	return l.ZH
}
