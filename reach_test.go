package productfruits

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pageURLs fetches url as user and returns the runtime's URL and the
// endpoint's, as the page names them.
func pageURLs(t *testing.T, srv *httptest.Server, path, user string) (runtime, identity string) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	require.NoError(t, err)
	req.AddCookie(&http.Cookie{Name: "user", Value: user})
	res, err := srv.Client().Do(req)
	page := readBody(t, res, err)
	m := runtimeSrc.FindStringSubmatch(page)
	require.NotNil(t, m, "no runtime element in %s", page)
	d, _ := parsePageData(t, page)
	require.Empty(t, d.Identity, "the page names no endpoint: the runtime reads it off its own URL")
	runtime = strings.ReplaceAll(m[1], "&amp;", "&")
	return runtime, endpointFor(runtime)
}

// get fetches path as user ("" for nobody) and returns the status, the
// Content-Type and the body.
func getAs(t *testing.T, srv *httptest.Server, path, user string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	require.NoError(t, err)
	if user != "" {
		req.AddCookie(&http.Cookie{Name: "user", Value: user})
	}
	res, err := srv.Client().Do(req)
	body := readBody(t, res, err)
	return res.StatusCode, res.Header.Get("Content-Type"), body
}

// TestReachScoped: where the runtime's own URL does not reach the
// middleware (scoped to a part of the app), pages name their own URL for
// the runtime and the endpoint, and both answer there.
func TestReachScoped(t *testing.T) {
	var logs logBuffer
	m := newTestMiddleware(t, reachConfig(&logs))
	app := http.NewServeMux()
	app.HandleFunc("/app/{page...}", htmlPage)
	root := http.NewServeMux()
	root.Handle("/app/", m.Handler(app))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	var probes []*http.Request
	var mu sync.Mutex
	record := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			probes = append(probes, r)
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(record(cookieUser(root)))
	defer srv.Close()

	for _, path := range []string{"/app/x", "/app/deeper/page", "/app/caf%C3%A9"} {
		rt, id := pageURLs(t, srv, path, "alice")
		assert.Equal(t, path+"?productfruits="+m.runtime.file[1:], rt, "the runtime on the page's own URL")
		assert.Equal(t, path+"?productfruits=identity", id, "the endpoint on the page's own URL")
		status, ct, js := getAs(t, srv, rt, "alice")
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, "text/javascript; charset=utf-8", ct)
		assert.Equal(t, string(m.runtime.js), js)
		status, ct, body := getAs(t, srv, id, "alice")
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, "application/json", ct)
		assert.Contains(t, body, `"username":"alice"`)
		status, _, _ = getAs(t, srv, id, "")
		assert.Equal(t, http.StatusUnauthorized, status)
	}
	status, _, _ := getAs(t, srv, m.RuntimePath(), "alice")
	assert.Equal(t, http.StatusNotFound, status, "the runtime's own URL does not reach the middleware here")

	mu.Lock()
	var asked int
	for _, r := range probes {
		if r.URL.Path == m.RuntimePath() && r.Header.Get("Sec-Fetch-Dest") == "script" && r.Header.Get("Cookie") == "" {
			asked++
		}
	}
	mu.Unlock()
	assert.Equal(t, 1, asked, "asked once, as nobody (no cookie)")
	assert.Equal(t, 1, strings.Count(logs.String(), "does not reach this middleware"), logs.String())
}

// TestReachRoot: wrapping the whole app, pages keep the runtime's own URL
// (one URL the browser caches across pages), under any stripped prefix.
func TestReachRoot(t *testing.T) {
	m := newTestMiddleware(t, reachConfig(nil))
	app := http.HandlerFunc(htmlPage)
	for _, tt := range []struct {
		name, path, prefix string
		h                  http.Handler
	}{
		{"whole app", "/x", "", m.Handler(app)},
		{"under StripPrefix", "/app/x", "/app", http.StripPrefix("/app", m.Handler(app))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(cookieUser(tt.h))
			defer srv.Close()
			rt, id := pageURLs(t, srv, tt.path, "alice")
			assert.Equal(t, tt.prefix+m.RuntimePath(), rt)
			assert.Equal(t, tt.prefix+DefaultIdentityPath, id)
			status, _, _ := getAs(t, srv, rt, "alice")
			assert.Equal(t, http.StatusOK, status)
		})
	}
}

// TestReachProbeHeld: an outer middleware that serves one request at a
// time holds the question until the page is served; that page uses its
// own URL (which works), later pages the runtime's.
func TestReachProbeHeld(t *testing.T) {
	defer func(d time.Duration) { probeWait = d }(probeWait)
	probeWait = time.Millisecond
	m := newTestMiddleware(t, reachConfig(nil))
	var one sync.Mutex
	serial := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			one.Lock()
			defer one.Unlock()
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(serial(cookieUser(m.Handler(http.HandlerFunc(htmlPage)))))
	defer srv.Close()
	rt, _ := pageURLs(t, srv, "/x", "alice")
	assert.Equal(t, "/x?productfruits="+m.runtime.file[1:], rt)
	v, ok := m.reach.known.Load("")
	require.True(t, ok)
	<-v.(*reachProbe).done // answered once the page let go of the lock
	rt, _ = pageURLs(t, srv, "/x", "alice")
	assert.Equal(t, m.RuntimePath(), rt)
}

// TestPagePath: whatever the request line held, the page's URL in the
// snippet is percent-encoded ASCII.
func TestPagePath(t *testing.T) {
	for uri, want := range map[string]string{
		"/a/b?x=1":          "/a/b",
		"/caf\xc3\xa9":      "/caf%C3%A9",
		`/a"<b>`:            "/a%22%3Cb%3E",
		"/a%20b":            "/a%20b",
		"http://h/abs?q":    "/abs",
		"/p;x=1/@:!$&'()*+": "/p;x=1/@:!$&'()*+",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RequestURI = uri
		if strings.HasPrefix(uri, "http") {
			r.URL.Path = "/abs"
		}
		assert.Equal(t, want, pagePath(r, ""), uri)
	}
}

// TestStrippedPrefixASCII: raw bytes of 0x80 and above in a stripped
// prefix (a client that does not percent-encode) reach the snippet
// percent-encoded, so it stays ASCII and XHTML stays well-formed.
func TestStrippedPrefixASCII(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RequestURI = "/caf\xc3\xa9/page"
	r.URL.Path, r.URL.RawPath = "/page", ""
	assert.Equal(t, "/caf%C3%A9", strippedPrefix(r))

	m := newTestMiddleware(t, func(c *Config) { c.Inject = true; c.TTL = time.Hour })
	h := http.StripPrefix("/caf\xc3\xa9", m.Handler(http.HandlerFunc(htmlPage)))
	r = httptest.NewRequest("GET", "/", nil)
	r.RequestURI = "/caf\xc3\xa9/page"
	r.URL.Path, r.URL.RawPath = "/caf\xc3\xa9/page", ""
	got := newRecWriter()
	withUser("alice", h).ServeHTTP(got, r)
	_, _, body := got.result()
	require.Contains(t, body, "/caf%C3%A9"+DefaultIdentityPath)
	for i := 0; i < len(body); i++ {
		require.Less(t, body[i], byte(0x80), "non-ASCII at %d: %q", i, body)
	}
}

func TestStrippedPrefix(t *testing.T) {
	tests := []struct {
		uri, path, want string
	}{
		{"/page", "/page", ""},
		{"/app/page", "/page", "/app"},
		{"/a/b/page?q=/page", "/page", "/a/b"},
		{"/app/a%20b", "/a b", "/app"},
		{"/app/", "/", "/app"},
		{"/page", "/other", ""},      // rewritten, not stripped
		{"//page", "/page", ""},      // would make a protocol-relative URL
		{"/./page", "/page", ""},     // dot segment
		{"/x//page", "/page", ""},    // prefix ends in a slash
		{"*", "/", ""},               // OPTIONS *
		{"http://h/app/p", "/p", ""}, // absolute form: no clean prefix
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RequestURI = tt.uri
		r.URL.Path, r.URL.RawPath = tt.path, ""
		assert.Equal(t, tt.want, strippedPrefix(r), "RequestURI %q, path %q", tt.uri, tt.path)
	}
}
