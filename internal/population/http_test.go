package population

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandlerErrors(t *testing.T) {
	st := openStore(t)
	var logged bytes.Buffer
	h := &Handler{Service: &Service{Store: st, Now: func() time.Time { return time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC) },
		Logger: slog.New(slog.NewTextHandler(&logged, nil))},
		Authorize: func(http.ResponseWriter, *http.Request) bool { return true }}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	get := func(path string) (int, map[string]string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v map[string]string
		if resp.StatusCode != 200 {
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
			}
		}
		return resp.StatusCode, v
	}
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/v1/population/overview?days=7", 200, ""},
		{"/v1/population/overview?days=abc", 400, `days must be a whole number, got "abc"`},
		{"/v1/population/overview?days=0", 400, "days must be between 1 and 400, got 0"},
		{"/v1/population/overview?days=401", 400, "days must be between 1 and 400, got 401"},
		{"/v1/population/breakdown?dimension=user&days=7", 400, "dimension must be os, os_version, agent or country"},
		{"/v1/population/cohort?expr=firewall+%26%26+nonsense", 400, "nonsense"},
		{"/v1/population/cohort?expr=firewall&cursor=zz", 400, `cursor "zz" is not one this API gave`},
		{"/v1/population/cohort?expr=firewall&limit=ten", 400, `limit must be a whole number, got "ten"`},
		{"/v1/population/nothing", 404, "no such endpoint"},
	} {
		code, body := get(tc.path)
		if code != tc.code || !strings.Contains(body["error"], tc.want) {
			t.Errorf("GET %s: %d %v, want %d %q", tc.path, code, body, tc.code, tc.want)
		}
		if code == 400 && (body["code"] != "bad_request" || strings.Contains(body["error"], "bad parameter")) {
			t.Errorf("GET %s: %v", tc.path, body)
		}
	}
	// A store that fails: 500 with a reason a person can act on, and the
	// store's own error in the log only.
	st.Close()
	code, body := get("/v1/population/overview?days=7")
	if code != 500 || body["code"] != "internal" || body["error"] != "the population statistics could not be read; try again later" {
		t.Errorf("store failure: %d %v", code, body)
	}
	if !strings.Contains(logged.String(), "closed") {
		t.Errorf("the store's error was not logged: %q", logged.String())
	}
}
