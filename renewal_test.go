package productfruits

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdentityEndpoint(t *testing.T) {
	now := fixedNow
	m := newTestMiddleware(t, func(c *Config) {
		c.TTL = time.Minute
		c.Now = func() time.Time { return now }
		c.Profile = func(_ *http.Request, name string) (User, error) { return User{Role: "admin"}, nil }
	})
	app := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the endpoint must not reach the app: %s", r.URL)
	}))
	do := func(user, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		withUser(user, app).ServeHTTP(rec, req)
		return rec
	}
	checkHeaders := func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	}

	t.Run("GET signs the current user with a fresh expiration", func(t *testing.T) {
		rec := do("alice", "GET", "/productfruits/identity", nil)
		require.Equal(t, http.StatusOK, rec.Code)
		checkHeaders(t, rec)
		var u User
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &u))
		assert.Equal(t, "alice", u.Username)
		assert.Equal(t, "admin", u.Role)
		assert.Equal(t, "2026-11-24T14:01:00.000Z", u.HMAC.Expiration)
		assert.NoError(t, m.Signer().Verify("alice", *u.HMAC, now))

		now = now.Add(30 * time.Second)
		rec = do("alice", "GET", "/productfruits/identity", nil)
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &u))
		assert.Equal(t, "2026-11-24T14:01:30.000Z", u.HMAC.Expiration)
	})
	t.Run("HEAD has headers and no body", func(t *testing.T) {
		rec := do("alice", "HEAD", "/productfruits/identity", nil)
		assert.Equal(t, http.StatusOK, rec.Code)
		checkHeaders(t, rec)
		assert.Empty(t, rec.Body.String())
	})
	t.Run("anonymous is 401 JSON", func(t *testing.T) {
		rec := do("", "GET", "/productfruits/identity", nil)
		assert.Equal(t, http.StatusUnauthorized, rec.Code)
		checkHeaders(t, rec)
		assert.JSONEq(t, `{"error":"not logged in"}`, rec.Body.String())
	})
	t.Run("other methods are 405 with Allow", func(t *testing.T) {
		for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
			rec := do("alice", method, "/productfruits/identity", nil)
			assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, method)
			assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
			checkHeaders(t, rec)
		}
	})
	t.Run("nothing in the request chooses whom it signs for", func(t *testing.T) {
		rec := do("alice", "GET", "/productfruits/identity?username=mallory&user=mallory",
			map[string]string{"X-Username": "mallory", "X-Forwarded-User": "mallory"})
		var u User
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &u))
		assert.Equal(t, "alice", u.Username)
	})
	t.Run("switched off", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) { c.IdentityPath = "-" })
		reached := false
		h := withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true })))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/productfruits/identity", nil))
		assert.True(t, reached)
	})
	t.Run("custom path", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) { c.IdentityPath = "/api/pf" })
		rec := httptest.NewRecorder()
		withUser("bob", m.Handler(http.NotFoundHandler())).ServeHTTP(rec, httptest.NewRequest("GET", "/api/pf", nil))
		body, _ := io.ReadAll(rec.Body)
		assert.Contains(t, string(body), `"username":"bob"`)
	})
}

func TestIdentityEndpointLanguage(t *testing.T) {
	m := newTestMiddleware(t, func(c *Config) {
		c.Language = "cs"
		c.LanguageFunc = func(r *http.Request) string {
			// A per-user choice, as apps store it.
			return map[string]string{"anna": "de", "ben": "", "cy": "cy-GB"}[r.Context().Value(userKey{}).(string)]
		}
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	tests := []struct{ user, want string }{
		{"anna", "de"},
		{"ben", "cs"},
		{"cy", "cs"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		withUser(tt.user, m.IdentityHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, tt.want, rec.Header().Get("Content-Language"), tt.user)
	}
	rec := httptest.NewRecorder()
	m.IdentityHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Empty(t, rec.Header().Get("Content-Language"), "nobody: no language")
}

func TestIdentityHandlerMountedByHand(t *testing.T) {
	m := newTestMiddleware(t, func(c *Config) { c.IdentityPath = "-" })
	mux := http.NewServeMux()
	mux.Handle("GET /me/pf", m.IdentityHandler())
	rec := httptest.NewRecorder()
	withUser("carol", mux).ServeHTTP(rec, httptest.NewRequest("GET", "/me/pf", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var u User
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &u))
	assert.Equal(t, "carol", u.Username)
	assert.NoError(t, m.Signer().Verify("carol", *u.HMAC, fixedNow))
}

func TestSnippetRenewal(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	m := newTestMiddleware(t, func(c *Config) { c.TTL = 10 * time.Second })
	d, _ := parsePageData(t, renderSnippet(t, m, r, "a", http.Header{}))
	assert.Equal(t, "/productfruits/identity", d.Identity)
	assert.Equal(t, int64(10000), d.TTL)
	assert.Equal(t, "2026-11-24T14:00:10.000Z", d.User.HMAC.Expiration)

	t.Run("no TTL, no renewal", func(t *testing.T) {
		m := newTestMiddleware(t, nil)
		d, _ := parsePageData(t, renderSnippet(t, m, r, "a", http.Header{}))
		assert.Empty(t, d.Identity)
		assert.Zero(t, d.TTL)
	})
	t.Run("no TTL, no renewal, under a stripped prefix too", func(t *testing.T) {
		m := newTestMiddleware(t, nil)
		var d pageData
		http.StripPrefix("/app", withUser("a", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, _ = parsePageData(t, string(TemplateScript(r)))
		})))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/app/page", nil))
		assert.Empty(t, d.Identity)
		assert.Zero(t, d.TTL)
	})
	t.Run("IdentityURL wins", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) { c.TTL, c.IdentityPath, c.IdentityURL = time.Minute, "-", "/me/pf" })
		d, _ := parsePageData(t, renderSnippet(t, m, r, "a", http.Header{}))
		assert.Equal(t, "/me/pf", d.Identity)
	})
	t.Run("under a stripped prefix", func(t *testing.T) {
		var d pageData
		app := http.StripPrefix("/app", withUser("a", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, _ = parsePageData(t, string(TemplateScript(r)))
		}))))
		app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/app/reports/1?x=/y", nil))
		assert.Equal(t, "/app/productfruits/identity", d.Identity)

		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, httptest.NewRequest("GET", "/app/productfruits/identity", nil))
		assert.Equal(t, http.StatusOK, rec.Code, "the endpoint answers where the page fetches it")
	})
	t.Run("script URL is attribute-escaped", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) { c.ScriptURL = "https://cdn.example.com/pf.js?a=1&b=\"2" })
		s := renderSnippet(t, m, r, "a", http.Header{})
		assert.Contains(t, s, `src="https://cdn.example.com/pf.js?a=1&amp;b=&#34;2"`)
	})
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

func TestLifecycleScriptIsInert(t *testing.T) {
	for i := 0; i < len(lifecycleJS); i++ {
		require.Less(t, lifecycleJS[i], byte(0x80), "non-ASCII byte at %d", i)
	}
	assert.NotContains(t, lifecycleJS, "</")
	assert.NotContains(t, lifecycleJS, "<!--")
	assert.NotContains(t, lifecycleJS, "]]>", "it sits in a CDATA section in XHTML pages")
	for i := 0; i+1 < len(lifecycleJS); i++ {
		// A browser's encoding prescan would read "<x" as a tag and skip
		// to its '>', across the page's own <meta charset>.
		if c := lifecycleJS[i+1]; lifecycleJS[i] == '<' {
			require.Contains(t, " =", string(c), "%q at %d", lifecycleJS[i:i+2], i)
		}
	}
	assert.NotContains(t, lifecycleJS, "//", "a comment line survived compaction (or a URL crept in)")
}

// TestLifecycleRuntime runs the runtime exactly as pages get it in node,
// in a fake browser with a fake product that follows the product's
// documented queue, readiness, identifyUser and destroy behaviour
// (testdata/lifecycle.test.js holds the cases: idempotent executions,
// user switch, logout, renewal, clamped timers, cached pages, failures).
func TestLifecycleRuntime(t *testing.T) {
	cmd := exec.Command(lookNode(t), "testdata/lifecycle.test.js")
	cmd.Stdin = strings.NewReader(lifecycleJS)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("%s", out)
}
