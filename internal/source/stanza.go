package source

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Stanza files. Source.ReadStanzas streams a long file of stanzas and
// hands back only those a check keeps, without holding the whole file.
// Files compressed with gzip or LZ4 are decompressed on the way (see
// Decompress).
//
// keep must be a pure function of the stanza and of what the check read
// before through the same source: a Recorder writes down only the kept
// stanzas (as {"stanzas": "…"} in the snapshot, not the tens of
// megabytes of the file), and a Replay answers later reads by applying
// keep to those again. Replay is faithful because a stanza the recorded
// keep dropped would be dropped again by the same keep over the same
// recorded inputs; a check that changes its keep to ask for more than
// was recorded sees only what was recorded.

// ErrFiltered: a snapshot holds only some stanzas of this file, which
// answer ReadStanzas but not ReadFile.
var ErrFiltered = errors.New("only some stanzas of this file were recorded")

// ReadStanzas reads the kept stanzas of a file through src.
func ReadStanzas(src Source, path string, keep func(string) bool) ([]string, error) {
	return src.ReadStanzas(path, keep)
}

// ScanStanzas splits r (decompressed when it is gzip or LZ4) into
// stanzas and returns those keep reports true for.
func ScanStanzas(r io.Reader, keep func(string) bool) ([]string, error) {
	return scanStanzas(r, "", keep)
}

func scanStanzas(r io.Reader, path string, keep func(string) bool) ([]string, error) {
	d, err := Decompress(r)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	br := bufio.NewReaderSize(d, 256<<10)
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			if s := cur.String(); keep(s) {
				out = append(out, s)
			}
			cur.Reset()
		}
	}
	for {
		line, err := br.ReadString('\n')
		if strings.TrimRight(line, "\r\n \t") == "" {
			flush()
		} else {
			cur.WriteString(line)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return out, &fs.PathError{Op: "read", Path: path, Err: err}
		}
	}
	flush()
	return out, nil
}

// ReadStanzas streams a file from disk.
func (l *Live) ReadStanzas(name string, keep func(string) bool) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return scanStanzas(f, name, keep)
}

// ReadStanzas answers from a whole recorded file or from recorded
// stanzas, applying keep again.
func (r *Replay) ReadStanzas(name string, keep func(string) bool) ([]string, error) {
	f, ok := r.snap.Files[name]
	switch {
	case !ok:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case f.Error != "":
		return nil, errorFrom(f.Error, name)
	case f.Head:
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w; stanzas need the whole file", ErrHeadOnly)}
	}
	return scanStanzas(strings.NewReader(string(f.Data)), name, keep)
}

// ReadStanzas reads through the inner source and records only the kept
// stanzas, redacted, merged with any kept by an earlier read of the same
// file. A file already recorded whole stays whole.
func (r *Recorder) ReadStanzas(name string, keep func(string) bool) ([]string, error) {
	kept, err := ReadStanzas(r.inner, name, keep)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logRead(File(name))
	key := r.Redact(name)
	prev, had := r.snap.Files[key]
	if had && prev.Error == "" && !prev.Head && !prev.Filtered {
		return kept, err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		r.snap.Files[key] = FileEntry{Error: errText(err)}
	default:
		var have []string
		if had && prev.Filtered {
			have, _ = scanStanzas(strings.NewReader(string(prev.Data)), name, func(string) bool { return true })
		}
		seen := map[string]bool{}
		for _, s := range have {
			seen[s] = true
		}
		for _, s := range kept {
			if s = r.Redact(s); !seen[s] {
				seen[s] = true
				have = append(have, s)
			}
		}
		r.snap.Files[key] = FileEntry{Data: []byte(strings.Join(have, "\n")), Filtered: true}
	}
	return kept, err
}
