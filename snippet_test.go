package productfruits

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// initCall extracts the init call's arguments from a snippet, parsing them
// as the browser's JSON-compatible literal.
var initRe = regexp.MustCompile(`\$productFruits\.push\(\['init',(.*?)\]\);`)

func parseInit(t *testing.T, snippet string) (workspace, lang string, user User) {
	t.Helper()
	m := initRe.FindStringSubmatch(snippet)
	require.NotNil(t, m, "no init call in %s", snippet)
	var args []json.RawMessage
	require.NoError(t, json.Unmarshal([]byte("["+m[1]+"]"), &args))
	require.Len(t, args, 3)
	require.NoError(t, json.Unmarshal(args[0], &workspace))
	require.NoError(t, json.Unmarshal(args[1], &lang))
	require.NoError(t, json.Unmarshal(args[2], &user))
	return workspace, lang, user
}

func TestSnippetEscapesHostileData(t *testing.T) {
	hostile := "</script><script>alert(1)</script>\"'\u2028\u2029&<!--Žluťoučký kůň 😀\x00\x7f"
	m := newTestMiddleware(t, func(c *Config) {
		c.Language = "cs"
		c.Profile = func(*http.Request, string) (User, error) {
			return User{Email: hostile, Firstname: hostile, Props: map[string]any{hostile: hostile, "n": 1.5, "tags": []string{hostile}},
				Group: &Group{GroupID: hostile, Props: map[string]any{"k": hostile}}}, nil
		}
	})
	r := httptest.NewRequest("GET", "/", nil)
	snippet := renderSnippet(t, m, r, hostile, http.Header{})

	for i := 0; i < len(snippet); i++ {
		require.Less(t, snippet[i], byte(0x80), "non-ASCII byte at %d", i)
	}
	assert.Equal(t, 2, strings.Count(snippet, "<script"), "only our two script elements")
	assert.Equal(t, 2, strings.Count(snippet, "</script"))
	assert.NotContains(t, snippet, "<!--")
	ws, lang, u := parseInit(t, snippet)
	assert.Equal(t, "ws_Code-1", ws)
	assert.Equal(t, "cs", lang)
	assert.Equal(t, hostile, u.Username)
	assert.Equal(t, hostile, u.Email)
	assert.Equal(t, hostile, u.Props[hostile])
	assert.Equal(t, hostile, u.Group.GroupID)
	require.NotNil(t, u.HMAC)
	assert.NoError(t, m.Signer().Verify(u.Username, *u.HMAC, fixedNow))
	assert.NotContains(t, snippet, testSecret)
}

func TestUserJSONMatchesEncodingJSON(t *testing.T) {
	u := User{Username: "a\"b\\c\n\t\r", Email: "e@x", Firstname: "F", Lastname: "L", Role: "r", SignUpAt: "2020-01-01T00:00:00Z",
		Props: map[string]any{"x": []int{1, 2}, "nested": map[string]any{"b": true}}, Group: &Group{GroupID: "g"},
		HMAC: &HMAC{Hash: "h", Expiration: "e"}}
	ours, err := appendUserJSON(nil, &u)
	require.NoError(t, err)
	std, err := json.Marshal(u)
	require.NoError(t, err)
	assert.JSONEq(t, string(std), string(ours))

	var back User
	require.NoError(t, json.Unmarshal(ours, &back))
	assert.Equal(t, u.Username, back.Username)
}

func TestSnippetNonce(t *testing.T) {
	tests := []struct {
		name   string
		nonce  func(*http.Request) string
		csp    []string
		want   string
		absent bool
	}{
		{"from Config.Nonce", func(*http.Request) string { return "cfgNonce123" }, []string{"script-src 'nonce-hdr'"}, "cfgNonce123", false},
		{"from script-src", nil, []string{"default-src 'self'; script-src 'self' 'nonce-abc+/=_-'"}, "abc+/=_-", false},
		{"from default-src", nil, []string{"default-src 'nonce-dflt'; img-src *"}, "dflt", false},
		{"script-src wins over default-src", nil, []string{"default-src 'nonce-dflt'", "script-src 'nonce-scr'"}, "scr", false},
		{"no CSP", nil, nil, "", true},
		{"hostile nonce ignored", func(*http.Request) string { return `x"><script>alert(1)</script>` }, nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMiddleware(t, func(c *Config) { c.Nonce = tt.nonce })
			r := httptest.NewRequest("GET", "/", nil)
			h := http.Header{}
			for _, v := range tt.csp {
				h.Add("Content-Security-Policy", v)
			}
			s := renderSnippet(t, m, r, "alice", h)
			if tt.absent {
				assert.NotContains(t, s, "nonce=")
				assert.Equal(t, 2, strings.Count(s, "<script"))
				return
			}
			assert.Equal(t, 2, strings.Count(s, `nonce="`+tt.want+`"`), s)
		})
	}
}

func TestSnippetRenewal(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	m := newTestMiddleware(t, func(c *Config) { c.TTL = 10 * time.Second })
	s := renderSnippet(t, m, r, "a", http.Header{})
	assert.Contains(t, s, `"/productfruits/identity"`)
	assert.Contains(t, s, "identifyUser")
	assert.Contains(t, s, "T=10000")

	for name, mod := range map[string]func(*Config){
		"no TTL":            nil,
		"endpoint off":      func(c *Config) { c.TTL = time.Minute; c.IdentityPath = "-" },
		"custom script URL": func(c *Config) { c.ScriptURL = "https://cdn.example.com/pf.js?a=1&b=2" },
	} {
		t.Run(name, func(t *testing.T) {
			m := newTestMiddleware(t, mod)
			s := renderSnippet(t, m, r, "a", http.Header{})
			assert.NotContains(t, s, "identifyUser")
		})
	}
	t.Run("script URL is attribute-escaped", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) { c.ScriptURL = "https://cdn.example.com/pf.js?a=1&b=\"2" })
		s := renderSnippet(t, m, r, "a", http.Header{})
		assert.Contains(t, s, `src="https://cdn.example.com/pf.js?a=1&amp;b=&#34;2"`)
	})
}

func TestTemplateScript(t *testing.T) {
	m := newTestMiddleware(t, nil)
	var first, second string
	app := withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "script-src 'nonce-fromHeader'")
		first = string(TemplateScript(r))
		second = string(TemplateScript(r))
	})))
	app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	_, _, u := parseInit(t, first)
	assert.Equal(t, "alice", u.Username)
	assert.NoError(t, m.Signer().Verify("alice", *u.HMAC, fixedNow))
	assert.Contains(t, first, `nonce="fromHeader"`, "nonce from the response's own CSP")
	assert.Empty(t, second, "a page never carries two snippets")

	t.Run("marks the page private", func(t *testing.T) {
		rec := httptest.NewRecorder()
		withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			_, _ = io.WriteString(w, string(TemplateScript(r)))
		}))).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, "max-age=60, private", rec.Header().Get("Cache-Control"))
		assert.Equal(t, "Cookie", rec.Header().Get("Vary"))
	})

	t.Run("anonymous and unwrapped requests get nothing", func(t *testing.T) {
		assert.Empty(t, TemplateScript(httptest.NewRequest("GET", "/", nil)))
		var got string
		withUser("", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = string(TemplateScript(r))
		}))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		assert.Empty(t, got)
	})
}

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

func TestSnippetUnencodableUserLeavesNoSnippet(t *testing.T) {
	var logs logBuffer
	m := newTestMiddleware(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.Profile = func(*http.Request, string) (User, error) {
			return User{Props: map[string]any{"bad": make(chan int)}}, nil
		}
	})
	r := httptest.NewRequest("GET", "/", nil)
	st := signedState(t, m, r, "alice") // without Inject the user object is only encoded for a snippet
	prefix := []byte("<p>page so far</p>")
	out, err := m.appendSnippet(prefix, r, st, http.Header{})
	require.Error(t, err)
	assert.Equal(t, "<p>page so far</p>", string(out), "nothing half-written is left behind")
	assert.Empty(t, TemplateScript(r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))))
	assert.Contains(t, logs.String(), "cannot encode the user object")
	assert.Equal(t, 1, strings.Count(logs.String(), "\n"), "logged once: %s", logs.String())
	assert.NotContains(t, logs.String(), testSecret)
}
