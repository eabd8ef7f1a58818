package productfruits

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	m := newTestMiddleware(t, func(c *Config) { c.IdentityPath, c.IdentityURL = "-", "/me/pf" })
	mux := http.NewServeMux()
	mux.Handle("GET /me/pf", m.IdentityHandler())
	mux.Handle("GET "+m.RuntimePath(), m.IdentityHandler())
	rec := httptest.NewRecorder()
	withUser("carol", mux).ServeHTTP(rec, httptest.NewRequest("GET", "/me/pf", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var u User
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &u))
	assert.Equal(t, "carol", u.Username)
	assert.NoError(t, m.Signer().Verify("carol", *u.HMAC, fixedNow))

	// The page's runtime, from the same handler at RuntimePath.
	var page string
	withUser("carol", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page = string(TemplateScript(r))
	}))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, "/me/pf"+m.runtime.file, m.RuntimePath())
	assert.Contains(t, page, `src="`+m.RuntimePath()+`"`)
	for _, user := range []string{"carol", ""} {
		rec = httptest.NewRecorder()
		withUser(user, mux).ServeHTTP(rec, httptest.NewRequest("GET", m.RuntimePath(), nil))
		require.Equal(t, http.StatusOK, rec.Code, "user %q", user)
		assert.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
		assert.Equal(t, string(m.runtime.js), rec.Body.String())
	}
}

// TestIdentityCrossSite: the endpoint answers only same-origin fetches
// (and navigations, and clients without Fetch Metadata), with CORP.
func TestIdentityCrossSite(t *testing.T) {
	m := newTestMiddleware(t, reachConfig(nil))
	h := withUser("alice", m.Handler(http.NotFoundHandler()))
	for site, want := range map[string]int{"": 200, "same-origin": 200, "none": 200, "same-site": 403, "cross-site": 403} {
		for _, path := range []string{DefaultIdentityPath, "/page?productfruits=identity"} {
			r := httptest.NewRequest("GET", path, nil)
			if site != "" {
				r.Header.Set("Sec-Fetch-Site", site)
			}
			got := newRecWriter()
			h.ServeHTTP(got, r)
			status, header, body := got.result()
			assert.Equal(t, want, status, "%s %q", path, site)
			assert.Equal(t, "same-origin", header.Get("Cross-Origin-Resource-Policy"))
			if want == 403 {
				assert.NotContains(t, body, "hmac")
				assert.NotContains(t, body, "alice")
			}
		}
	}
}
