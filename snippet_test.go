package productfruits

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	d, n := parsePageData(t, snippet)
	assert.Equal(t, 1, n)
	assert.Equal(t, "ws_Code-1", d.Workspace)
	assert.Equal(t, "cs", d.Language)
	u := d.User
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

func TestTemplateScript(t *testing.T) {
	m := newTestMiddleware(t, nil)
	var first, second string
	app := withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "script-src 'nonce-fromHeader'")
		first = string(TemplateScript(r))
		second = string(TemplateScript(r))
	})))
	app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	d, _ := parsePageData(t, first)
	u := d.User
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

	t.Run("unwrapped requests get nothing", func(t *testing.T) {
		assert.Empty(t, TemplateScript(httptest.NewRequest("GET", "/", nil)))
	})

	t.Run("anonymous requests get the anonymous script, once", func(t *testing.T) {
		var got, again string
		rec := httptest.NewRecorder()
		withUser("", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "script-src 'nonce-n1'")
			w.Header().Set("Cache-Control", "public, max-age=60")
			got = string(TemplateScript(r))
			again = string(TemplateScript(r))
		}))).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, `<script nonce="n1" data-productfruits="anonymous">`+anonymousScript+`</script>`, got)
		assert.Empty(t, again)
		assert.Equal(t, "public, max-age=60", rec.Header().Get("Cache-Control"), "an anonymous page stays cacheable")
		assert.Empty(t, rec.Header().Get("Vary"))
	})
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
