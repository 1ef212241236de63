// Package sqldb holds what the SQL stores share: reading embedded
// migrations and encoding the values both keep the same way.
package sqldb

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/herd-health/herd/health"
)

// Migration is one schema step, applied once, in version order.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads every dir/NNNN_name.sql in fsys, ordered by version.
// Versions must be unique and positive.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version and an underscore", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	return ms, nil
}

// EncodeFindings is the stored form of a check-in's findings: a JSON array.
func EncodeFindings(f []health.Finding) (string, error) {
	if len(f) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return "", fmt.Errorf("encode findings: %w", err)
	}
	return string(b), nil
}

// DecodeFindings reverses EncodeFindings; an empty array gives nil.
func DecodeFindings(s string) ([]health.Finding, error) {
	var f []health.Finding
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		return nil, fmt.Errorf("decode findings: %w", err)
	}
	if len(f) == 0 {
		return nil, nil
	}
	return f, nil
}

// VerdictCounter is the counter name for devices whose latest verdict is v.
func VerdictCounter(v health.Tier) string { return "verdict:" + string(v) }

// Counter names Stats reads.
const (
	DevicesCounter  = "devices"
	CheckinsCounter = "checkins"
)

// CounterStats folds counter rows into the tally Stats returns.
func CounterStats(name string, n int64, devices, checkins *int64, byVerdict map[health.Tier]int64) {
	switch {
	case name == DevicesCounter:
		*devices = n
	case name == CheckinsCounter:
		*checkins = n
	case strings.HasPrefix(name, "verdict:"):
		if v := health.Tier(strings.TrimPrefix(name, "verdict:")); v != "" && n != 0 {
			byVerdict[v] = n
		}
	}
}
