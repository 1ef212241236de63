// Package retention deletes what the authority keeps no longer than its
// operator allows: check-ins' source addresses (30 days by default),
// expired nonces, console sessions that have ended, and, when
// configured, old check-in history.
package retention

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/herd-health/herd/internal/store"
)

// Config is the retention policy. Zero values mean the defaults.
type Config struct {
	// SourceAddressDays is how long a check-in's source address is kept
	// (default 30). Negative keeps them forever.
	SourceAddressDays int `json:"source_address_days"`
	// SourceAddressDaysSet says SourceAddressDays was given explicitly (a
	// command-line flag): 0 then means keep none, clearing every source
	// address at once, instead of the default.
	SourceAddressDaysSet bool `json:"-"`
	// HistoryDays is how long check-in history is kept; 0 (the default)
	// keeps it forever.
	HistoryDays int `json:"history_days"`
	// Interval is how often `herd serve` runs the job (default 1h), in
	// Go duration syntax ("1h", "15m").
	Interval string `json:"interval"`
}

// UnmarshalJSON reads the configuration and notes whether
// source_address_days was given, so that an explicit 0 in a config file
// means "keep none", as it does on the command line.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return err
	}
	_, p.SourceAddressDaysSet = keys["source_address_days"]
	*c = Config(p)
	return nil
}

// Normalized returns c with defaults filled in.
func (c Config) Normalized() Config {
	if c.SourceAddressDays == 0 && !c.SourceAddressDaysSet {
		c.SourceAddressDays = 30
	}
	if c.Interval == "" {
		c.Interval = "1h"
	}
	return c
}

// Validate reports the first thing wrong.
func (c Config) Validate() error {
	d, err := time.ParseDuration(c.Normalized().Interval)
	if err != nil || d < time.Second {
		return fmt.Errorf("retention interval %q must be a duration of at least 1s", c.Interval)
	}
	if c.HistoryDays < 0 {
		return fmt.Errorf("retention history_days %d must be 0 (keep) or positive", c.HistoryDays)
	}
	return nil
}

// Result says what one run deleted.
type Result struct {
	SourceAddressesCleared int64 `json:"source_addresses_cleared"`
	CheckinsDeleted        int64 `json:"checkins_deleted"`
	NoncesDeleted          int64 `json:"nonces_deleted"`
	// ConsoleSessionsDeleted counts console sessions past their idle or
	// absolute deadline, or whose token or account no longer works.
	ConsoleSessionsDeleted int64 `json:"console_sessions_deleted"`
}

const day = 24 * time.Hour

// Run applies c once at now.
func Run(ctx context.Context, st store.Retention, c Config, now time.Time) (Result, error) {
	c = c.Normalized()
	var r Result
	var err error
	if c.SourceAddressDays >= 0 {
		if r.SourceAddressesCleared, err = st.ClearSourceIPs(ctx, now.Add(-time.Duration(c.SourceAddressDays)*day)); err != nil {
			return r, err
		}
	}
	if c.HistoryDays > 0 {
		if r.CheckinsDeleted, err = st.DeleteCheckinsBefore(ctx, now.Add(-time.Duration(c.HistoryDays)*day)); err != nil {
			return r, err
		}
	}
	if r.NoncesDeleted, err = st.DeleteExpiredNonces(ctx, now); err != nil {
		return r, err
	}
	if cs, ok := st.(store.ConsoleSessions); ok {
		if r.ConsoleSessionsDeleted, err = cs.DeleteEndedConsoleSessions(ctx, now); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Loop runs the job at once and then every interval until ctx ends.
func Loop(ctx context.Context, st store.Retention, c Config, now func() time.Time, log *slog.Logger) {
	c = c.Normalized()
	every, err := time.ParseDuration(c.Interval)
	if err != nil || every < time.Second {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		r, err := Run(ctx, st, c, now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("retention run failed", "err", err)
		case err == nil:
			log.Info("retention run", "source_addresses_cleared", r.SourceAddressesCleared, "checkins_deleted", r.CheckinsDeleted, "nonces_deleted", r.NoncesDeleted, "console_sessions_deleted", r.ConsoleSessionsDeleted)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
