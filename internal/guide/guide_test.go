package guide

import (
	"testing"

	"github.com/herd-health/herd/health"
)

func TestEveryCheckHasHelpInEveryLanguageAndOS(t *testing.T) {
	for _, id := range health.CheckIDs {
		e, ok := For(id)
		if !ok || e.ID != id {
			t.Fatalf("no help for %s", id)
		}
		for _, txt := range []struct {
			what string
			en   string
			zh   string
		}{{"title", e.Title.En, e.Title.Zh}, {"why", e.Why.En, e.Why.Zh}} {
			if txt.en == "" || txt.zh == "" {
				t.Errorf("%s: %s missing a language", id, txt.what)
			}
		}
		for _, goos := range []string{"linux", "windows", "darwin"} {
			f := e.Fix[goos]
			if f.En == "" || f.Zh == "" {
				t.Errorf("%s: no fix for %s in both languages", id, goos)
			}
		}
	}
	if _, ok := For("wifi"); ok {
		t.Fatal("help for an unknown check")
	}
}

func TestWhatAndStepsInBothLanguages(t *testing.T) {
	for _, id := range health.CheckIDs {
		t.Run(string(id), func(t *testing.T) {
			if w := What(id); w.En == "" || w.Zh == "" {
				t.Errorf("What(%s) missing a language: %+v", id, w)
			}
			for _, goos := range []string{"linux", "windows", "darwin"} {
				en, zh := Steps(id, goos, "en"), Steps(id, goos, "zh-CN")
				if len(en) == 0 || len(zh) == 0 {
					t.Errorf("%s/%s: no steps (en %d, zh %d)", id, goos, len(en), len(zh))
				}
				if _, full := steps[id][goos]; full && len(en) != len(zh) {
					t.Errorf("%s/%s: %d English steps, %d Chinese", id, goos, len(en), len(zh))
				}
			}
		})
	}
	if got := Steps(health.Firewall, "darwin", "en"); len(got) != 4 || got[2] != "Turn the firewall on." {
		t.Errorf("Steps(firewall, darwin) = %q", got)
	}
	if Steps("wifi", "linux", "en") != nil {
		t.Error("steps for an unknown check")
	}
}
