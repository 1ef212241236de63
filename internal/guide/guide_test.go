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
