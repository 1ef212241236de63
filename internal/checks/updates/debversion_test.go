package updates

import (
	"os/exec"
	"testing"
)

// debVersionPairs were answered by `dpkg --compare-versions A lt|eq B` on
// Debian 12 (dpkg 1.21); TestCompareDebVersionsDpkg asks dpkg again where
// it is installed.
var debVersionPairs = []struct {
	a, b string
	want int
}{
	{"1.0", "1.0", 0},
	{"1.0", "1.1", -1},
	{"1.1", "1.0", 1},
	{"1.0", "1.0-1", -1},
	{"1.0-1", "1.0-2", -1},
	{"1.0-10", "1.0-9", 1},
	{"1.0~rc1", "1.0", -1},
	{"1.0~rc1", "1.0~rc2", -1},
	{"1.0~~", "1.0~", -1},
	{"1.0~", "1.0", -1},
	{"1.0", "1.0+", -1},
	{"1.0+b1", "1.0", 1},
	{"1.0a", "1.0", 1},
	{"1.0a", "1.0+", -1},
	{"1.0.1", "1.0a", 1},
	{"1:1.0", "2.0", 1},
	{"0:1.0", "1.0", 0},
	{"1:9.2p1-2+deb12u6", "1:9.2p1-2+deb12u10", -1},
	{"1:9.2p1-2+deb12u9", "1:9.2p1-2+deb12u10", -1},
	{"1.10.1-3", "1.10.1-3+deb12u1", -1},
	{"2.36-9+deb12u4", "2.36-9+deb12u10", -1},
	{"5.4.1-1", "5.4.1-1+deb12u2", -1},
	{"1.2.3", "1.2.3.0", -1},
	{"1.2.3-0", "1.2.3", 0},
	{"1.001", "1.1", 0},
	{"1.0-1ubuntu1", "1.0-1", 1},
	{"1.0-1ubuntu1", "1.0-1ubuntu0.1", 1},
	{"6.1.0-18", "6.1.0-9", 1},
	{"a", "b", -1},
	{"A", "a", -1},
	{"1.0-a", "1.0-A", 1},
	{"1.0.0~beta", "1.0.0~alpha", 1},
	{"3.0.11-1~deb12u2", "3.0.11-1", -1},
	{"3.0.11-1~deb12u2", "3.0.11-1~deb12u1", 1},
	{"2:1.0", "1:9.9", 1},
	{"1.0-1-1", "1.0-1", 1},
	{"10", "9", 1},
	{"1.0-1.1", "1.0-1", 1},
	{"0.9", "0.10", -1},
	{"1.0+dfsg", "1.0", 1},
	{"1.0+dfsg-1", "1.0-1", 1},
	{"7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1},
	{"1.0.a", "1.0a", 1},
}

func TestCompareDebVersions(t *testing.T) {
	for _, p := range debVersionPairs {
		t.Run(p.a+"_vs_"+p.b, func(t *testing.T) {
			if got := CompareDebVersions(p.a, p.b); got != p.want {
				t.Errorf("CompareDebVersions(%q, %q) = %d, want %d", p.a, p.b, got, p.want)
			}
			if got := CompareDebVersions(p.b, p.a); got != -p.want {
				t.Errorf("CompareDebVersions(%q, %q) = %d, want %d", p.b, p.a, got, -p.want)
			}
		})
	}
}

func TestCompareDebVersionsDpkg(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg is not installed")
	}
	for _, p := range debVersionPairs {
		op := map[int]string{-1: "lt", 0: "eq", 1: "gt"}[CompareDebVersions(p.a, p.b)]
		if err := exec.Command("dpkg", "--compare-versions", p.a, op, p.b).Run(); err != nil {
			t.Errorf("dpkg disagrees: %q %s %q is false", p.a, op, p.b)
		}
	}
}

func FuzzCompareDebVersions(f *testing.F) {
	for _, p := range debVersionPairs {
		f.Add(p.a, p.b)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if x, y := CompareDebVersions(a, b), CompareDebVersions(b, a); x != -y {
			t.Errorf("not antisymmetric: %q %q: %d %d", a, b, x, y)
		}
		if c := CompareDebVersions(a, a); c != 0 {
			t.Errorf("%q compared with itself = %d", a, c)
		}
	})
}
