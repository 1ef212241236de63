package firewall

import (
	"os"
	"path/filepath"
	"testing"
)

// seeds adds every captured text file under testdata/goos as a seed.
func seeds(f *testing.F, goos string) {
	files, _ := filepath.Glob("testdata/" + goos + "/*.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
}

func FuzzParseNft(f *testing.F) {
	seeds(f, "linux")
	f.Add("table inet f {\n chain c {\n type filter hook input priority 0; policy drop;\n set s { elements = { 1,\n 2 } }\n drop\n }\n}\n")
	f.Fuzz(func(t *testing.T, s string) {
		rs := ParseNft(s)
		for _, c := range rs.InputChains() {
			_ = c.Blocks()
			_ = c.Describe()
		}
	})
}

func FuzzParseIptablesSave(f *testing.F) {
	seeds(f, "linux")
	f.Fuzz(func(t *testing.T, s string) {
		d := ParseIptablesSave(s)
		d.InputBlocks()
	})
}

func FuzzParseUFWStatus(f *testing.F) {
	seeds(f, "linux")
	f.Fuzz(func(t *testing.T, s string) {
		st := ParseUFWStatus(s)
		if st.Blocks() && !st.Active {
			t.Errorf("inactive ufw blocks: %+v", st)
		}
	})
}

func FuzzParseShellVars(f *testing.F) {
	f.Add("ENABLED=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\n")
	f.Add("X='\nY=\"")
	f.Fuzz(func(t *testing.T, s string) { ParseShellVars(s) })
}

func FuzzParseFirewalldState(f *testing.F) {
	seeds(f, "linux")
	f.Fuzz(func(t *testing.T, s string) {
		if ParseFirewalldState(s, 252) == FirewalldRunning {
			t.Errorf("exit 252 is running: %q", s)
		}
	})
}

func FuzzParseNetshProfiles(f *testing.F) {
	seeds(f, "windows")
	f.Fuzz(func(t *testing.T, s string) { ParseNetshProfiles(s) })
}

func FuzzParseNetFirewallProfiles(f *testing.F) {
	f.Add(`[{"Name":"Domain","Enabled":1,"DefaultInboundAction":0}]`)
	f.Add(`{"Name":"Public","Enabled":"True","DefaultInboundAction":"Allow"}`)
	f.Add(`{"Name":7,"Enabled":[1]}`)
	f.Fuzz(func(t *testing.T, s string) {
		ParseNetFirewallProfiles(s)
		parseCimJSON(s)
	})
}

func FuzzDecodeProductState(f *testing.F) {
	for _, v := range []uint32{69632, 65536, 397568, 393472, 0xffffffff} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v uint32) {
		p := DecodeProductState(v)
		if p.Raw != v || p.State == "" {
			t.Errorf("DecodeProductState(%d) = %+v", v, p)
		}
	})
}

func FuzzParseSocketfilterfw(f *testing.F) {
	seeds(f, "darwin")
	f.Fuzz(func(t *testing.T, s string) {
		ParseSocketfilterfw(s)
		ParseDefaultsInt(s)
	})
}

func FuzzParsePf(f *testing.F) {
	f.Add("Status: Enabled for 0 days 02:13:41  Debug: Urgent\n")
	f.Add("block drop in all\nblock return out all\nblock\n")
	f.Fuzz(func(t *testing.T, s string) {
		ParsePfInfo(s)
		PfInboundBlockRules(s)
	})
}
