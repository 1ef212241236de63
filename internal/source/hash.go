package source

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// processHasher is a Source that knows how to open the program a
// process runs better than by its path.
type processHasher interface {
	hashProcess(p Process) (string, error)
}

// HashProcess returns the hex SHA-256 of the program p runs: the one the
// source recorded (as recorded), else what the source reads (lowercase). The live system reads
// the running image itself where the OS allows it (on Linux
// /proc/PID/exe, which opens a program even after its file was deleted
// or replaced), and the file at p.Exe elsewhere.
func HashProcess(src Source, p Process) (string, error) {
	if p.SHA256 != "" {
		return p.SHA256, nil
	}
	if h, ok := src.(processHasher); ok {
		return h.hashProcess(p)
	}
	if p.Exe == "" {
		return "", &fs.PathError{Op: "hash", Path: p.Name, Err: fs.ErrNotExist}
	}
	return src.HashFile(p.Exe)
}

// hashKey names one file's contents at one moment: its identity (device
// and inode where the OS has them, else its path), size, modification
// time and, where the OS has one, change time, which no program can set
// back, so a file rewritten in place with its old size and mtime is
// hashed again.
type hashKey struct {
	path  string // only where the OS gives no inode
	dev   uint64
	ino   uint64
	size  int64
	mtime int64
	ctime int64
}

func keyOf(name string, fi fs.FileInfo) hashKey {
	dev, ino, ctime := fileID(fi)
	k := hashKey{dev: dev, ino: ino, size: fi.Size(), mtime: fi.ModTime().UnixNano(), ctime: ctime}
	if ino == 0 {
		k.path = name
	}
	return k
}

// hashOpen hashes f, opened from name, through the cache.
func (l *Live) hashOpen(name string, f *os.File) (string, error) {
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", &fs.PathError{Op: "hash", Path: name, Err: errors.New("not a regular file")}
	}
	key := keyOf(name, st)
	// One reader per file: checks that list processes at the same time
	// wait for the first one's hash instead of reading the file again.
	l.mu.Lock()
	for {
		if h, ok := l.hashes[key]; ok {
			l.mu.Unlock()
			return h, nil
		}
		wait, busy := l.reading[key]
		if !busy {
			break
		}
		l.mu.Unlock()
		<-wait // then the hash is cached, or that reader failed: look again
		l.mu.Lock()
	}
	if l.reading == nil {
		l.reading = map[hashKey]chan struct{}{}
	}
	done := make(chan struct{})
	l.reading[key] = done
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.reading, key)
		l.mu.Unlock()
		close(done)
	}()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", err
	}
	h := hex.EncodeToString(sum.Sum(nil))
	l.mu.Lock()
	if len(l.hashes) > 4096 {
		clear(l.hashes)
	}
	l.hashes[key] = h
	l.mu.Unlock()
	return h, nil
}

// HashFile hashes a file, caching the result by the file's identity,
// size and times (see hashKey), so a program seen at every check is
// hashed once.
func (l *Live) HashFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return l.hashOpen(name, f)
}

// ProcessNames returns the name a Linux process is listed under and its
// Comm (see Process): the base name of its executable, and the kernel's
// name for it (/proc/PID/comm, at most 15 characters) when that is not
// the same name, whole or cut.
func ProcessNames(exe, comm string) (name, other string) {
	comm = strings.TrimSpace(comm)
	if exe == "" {
		return comm, ""
	}
	base := path.Base(exe)
	if comm == base || len(comm) == 15 && strings.HasPrefix(base, comm) || comm == "" {
		return base, ""
	}
	return base, comm
}

// cutDeleted reads the target of /proc/PID/exe: the kernel adds
// " (deleted)" to a program whose file is gone.
func cutDeleted(link string) (string, bool) {
	return strings.CutSuffix(link, " (deleted)")
}
