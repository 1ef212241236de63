package protocol

import "testing"

func TestFamilyKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"QakBot", "win.qakbot"},
		{"QakBot", "qbot"},
		{"Qbot", "Pinkslipbot"},
		{"Cobalt Strike", "win.cobalt_strike"},
		{"Mirai (ELF)", "elf.mirai"},
		{"Emotet", "heodo"},
		{"b68-zeroaccess-2-32bit", "b68-zeroaccess-2-32bit"},
	} {
		if FamilyKey(tc.a) != FamilyKey(tc.b) || FamilyKey(tc.a) == "" {
			t.Errorf("FamilyKey(%q) = %q, FamilyKey(%q) = %q; want the same", tc.a, FamilyKey(tc.a), tc.b, FamilyKey(tc.b))
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"QakBot", "Emotet"},
		{"Mirai", "Dridex"},
		{"agent", "agenttesla"},
	} {
		if FamilyKey(tc.a) == FamilyKey(tc.b) {
			t.Errorf("FamilyKey(%q) = FamilyKey(%q) = %q; want different", tc.a, tc.b, FamilyKey(tc.a))
		}
	}
	if k := FamilyKey("  ( ) "); k != "" {
		t.Errorf("FamilyKey of no name = %q", k)
	}
}
