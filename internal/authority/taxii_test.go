package authority_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herd-health/herd/health"
	"github.com/herd-health/herd/internal/taxii"
)

// A TAXII 2.1 client written from the specification walks discovery, the
// API root, the collections and every page of objects; nothing it gets
// names a device or an address, no count is under K (3), and of the two
// families of new infections only the one with no count under K is
// sighted: 4 Emotet on Linux in NL; Mirai has a single Windows device,
// so its counts are withheld (and its Linux 5 with them, since the one
// agent version's count gives the whole population's 6).
func TestTAXIIClientCollectsPopulation(t *testing.T) {
	e := newPopEnv(t, []string{"127.0.0.0/8"})
	var ids []string
	for _, x := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"} {
		ids = append(ids, e.checkin(x, "Emotet"))
	}
	for _, x := range []string{"192.0.2.5", "192.0.2.6", "192.0.2.7", "192.0.2.8", "198.51.100.1"} {
		ids = append(ids, e.checkin(x, "Mirai"))
	}
	ids = append(ids, e.checkinWith("192.0.2.9", "Mirai", 200, func(s *health.Statement) { s.OS, s.OSVersion = "windows", "windows 26100" }))
	e.clk.Add(24 * time.Hour) // TAXII serves complete days
	auth := map[string]string{"Accept": taxii.MediaTAXII, "Authorization": "Basic " + basic("cert-nl", e.partner)}
	get := func(path string) map[string]any {
		t.Helper()
		code, b, h := e.do("GET", path, nil, auth)
		if code != 200 || h.Get("Content-Type") != taxii.MediaTAXII {
			t.Fatalf("GET %s: %d %s %s", path, code, h.Get("Content-Type"), b)
		}
		for _, id := range ids {
			if strings.Contains(string(b), id) {
				t.Fatalf("GET %s names device %s", path, id)
			}
		}
		if strings.Contains(string(b), "192.0.2.") || strings.Contains(string(b), "198.51.100.") {
			t.Fatalf("GET %s names an address: %s", path, b)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	disc := get("/taxii2/")
	root, _ := url.Parse(disc["api_roots"].([]any)[0].(string))
	ar := get(root.Path)
	if ar["versions"].([]any)[0] != taxii.MediaTAXII {
		t.Fatalf("api root versions = %v", ar["versions"])
	}
	cols := get(root.Path + "collections/")["collections"].([]any)
	col := cols[0].(map[string]any)
	if col["title"] != "herd-population" || col["can_write"] != false {
		t.Fatalf("collection = %v", col)
	}
	base := root.Path + "collections/" + col["id"].(string) + "/"
	var objs []map[string]any
	next, pages := "", 0
	for {
		q := "?limit=2"
		if next != "" {
			q += "&next=" + url.QueryEscape(next)
		}
		env := get(base + "objects/" + q)
		pages++
		for _, o := range env["objects"].([]any) {
			objs = append(objs, o.(map[string]any))
		}
		if env["more"] != true {
			break
		}
		next = env["next"].(string)
	}
	man := get(base + "manifest/")
	if pages < 2 || len(objs) != len(man["objects"].([]any)) {
		t.Fatalf("%d objects in %d pages, manifest lists %d", len(objs), pages, len(man["objects"].([]any)))
	}
	// Every count anywhere is null or at least K.
	var counts int
	sightings := map[string]float64{}
	names := map[string]string{}
	for _, o := range objs {
		if o["type"] == "malware" {
			names[o["id"].(string)] = o["name"].(string)
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if n, ok := x.(float64); ok && k == "count" {
					counts++
					if n < 3 {
						t.Errorf("a count of %v is under K", n)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, o := range objs {
		if o["type"] == "sighting" {
			sightings[names[o["sighting_of_ref"].(string)]] += o["count"].(float64)
		}
		if n, ok := o["number_observed"].(float64); ok && n < 3 {
			t.Errorf("observed data of %v under K", n)
		}
		walk(o)
	}
	if counts == 0 || fmt.Sprint(sightings) != "map[Emotet:4]" {
		t.Errorf("%d counts, sightings %v; want some counts and one sighting, Emotet 4", counts, sightings)
	}
	later := get(base + "objects/?added_after=" + url.QueryEscape(e.clk.Now().Format(time.RFC3339)))
	if _, ok := later["objects"]; ok || later["more"] != false {
		t.Errorf("added_after now returned %v", later)
	}
	for _, tc := range []struct {
		name   string
		method string
		hdr    map[string]string
		want   int
	}{
		{"no credentials", "GET", map[string]string{"Accept": taxii.MediaTAXII}, 401},
		{"wrong token", "GET", map[string]string{"Accept": taxii.MediaTAXII, "Authorization": "Basic " + basic("x", "nope")}, 401},
		{"admin token is not a partner token", "GET", map[string]string{"Accept": taxii.MediaTAXII, "Authorization": "Bearer " + e.admin}, 401},
		{"bearer partner token", "GET", map[string]string{"Accept": taxii.MediaTAXII, "Authorization": "Bearer " + e.partner}, 200},
		{"unacceptable", "GET", map[string]string{"Accept": "application/xml", "Authorization": auth["Authorization"]}, 406},
		{"taxii 2.0", "GET", map[string]string{"Accept": "application/taxii+json;version=2.0", "Authorization": auth["Authorization"]}, 406},
		{"write with a wrong media type", "POST", map[string]string{"Content-Type": "application/json", "Authorization": auth["Authorization"]}, 415},
		{"write to a read-only collection", "POST", map[string]string{"Content-Type": taxii.MediaTAXII, "Authorization": auth["Authorization"]}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, b, _ := e.do(tc.method, base+"objects/", []byte("{}"), tc.hdr); code != tc.want {
				t.Errorf("%d %s, want %d", code, b, tc.want)
			}
		})
	}
}

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
