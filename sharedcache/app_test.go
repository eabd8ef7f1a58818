package sharedcache

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfverify/productfruits"
)

// The app every test puts behind a cache or a browser: the middleware with
// Inject and a one-hour TTL, two users who log in by session cookie or by
// Basic auth, and handlers that try to make every response cacheable.

const secret = "sharedcache-test-secret"

// sessionCookies are the cookies that log a user in; the browser test sets
// the first with SameSite=None and the second with the browser's default.
var sessionCookies = []string{"session", "session_lax"}

// sessions maps a session cookie's value to its user.
var sessions = map[string]string{"alice-session": "alice", "bob-session": "bob"}

// passwords are the Basic-auth users' passwords.
var passwords = map[string]string{"alice": "alice-password", "bob": "bob-password"}

// username resolves the logged-in user: a session cookie, else Basic auth.
func username(r *http.Request) (string, error) {
	for _, name := range sessionCookies {
		if c, err := r.Cookie(name); err == nil {
			if u, ok := sessions[c.Value]; ok {
				return u, nil
			}
		}
	}
	if u, p, ok := r.BasicAuth(); ok && passwords[u] == p && p != "" {
		return u, nil
	}
	return "", nil
}

// spelling is one way a handler (or a caching middleware around the app)
// asks shared caches to keep a response.
type spelling struct {
	name string
	set  func(h http.Header)
}

// Values of the caching fields: ten minutes, well inside the test.
var (
	expires      = time.Now().Add(10 * time.Minute).UTC().Format(http.TimeFormat)
	lastModified = time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
)

// spellings are the ways tried, each on a URL of its own: the canonical
// keys, then each field under a key net/http would not canonicalize,
// written straight into the map (as a handler may), alongside a
// Cache-Control that the middleware turns private. "Surrogate-control" is
// how Varnish's builtin VCL spells the field it obeys over Cache-Control.
var spellings = []spelling{
	{"canonical", func(h http.Header) {
		h.Set("Cache-Control", "public, max-age=600, s-maxage=600")
		h.Set("Surrogate-Control", "max-age=600")
		h.Set("X-Accel-Expires", "600")
		h.Set("CDN-Cache-Control", "max-age=600")
		h.Set("ETag", `"page-v1"`)
		h.Set("Expires", expires)
		h.Set("Last-Modified", lastModified)
	}},
	{"cache-control", func(h http.Header) {
		h["cache-control"] = []string{"public, max-age=600, s-maxage=600"}
	}},
	{"cache-control-s-maxage", func(h http.Header) {
		h["cache-control"] = []string{"public, s-maxage=600"}
	}},
	{"surrogate-control", func(h http.Header) {
		h.Set("Cache-Control", "public, max-age=600")
		h["surrogate-control"] = []string{"max-age=600"}
	}},
	{"Surrogate-control", func(h http.Header) {
		h.Set("Cache-Control", "public, max-age=600")
		h["Surrogate-control"] = []string{"max-age=600"}
	}},
	{"x-accel-expires", func(h http.Header) {
		h.Set("Cache-Control", "public, max-age=600")
		h["x-accel-expires"] = []string{"600"}
	}},
	{"X-ACCEL-EXPIRES", func(h http.Header) {
		h["X-ACCEL-EXPIRES"] = []string{"600"}
	}},
	{"cdn-cache-control", func(h http.Header) {
		h.Set("Cache-Control", "public, max-age=600")
		h["cdn-cache-control"] = []string{"max-age=600"}
	}},
	{"etag", func(h http.Header) {
		h.Set("Cache-Control", "public, max-age=600")
		h["etag"] = []string{`"page-v1"`}
	}},
	{"expires", func(h http.Header) {
		h["expires"] = []string{expires}
		h["last-modified"] = []string{lastModified}
	}},
	{"every-lower-case", func(h http.Header) {
		h["cache-control"] = []string{"public, max-age=600, s-maxage=600"}
		h["surrogate-control"] = []string{"max-age=600"}
		h["x-accel-expires"] = []string{"600"}
		h["cdn-cache-control"] = []string{"max-age=600"}
		h["cloudflare-cdn-cache-control"] = []string{"max-age=600"}
		h["edge-control"] = []string{"cache-maxage=600s"}
		h["etag"] = []string{`"page-v1"`}
		h["expires"] = []string{expires}
		h["last-modified"] = []string{lastModified}
	}},
}

func spellingNamed(name string) (spelling, bool) {
	for _, s := range spellings {
		if s.name == name {
			return s, true
		}
	}
	return spelling{}, false
}

// spellingOf is the spelling a request asks for: the second segment of a
// page's path (/page/<spelling>/...), else the query's "spelling".
func spellingOf(r *http.Request) (spelling, bool) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/page/"); ok {
		name, _, _ := strings.Cut(rest, "/")
		return spellingNamed(name)
	}
	return spellingNamed(r.URL.Query().Get("spelling"))
}

// app is the backend: pf's Handler around the pages, inside a caching
// middleware that sets the request's spelling on every response before
// the middleware runs (so the identity endpoint gets it too), inside a
// counter of the requests that reached the backend.
type app struct {
	pf      *productfruits.Middleware
	handler http.Handler

	mu   sync.Mutex
	hits map[string]int // request URI → requests that reached the backend
}

func newApp(t testing.TB) *app {
	t.Helper()
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: "sharedcache",
		Secret:        productfruits.NewSecret(secret),
		Username:      username,
		TTL:           time.Hour,
		Inject:        true,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	a := &app{pf: pf, hits: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page/", func(w http.ResponseWriter, r *http.Request) {
		if s, ok := spellingOf(r); ok {
			s.set(w.Header())
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>%s</title></head><body><p>%s</p></body></html>",
			r.URL.Path, strings.Repeat("content ", 20))
	})
	a.mux(mux)
	cacheEverything := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s, ok := spellingOf(r); ok {
				s.set(w.Header())
			}
			next.ServeHTTP(w, r)
		})
	}
	inner := cacheEverything(pf.Handler(mux))
	a.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.hits[r.RequestURI]++
		a.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/raw/") {
			serveCanonicalScrub(w, r)
			return
		}
		inner.ServeHTTP(w, r)
	})
	return a
}

// serveCanonicalScrub answers /raw/<spelling>/... outside the middleware,
// the way a scrub that knows canonical keys only would leave a page: the
// spelling's fields, then the canonical shared-cache fields deleted,
// Cache-Control: private, max-age=600 and Vary: Cookie. Whether a cache
// stores it tells which spellings beat a private Cache-Control there.
func serveCanonicalScrub(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	rest := strings.TrimPrefix(r.URL.Path, "/raw/")
	name, _, _ := strings.Cut(rest, "/")
	if s, ok := spellingNamed(name); ok {
		s.set(h)
	}
	for _, k := range sharedCacheFields {
		delete(h, k)
	}
	h["Cache-Control"] = []string{"private, max-age=600"}
	h["Vary"] = []string{"Cookie"}
	h.Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<!doctype html><html><head><title>raw</title></head><body>raw</body></html>")
}

// mux adds the browser test's routes: a login that sets the session
// cookies, and the app's own page that checks the endpoint same-origin.
func (a *app) mux(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		value := r.URL.Query().Get("user") + "-session"
		if _, ok := sessions[value]; !ok {
			http.Error(w, "no such user", http.StatusBadRequest)
			return
		}
		// SameSite=None so that a cross-site request could carry it,
		// where the browser accepts a Secure cookie over http for a
		// loopback host; the second cookie gets the browser's default.
		w.Header().Add("Set-Cookie", sessionCookies[0]+"="+value+"; Path=/; HttpOnly; SameSite=None; Secure")
		w.Header().Add("Set-Cookie", sessionCookies[1]+"="+value+"; Path=/; HttpOnly")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><html><head><title>logged in</title></head><body>logged in</body></html>")
	})
	mux.HandleFunc("GET /app", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><html><head><title>app</title></head><body>app</body></html>")
	})
}

// hitsFor reports how many requests for uri reached the backend.
func (a *app) hitsFor(uri string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hits[uri]
}

// signedUser is the user object a page or the endpoint carries.
type signedUser struct {
	Username string `json:"username"`
	HMAC     *struct {
		Hash       string `json:"hash"`
		Expiration string `json:"expiration"`
	} `json:"hmac"`
}

// userObjects finds every signed user object in a body: the endpoint's
// JSON, or the snippet's in a page.
var userObjectRE = regexp.MustCompile(`\{"username":"(?:[^"\\]|\\.)*","hmac":\{"hash":(?:"[^"]*"|null)(?:,"expiration":(?:"[^"]*"|null))?\}\}`)

func userObjects(body string) []signedUser {
	var out []signedUser
	for _, m := range userObjectRE.FindAllString(body, -1) {
		var u signedUser
		if json.Unmarshal([]byte(m), &u) == nil {
			out = append(out, u)
		}
	}
	return out
}

// containsHash reports whether body carries hash, as it is or escaped the
// ways JSON and the snippet may escape its '/' and '+'.
func containsHash(body, hash string) bool {
	forms := []string{
		hash,
		strings.ReplaceAll(hash, "/", `\/`),
		strings.NewReplacer("+", `\u002b`, "/", `\/`).Replace(hash),
		strings.NewReplacer("+", `\u002B`, "/", `\u002F`).Replace(hash),
		strings.NewReplacer("+", `\u002b`, "/", `\u002f`).Replace(hash),
	}
	for _, f := range forms {
		if strings.Contains(body, f) {
			return true
		}
	}
	return false
}

// verifies reports whether u carries a valid HMAC for name now.
func verifies(t testing.TB, u signedUser, name string) bool {
	t.Helper()
	if u.Username != name || u.HMAC == nil {
		return false
	}
	signer, err := productfruits.NewSigner(secret)
	require.NoError(t, err)
	return signer.Verify(name, productfruits.HMAC{Hash: u.HMAC.Hash, Expiration: u.HMAC.Expiration}, time.Now()) == nil
}

// sharedCacheFields are the response fields, canonical as net/http's client
// reads them (whatever the case on the wire), that let a shared cache keep
// or revalidate a response regardless of a private Cache-Control.
var sharedCacheFields = []string{
	"Cdn-Cache-Control", "Cloudflare-Cdn-Cache-Control", "Vercel-Cdn-Cache-Control",
	"Netlify-Cdn-Cache-Control", "Surrogate-Control", "Edge-Control", "X-Accel-Expires",
	"Expires", "Etag", "Last-Modified",
}

// privateProblems lists what, in a logged-in response's header as the
// client read it, would let a shared cache store it: a cache field under
// any spelling, a Cache-Control value without private or no-store or with
// public or s-maxage, no Vary: Cookie.
func privateProblems(h http.Header) []string {
	var out []string
	for _, k := range sharedCacheFields {
		if v, ok := h[k]; ok {
			out = append(out, fmt.Sprintf("%s: %q", k, v))
		}
	}
	ccs := h["Cache-Control"]
	if len(ccs) == 0 {
		out = append(out, "no Cache-Control")
	}
	for _, v := range ccs {
		l := strings.ToLower(v)
		if !strings.Contains(l, "private") && !strings.Contains(l, "no-store") {
			out = append(out, fmt.Sprintf("Cache-Control %q is neither private nor no-store", v))
		}
		if strings.Contains(l, "public") || strings.Contains(l, "s-maxage") {
			out = append(out, fmt.Sprintf("Cache-Control %q lets shared caches store it", v))
		}
	}
	if !strings.Contains(strings.ToLower(strings.Join(h["Vary"], ",")), "cookie") && !strings.Contains(strings.Join(h["Vary"], ","), "*") {
		out = append(out, fmt.Sprintf("Vary %q has no Cookie", h["Vary"]))
	}
	return out
}

// who is how a test client logs in.
type who struct {
	kind string // "cookie", "basic" or "anonymous"
	user string
}

func (c who) do(t testing.TB, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	switch c.kind {
	case "cookie":
		req.AddCookie(&http.Cookie{Name: sessionCookies[0], Value: c.user + "-session"})
	case "basic":
		req.SetBasicAuth(c.user, passwords[c.user])
	}
	// Browsers send it; caches must not key on it alone.
	req.Header.Set("Accept", "text/html,application/json;q=0.9,*/*;q=0.8")
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// targets are the URLs, under a case's unique prefix, that carry a user's
// signed object: a page, the identity endpoint, and the endpoint as a
// page's own URL answers it where the middleware is scoped to a group.
var targets = []struct {
	name string
	url  func(sp, id string) string
}{
	{"page", func(sp, id string) string { return "/page/" + sp + "/" + id }},
	{"endpoint", func(sp, id string) string {
		return productfruits.DefaultIdentityPath + "?spelling=" + sp + "&case=" + id
	}},
	{"page-query-endpoint", func(sp, id string) string { return "/page/" + sp + "/" + id + "?productfruits=identity" }},
}

// TestBackendLeavesNoCacheField asks the app directly, with no cache in
// between: every logged-in response (page, endpoint, page-query endpoint)
// for every spelling leaves with no shared-cache field under any spelling,
// a private or no-store Cache-Control and Vary: Cookie. It needs no
// cache, so it always runs.
func TestBackendLeavesNoCacheField(t *testing.T) {
	a := newApp(t)
	srv := httptest.NewServer(a.handler)
	t.Cleanup(srv.Close)
	for _, kind := range []string{"cookie", "basic"} {
		for _, sp := range spellings {
			for _, target := range targets {
				t.Run(kind+"/"+sp.name+"/"+target.name, func(t *testing.T) {
					resp, body := who{kind, "alice"}.do(t, srv.Client(), srv.URL+target.url(sp.name, "direct-"+kind))
					require.Equal(t, http.StatusOK, resp.StatusCode, body)
					users := userObjects(body)
					require.NotEmpty(t, users, "no signed user object in %q", body)
					require.True(t, verifies(t, users[0], "alice"), "alice's object does not verify: %+v", users[0])
					require.Empty(t, privateProblems(resp.Header), "alice's response could be stored by a shared cache")
				})
			}
		}
	}
}

// ciMissing ends a test whose external program is missing: a skip, except
// under CI (CI=true), where a test that skips proves nothing and so fails.
func ciMissing(t testing.TB, what, how string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed and CI=true: %s", what, how)
		return
	}
	t.Skipf("%s is not installed: skipping outside CI; %s to run this test", what, how)
}
