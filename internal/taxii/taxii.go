// Package taxii is a read-only TAXII 2.1 server (OASIS TAXII Version 2.1,
// sections 4 and 5): a discovery resource, one API root, its collections,
// and each collection's objects, manifest, single objects and object
// versions, filtered by added_after and match[id|type|version|
// spec_version] and paged with limit, next and the more flag. Writing
// (add objects, status) is refused. Plain HTTP is served only to
// loopback peers (PlainHTTPAllowed).
package taxii

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Media types (TAXII 2.1 section 1.6.8).
const (
	MediaTAXII = "application/taxii+json;version=2.1"
	MediaSTIX  = "application/stix+json;version=2.1"
)

// APIRoot is the one API root's path segment: /taxii2/api1/.
const APIRoot = "api1"

// Object is one STIX object a collection holds.
type Object struct {
	ID        string
	DateAdded time.Time // when the server added this version; orders pages
	// Version is the object's modified timestamp (for an object without
	// one, when it was added). One id may have several versions.
	Version string
	Body    map[string]any
}

// Collection is one read-only collection.
type Collection struct {
	ID          string // a UUID
	Title       string
	Description string
	// Objects lists every object, in any order.
	Objects func(ctx context.Context) ([]Object, error)
}

// ErrUnauthenticated is what Authenticate returns for missing or wrong
// credentials.
var ErrUnauthenticated = errors.New("unauthenticated")

// Server serves /taxii2/… . Make one as a struct literal.
type Server struct {
	Title       string
	Description string
	Contact     string
	Collections []Collection
	// Authenticate returns the partner the request's credentials belong
	// to; ErrUnauthenticated (wrapped or not) answers 401. Nil refuses
	// every request.
	Authenticate func(r *http.Request) (string, error)
	// MaxPage is the most objects one page holds (default 1000).
	MaxPage int
	// Logger; nil logs nothing.
	Logger *slog.Logger
}

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// taxiiError is the error message resource (section 3.6.1).
type taxiiError struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	HTTPStatus  string `json:"http_status"`
}

func writeTAXII(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", MediaTAXII)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func fail(w http.ResponseWriter, status int, title, desc string) {
	writeTAXII(w, status, taxiiError{Title: title, Description: desc, HTTPStatus: strconv.Itoa(status)})
}

// acceptable reports whether the Accept header admits TAXII 2.1 JSON. An
// absent header admits anything.
func acceptable(h string) bool {
	if strings.TrimSpace(h) == "" {
		return true
	}
	for _, part := range strings.Split(h, ",") {
		fields := strings.Split(part, ";")
		typ := strings.ToLower(strings.TrimSpace(fields[0]))
		version, q := "", "1"
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "version":
				version = strings.Trim(strings.TrimSpace(v), `"`)
			case "q":
				q = strings.TrimSpace(v)
			}
		}
		if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
			continue
		}
		switch typ {
		case "*/*", "application/*":
			return true
		case "application/taxii+json":
			if version == "" || version == "2.1" {
				return true
			}
		}
	}
	return false
}

// PlainHTTPAllowed reports whether r may be served: over TLS always,
// over plain HTTP only from a loopback peer (a test, or a reverse proxy on
// the same host), since partner tokens and shared counts must not cross
// a network in clear.
func PlainHTTPAllowed(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServeHTTP routes /taxii2/….
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !PlainHTTPAllowed(r) {
		fail(w, http.StatusForbidden, "TLS required", "the TAXII API is served only over HTTPS")
		return
	}
	if s.Authenticate == nil {
		fail(w, http.StatusUnauthorized, "Unauthorized", "no partner authentication is configured")
		return
	}
	partner, err := s.Authenticate(r)
	if err != nil {
		if !errors.Is(err, ErrUnauthenticated) {
			s.log().Error("taxii authentication", "err", err)
			fail(w, http.StatusInternalServerError, "Internal error", "try again later")
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="herd TAXII", charset="UTF-8"`)
		fail(w, http.StatusUnauthorized, "Unauthorized", "send the partner token as the password of HTTP Basic authentication (or as a Bearer token)")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/taxii2/")
	if !ok {
		fail(w, http.StatusNotFound, "Not found", "no such resource")
		return
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if rest == "" {
		parts = nil
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodDelete {
		// Only "add objects" is a write TAXII defines; everything here is read-only.
		if r.Method == http.MethodPost && len(parts) == 4 && parts[3] == "objects" {
			if ct := r.Header.Get("Content-Type"); !strings.EqualFold(strings.ReplaceAll(ct, " ", ""), MediaTAXII) {
				fail(w, http.StatusUnsupportedMediaType, "Unsupported media type", "objects are added as "+MediaTAXII)
				return
			}
			fail(w, http.StatusForbidden, "Read-only collection", "this collection cannot be written (can_write is false)")
			return
		}
		w.Header().Set("Allow", "GET, HEAD")
		fail(w, http.StatusMethodNotAllowed, "Method not allowed", "the TAXII API here is read-only")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		fail(w, http.StatusMethodNotAllowed, "Method not allowed", "use GET")
		return
	}
	if !acceptable(r.Header.Get("Accept")) {
		fail(w, http.StatusNotAcceptable, "Not acceptable", "this server answers "+MediaTAXII)
		return
	}
	s.log().Info("taxii request", "partner", partner, "path", r.URL.Path)
	switch {
	case len(parts) == 0:
		s.discovery(w, r)
	case parts[0] != APIRoot:
		fail(w, http.StatusNotFound, "Not found", "no such API root")
	case len(parts) == 1:
		writeTAXII(w, http.StatusOK, map[string]any{
			"title": s.Title, "description": s.Description,
			"versions": []string{MediaTAXII}, "max_content_length": 0,
		})
	case len(parts) == 2 && parts[1] == "collections":
		cs := make([]map[string]any, 0, len(s.Collections))
		for _, c := range s.Collections {
			cs = append(cs, collectionResource(c))
		}
		writeTAXII(w, http.StatusOK, map[string]any{"collections": cs})
	case parts[1] == "status":
		fail(w, http.StatusNotFound, "Not found", "this server accepts no writes, so it has no status resources")
	case parts[1] == "collections" && len(parts) >= 3:
		c, ok := s.collection(parts[2])
		if !ok {
			fail(w, http.StatusNotFound, "Not found", "no such collection")
			return
		}
		switch {
		case len(parts) == 3:
			writeTAXII(w, http.StatusOK, collectionResource(c))
		case len(parts) == 4 && parts[3] == "objects":
			s.objects(w, r, c, false)
		case len(parts) == 4 && parts[3] == "manifest":
			s.objects(w, r, c, true)
		case len(parts) == 5 && parts[3] == "objects":
			s.object(w, r, c, parts[4])
		case len(parts) == 6 && parts[3] == "objects" && parts[5] == "versions":
			s.versions(w, r, c, parts[4])
		default:
			fail(w, http.StatusNotFound, "Not found", "no such resource")
		}
	default:
		fail(w, http.StatusNotFound, "Not found", "no such resource")
	}
}

func baseURL(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	root := baseURL(r) + "/taxii2/" + APIRoot + "/"
	d := map[string]any{"title": s.Title, "default": root, "api_roots": []string{root}}
	if s.Description != "" {
		d["description"] = s.Description
	}
	if s.Contact != "" {
		d["contact"] = s.Contact
	}
	writeTAXII(w, http.StatusOK, d)
}

func collectionResource(c Collection) map[string]any {
	return map[string]any{"id": c.ID, "title": c.Title, "description": c.Description,
		"can_read": true, "can_write": false, "media_types": []string{MediaSTIX}}
}

func (s *Server) collection(id string) (Collection, bool) {
	for _, c := range s.Collections {
		if c.ID == id {
			return c, true
		}
	}
	return Collection{}, false
}

// timestamp is TAXII's timestamp format (RFC 3339, UTC, millisecond
// precision at least).
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// cursor is the next parameter: the position after the last object sent.
func cursor(o Object) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(o.DateAdded.UnixNano(), 10) + " " + o.ID))
}

func parseCursor(s string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", err
	}
	ns, id, ok := strings.Cut(string(b), " ")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil {
		return time.Time{}, "", errors.New("bad cursor")
	}
	return time.Unix(0, n), id, nil
}

func before(aT time.Time, aID string, b Object) bool {
	if !aT.Equal(b.DateAdded) {
		return aT.Before(b.DateAdded)
	}
	return aID < b.ID
}

// filtered returns the collection's objects after the request's filters,
// ordered by date added then id.
func (s *Server) filtered(r *http.Request, c Collection) ([]Object, error) {
	all, err := c.Objects(r.Context())
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	var after time.Time
	if v := q.Get("added_after"); v != "" {
		if after, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return nil, fmt.Errorf("%w: added_after must be an RFC 3339 timestamp", errBadRequest)
		}
	}
	split := func(k string) []string {
		if v := q.Get(k); v != "" {
			return strings.Split(v, ",")
		}
		return nil
	}
	ids, types, versions := split("match[id]"), split("match[type]"), split("match[version]")
	if versions == nil {
		versions = defaultVersions
	}
	if sv := split("match[spec_version]"); sv != nil && !slices.Contains(sv, "2.1") {
		return nil, nil
	}
	var stamps []time.Time
	for _, v := range versions {
		if v == "all" || v == "first" || v == "last" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, fmt.Errorf("%w: match[version] must be all, first, last or timestamps, got %q", errBadRequest, v)
		}
		stamps = append(stamps, t)
	}
	// Versions are chosen among everything the other filters keep:
	// first and last are the earliest and latest of an object's versions
	// (section 3.4.2).
	kept := make([]Object, 0, len(all))
	first, last := map[string]Object{}, map[string]Object{}
	for _, o := range all {
		if !after.IsZero() && !o.DateAdded.After(after) {
			continue
		}
		if ids != nil && !slices.Contains(ids, o.ID) {
			continue
		}
		if typ, _, _ := strings.Cut(o.ID, "--"); types != nil && !slices.Contains(types, typ) {
			continue
		}
		kept = append(kept, o)
		if f, ok := first[o.ID]; !ok || versionBefore(o, f) {
			first[o.ID] = o
		}
		if l, ok := last[o.ID]; !ok || versionBefore(l, o) {
			last[o.ID] = o
		}
	}
	out := make([]Object, 0, len(kept))
	for _, o := range kept {
		ok := slices.Contains(versions, "all") ||
			slices.Contains(versions, "first") && first[o.ID].Version == o.Version ||
			slices.Contains(versions, "last") && last[o.ID].Version == o.Version
		if t, err := time.Parse(time.RFC3339Nano, o.Version); err == nil {
			for _, s := range stamps {
				ok = ok || s.Equal(t)
			}
		}
		if ok {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b Object) int {
		if c := a.DateAdded.Compare(b.DateAdded); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

var errBadRequest = errors.New("bad request")

// defaultVersions is what an absent match[version] means: the latest.
var defaultVersions = []string{"last"}

// versionBefore orders two versions of an object by version, then by
// when they were added.
func versionBefore(a, b Object) bool {
	ta, ea := time.Parse(time.RFC3339Nano, a.Version)
	tb, eb := time.Parse(time.RFC3339Nano, b.Version)
	if ea == nil && eb == nil && !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.DateAdded.Before(b.DateAdded)
}

func (s *Server) objects(w http.ResponseWriter, r *http.Request, c Collection, manifest bool) {
	objs, err := s.filtered(r, c)
	if errors.Is(err, errBadRequest) {
		fail(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	} else if err != nil {
		s.log().Error("taxii objects", "collection", c.ID, "err", err)
		fail(w, http.StatusInternalServerError, "Internal error", "try again later")
		return
	}
	page, env, ok := s.page(w, r, objs)
	if !ok {
		return
	}
	if manifest {
		rs := make([]map[string]any, 0, len(page))
		for _, o := range page {
			rs = append(rs, map[string]any{"id": o.ID, "date_added": timestamp(o.DateAdded), "version": o.Version, "media_type": MediaSTIX})
		}
		if len(rs) > 0 {
			env["objects"] = rs
		}
	} else {
		bs := make([]map[string]any, 0, len(page))
		for _, o := range page {
			bs = append(bs, o.Body)
		}
		if len(bs) > 0 {
			env["objects"] = bs
		}
	}
	writeTAXII(w, http.StatusOK, env)
}

// page cuts one page out of objs (ordered by date added, then id) for
// the request's limit and next, sets the date-added headers and returns
// the envelope with its more and next; on a bad parameter it has answered
// and ok is false.
func (s *Server) page(w http.ResponseWriter, r *http.Request, objs []Object) (page []Object, env map[string]any, ok bool) {
	maxPage := s.MaxPage
	if maxPage <= 0 {
		maxPage = 1000
	}
	limit := maxPage
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fail(w, http.StatusBadRequest, "Bad request", "limit must be a positive number")
			return nil, nil, false
		}
		limit = min(n, maxPage)
	}
	if v := r.URL.Query().Get("next"); v != "" {
		t, id, err := parseCursor(v)
		if err != nil {
			fail(w, http.StatusBadRequest, "Bad request", "next is not a value this server gave")
			return nil, nil, false
		}
		i := 0
		for i < len(objs) && !before(t, id, objs[i]) {
			i++
		}
		objs = objs[i:]
	}
	more := len(objs) > limit
	page = objs[:min(limit, len(objs))]
	env = map[string]any{"more": more}
	if more {
		env["next"] = cursor(page[len(page)-1])
	}
	if len(page) > 0 {
		w.Header().Set("X-TAXII-Date-Added-First", timestamp(page[0].DateAdded))
		w.Header().Set("X-TAXII-Date-Added-Last", timestamp(page[len(page)-1].DateAdded))
	}
	return page, env, true
}

func (s *Server) object(w http.ResponseWriter, r *http.Request, c Collection, id string) {
	q := r.URL.Query()
	q.Set("match[id]", id)
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	objs, err := s.filtered(r2, c)
	if err == nil && len(objs) == 0 {
		fail(w, http.StatusNotFound, "Not found", "no such object in this collection")
		return
	}
	s.objects(w, r2, c, false)
}

// versions answers Get Object Versions (section 5.8): the versions of
// one object, oldest added first, in a versions resource, paged like
// objects. Only added_after, limit, next and match[spec_version] apply.
func (s *Server) versions(w http.ResponseWriter, r *http.Request, c Collection, id string) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "added_after", "limit", "next", "match[spec_version]":
		default:
			fail(w, http.StatusBadRequest, "Bad request", "the versions resource takes added_after, limit, next and match[spec_version], not "+k)
			return
		}
	}
	q.Set("match[id]", id)
	q.Set("match[version]", "all")
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	objs, err := s.filtered(r2, c)
	if errors.Is(err, errBadRequest) {
		fail(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	} else if err != nil {
		s.log().Error("taxii versions", "collection", c.ID, "err", err)
		fail(w, http.StatusInternalServerError, "Internal error", "try again later")
		return
	}
	page, env, ok := s.page(w, r2, objs)
	if !ok {
		return
	}
	if len(page) == 0 && r.URL.Query().Get("next") == "" && r.URL.Query().Get("added_after") == "" {
		fail(w, http.StatusNotFound, "Not found", "no such object in this collection")
		return
	}
	vs := make([]string, 0, len(page))
	for _, o := range page {
		vs = append(vs, o.Version)
	}
	if len(vs) > 0 {
		env["versions"] = vs
	}
	writeTAXII(w, http.StatusOK, env)
}
