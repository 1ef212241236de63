package source

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic numbers of the compressed forms APT keeps its indexes in.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	lz4Magic  = []byte{0x04, 0x22, 0x4d, 0x18}
)

// ErrCompression: a file is in a compressed form herd cannot read (xz,
// zstd, …) or is damaged.
var ErrCompression = errors.New("unreadable compressed data")

// Decompress returns a reader of r's content, decompressed when it starts
// with the magic number of gzip or the LZ4 frame format and as is
// otherwise. The choice is made on the content, not on a file name, so a
// snapshot may hold the plain text of a file whose name ends in .lz4.
func Decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, lz4Magic):
		return newLZ4Reader(br), nil
	case bytes.HasPrefix(head, gzipMagic):
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrCompression, err)
		}
		return z, nil
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X'}), bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, fmt.Errorf("%w: xz or zstd", ErrCompression)
	}
	return br, nil
}

// lz4Reader decodes the LZ4 frame format (lz4 --frame, what APT writes
// with `Acquire::GzipIndexes` and lz4 compression): frames of blocks,
// each block either stored or a sequence of literal runs and back
// references into the last 64 KiB of output. Checksums are skipped, not
// verified: the files come from the local disk, where APT verified them.
type lz4Reader struct {
	r    *bufio.Reader
	hist []byte // output so far, trimmed to the 64 KiB window
	out  []byte // decoded bytes not yet returned: the tail of hist
	buf  []byte // the compressed block being read, reused
	err  error

	inFrame       bool
	blockChecksum bool
	contentCheck  bool
	maxBlock      int
}

const lz4Window = 64 << 10

func newLZ4Reader(r *bufio.Reader) *lz4Reader { return &lz4Reader{r: r} }

func (z *lz4Reader) Read(p []byte) (int, error) {
	for len(z.out) == 0 {
		if z.err != nil {
			return 0, z.err
		}
		z.err = z.next()
	}
	n := copy(p, z.out)
	z.out = z.out[n:]
	return n, nil
}

func (z *lz4Reader) corrupt(what string) error {
	return fmt.Errorf("%w: lz4: %s", ErrCompression, what)
}

// next decodes one block (or a frame header) into z.out.
func (z *lz4Reader) next() error {
	var b4 [4]byte
	if !z.inFrame {
		if _, err := io.ReadFull(z.r, b4[:]); err != nil {
			if err == io.EOF {
				return io.EOF
			}
			return z.corrupt("truncated frame")
		}
		magic := binary.LittleEndian.Uint32(b4[:])
		if magic&0xfffffff0 == 0x184d2a50 { // skippable frame
			if _, err := io.ReadFull(z.r, b4[:]); err != nil {
				return z.corrupt("truncated skippable frame")
			}
			if _, err := z.r.Discard(int(binary.LittleEndian.Uint32(b4[:]))); err != nil {
				return z.corrupt("truncated skippable frame")
			}
			return nil
		}
		if magic != 0x184d2204 {
			return z.corrupt("bad magic number")
		}
		var hd [2]byte
		if _, err := io.ReadFull(z.r, hd[:]); err != nil {
			return z.corrupt("truncated frame header")
		}
		flg, bd := hd[0], hd[1]
		if flg>>6 != 1 {
			return z.corrupt("unknown frame version")
		}
		skip := 1 // header checksum
		if flg&0x08 != 0 {
			skip += 8 // content size
		}
		if flg&0x01 != 0 {
			skip += 4 // dictionary id
		}
		if _, err := z.r.Discard(skip); err != nil {
			return z.corrupt("truncated frame header")
		}
		size := (bd >> 4) & 7
		if size < 4 {
			return z.corrupt("bad block size")
		}
		z.maxBlock = 1 << (8 + 2*int(size))
		z.blockChecksum, z.contentCheck = flg&0x10 != 0, flg&0x04 != 0
		z.inFrame = true
		z.hist = z.hist[:0] // frames do not share history
		return nil
	}
	if _, err := io.ReadFull(z.r, b4[:]); err != nil {
		return z.corrupt("truncated block")
	}
	n := binary.LittleEndian.Uint32(b4[:])
	if n == 0 { // end mark
		z.inFrame = false
		if z.contentCheck {
			if _, err := z.r.Discard(4); err != nil {
				return z.corrupt("truncated content checksum")
			}
		}
		return nil
	}
	stored := n&0x80000000 != 0
	n &= 0x7fffffff
	if int(n) > z.maxBlock {
		return z.corrupt("block larger than the frame allows")
	}
	if cap(z.buf) < int(n) {
		z.buf = make([]byte, n)
	}
	block := z.buf[:n]
	if _, err := io.ReadFull(z.r, block); err != nil {
		return z.corrupt("truncated block")
	}
	if z.blockChecksum {
		if _, err := z.r.Discard(4); err != nil {
			return z.corrupt("truncated block checksum")
		}
	}
	// What was returned is consumed: keep only the window back
	// references may reach.
	if len(z.hist) > lz4Window {
		z.hist = append(z.hist[:0], z.hist[len(z.hist)-lz4Window:]...)
	}
	start := len(z.hist)
	if stored {
		z.hist = append(z.hist, block...)
	} else {
		var err error
		if z.hist, err = lz4Block(z.hist, block, z.maxBlock); err != nil {
			return err
		}
	}
	z.out = z.hist[start:]
	return nil
}

// lz4Block appends the decoding of one compressed block to dst, whose
// bytes are the history back references may reach into.
func lz4Block(dst, src []byte, limit int) ([]byte, error) {
	start := len(dst)
	bad := func(what string) ([]byte, error) { return dst, fmt.Errorf("%w: lz4 block: %s", ErrCompression, what) }
	length := func(i int, n int) (int, int, bool) {
		if n != 15 {
			return n, i, true
		}
		for {
			if i >= len(src) {
				return 0, i, false
			}
			b := src[i]
			i++
			n += int(b)
			if n > limit+15 {
				return 0, i, false
			}
			if b != 255 {
				return n, i, true
			}
		}
	}
	i := 0
	for i < len(src) {
		token := src[i]
		i++
		lit, j, ok := length(i, int(token>>4))
		if !ok || j+lit > len(src) {
			return bad("literals past the end")
		}
		i = j
		dst = append(dst, src[i:i+lit]...)
		i += lit
		if len(dst)-start > limit {
			return bad("output larger than the block size")
		}
		if i == len(src) {
			return dst, nil // the last sequence has literals only
		}
		if i+2 > len(src) {
			return bad("truncated offset")
		}
		off := int(src[i]) | int(src[i+1])<<8
		i += 2
		if off == 0 || off > len(dst) {
			return bad("offset outside the output")
		}
		ml, j, ok := length(i, int(token&15))
		if !ok {
			return bad("truncated match length")
		}
		i = j
		ml += 4
		if len(dst)-start+ml > limit {
			return bad("output larger than the block size")
		}
		from := len(dst) - off
		for k := 0; k < ml; k++ { // may overlap its own output
			dst = append(dst, dst[from+k])
		}
	}
	return bad("empty block")
}
