package source

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"
)

// The files in testdata/lz4 are the first 300,000 bytes of Debian 12's
// bookworm-security Packages index, compressed by lz4 1.9.4 (linked
// 4 MiB blocks, and independent 64 KiB blocks with block checksums and
// the content size) and by gzip.
const packagesHeadSHA256 = "c46fb845d2440035c0fb05173c3da42f36a129c26978f2948e4ccbe2dc4291b6"

func TestDecompress(t *testing.T) {
	for _, name := range []string{"packages-linked.lz4", "packages-independent-checksums.lz4", "packages.gz"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open("testdata/lz4/" + name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := Decompress(f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			if len(b) != 300000 || hex.EncodeToString(sum[:]) != packagesHeadSHA256 {
				t.Errorf("decoded %d bytes with sha256 %x, want 300000 bytes with %s", len(b), sum, packagesHeadSHA256)
			}
		})
	}
	t.Run("plain text passes through", func(t *testing.T) {
		r, err := Decompress(bytes.NewReader([]byte("Package: a\n")))
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(r); string(b) != "Package: a\n" {
			t.Errorf("got %q", b)
		}
	})
	t.Run("xz is refused", func(t *testing.T) {
		if _, err := Decompress(bytes.NewReader([]byte{0xfd, '7', 'z', 'X', 'Z', 0})); !errors.Is(err, ErrCompression) {
			t.Errorf("err = %v, want ErrCompression", err)
		}
	})
	t.Run("truncated lz4 is an error", func(t *testing.T) {
		b, _ := os.ReadFile("testdata/lz4/packages-linked.lz4")
		r, _ := Decompress(bytes.NewReader(b[:len(b)/2]))
		if _, err := io.ReadAll(r); !errors.Is(err, ErrCompression) {
			t.Errorf("err = %v, want ErrCompression", err)
		}
	})
}

func FuzzLZ4(f *testing.F) {
	for _, name := range []string{"packages-independent-checksums.lz4"} {
		b, _ := os.ReadFile("testdata/lz4/" + name)
		f.Add(b[:2000])
	}
	f.Add([]byte{0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7, 5, 0, 0, 0, 0x50, 'h', 'e', 'l', 'l', 'o', 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decompress(bytes.NewReader(append([]byte{0x04, 0x22, 0x4d, 0x18}, b...)))
		if err != nil {
			return
		}
		io.Copy(io.Discard, io.LimitReader(r, 64<<20))
	})
}
