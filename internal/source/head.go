package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
)

// ErrHeadOnly: a snapshot holds only the first bytes of the file, not
// enough to answer the read.
var ErrHeadOnly = errors.New("only the head of this file was recorded")

// ReadHead reads at most the first n bytes of a file through src; a
// negative n reads none.
func ReadHead(src Source, path string, n int) ([]byte, error) {
	return src.ReadFileHead(path, max(n, 0))
}

// ReadFileHead reads at most the first n bytes of a file.
func (l *Live) ReadFileHead(name string, n int) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if n < 0 {
		n = 0
	}
	b := make([]byte, n)
	m, err := io.ReadFull(f, b)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil
	}
	return b[:m], err
}

// ReadFileHead answers from the snapshot: from a whole file, or from a
// recorded head when it holds at least n bytes.
func (r *Replay) ReadFileHead(name string, n int) ([]byte, error) {
	f, ok := r.snap.Files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if f.Error != "" {
		return nil, errorFrom(f.Error, name)
	}
	if f.Filtered {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w; read it with ReadStanzas", ErrFiltered)}
	}
	if n < 0 {
		n = 0
	}
	if f.Head && n > len(f.Data) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w: %d bytes, %d asked for", ErrHeadOnly, len(f.Data), n)}
	}
	return slices.Clone(f.Data[:min(n, len(f.Data))]), nil
}

// ReadFileHead reads the head of a file through the inner source and
// records only that head. A file shorter than n is recorded whole; a
// file already recorded whole stays whole.
func (r *Recorder) ReadFileHead(name string, n int) ([]byte, error) {
	b, err := ReadHead(r.inner, name, n)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logRead(File(name))
	key := r.Redact(name)
	if prev, ok := r.snap.Files[key]; ok && prev.Error == "" && !prev.Head && !prev.Filtered {
		return b, err // a whole file answers every head
	}
	if prev, ok := r.snap.Files[key]; ok && prev.Head && len(prev.Data) > len(b) && err == nil {
		return b, err // keep the longer head
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		r.snap.Files[key] = FileEntry{Error: errText(err)}
	default:
		// A head is stored as bytes, unredacted only when binary: text is
		// redacted like any other file.
		data := scrubFile(name, b)
		if isText(data) {
			data = []byte(r.Redact(string(data)))
		}
		r.snap.Files[key] = FileEntry{Data: data, Head: len(b) >= n}
	}
	return b, err
}
