package retention

import (
	"encoding/json"
	"testing"
)

func TestConfigFileZeroSourceAddressDaysMeansKeepNone(t *testing.T) {
	for _, tc := range []struct {
		json string
		want int
	}{
		{`{}`, 30},
		{`{"history_days": 5}`, 30},
		{`{"source_address_days": 0}`, 0},
		{`{"source_address_days": 7}`, 7},
		{`{"source_address_days": -1}`, -1},
	} {
		var c Config
		if err := json.Unmarshal([]byte(tc.json), &c); err != nil {
			t.Fatal(err)
		}
		if got := c.Normalized().SourceAddressDays; got != tc.want {
			t.Errorf("%s: source address days = %d, want %d", tc.json, got, tc.want)
		}
	}
}

func TestConfigFileRejectsUnknownKeys(t *testing.T) {
	var c Config
	if err := json.Unmarshal([]byte(`{"source_adress_days": 0}`), &c); err == nil {
		t.Fatal("a misspelt key was accepted")
	}
}
