package productfruits

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

func TestSnippetInitOptions(t *testing.T) {
	tests := []struct {
		name string
		opts InitOptions
		want string // the options member of the page data, "" for none
	}{
		{"none", InitOptions{}, ""},
		{"one", InitOptions{HideElvinLauncher: true}, `{"hideElvinLauncher":true}`},
		{"two", InitOptions{DisableLocationChangeDetection: true, HideInAppCenterLauncher: true},
			`{"disableLocationChangeDetection":true,"hideInAppCenterLauncher":true}`},
		{"all", InitOptions{true, true, true, true},
			`{"disableLocationChangeDetection":true,"disableBannersAutoMargin":true,"hideInAppCenterLauncher":true,"hideElvinLauncher":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMiddleware(t, func(c *Config) {
				c.Options = tt.opts
				c.LanguageFunc = func(r *http.Request) string { return r.URL.Query().Get("lang") }
			})
			for _, target := range []string{"/", "/?lang=de"} {
				s := renderSnippet(t, m, httptest.NewRequest("GET", target, nil), "alice", http.Header{})
				if tt.want == "" {
					assert.NotContains(t, s, `"options"`)
				} else {
					assert.Contains(t, s, `,"options":`+tt.want+`,"user":`)
				}
				d, _ := parsePageData(t, s)
				assert.Equal(t, "alice", d.User.Username)
			}
		})
	}
}

func TestScriptFor(t *testing.T) {
	profileCalled := false
	m := newTestMiddleware(t, func(c *Config) {
		c.TTL = time.Hour
		c.Language = "cs"
		c.LanguageFunc = func(*http.Request) string { return "de" }
		c.Options = InitOptions{HideElvinLauncher: true}
		c.Profile = func(*http.Request, string) (User, error) { profileCalled = true; return User{}, nil }
	})
	user := User{Username: "Žluťoučký kůň", Email: "k@example.com", Props: map[string]any{"plan": "pro"},
		HMAC: &HMAC{Hash: "forged", Expiration: "2099-01-01T00:00:00.000Z"}}

	t.Run("signs now, with the TTL, and renders the whole snippet", func(t *testing.T) {
		s, err := m.ScriptFor(user, "n0nce")
		require.NoError(t, err)
		d, n := parsePageData(t, string(s))
		assert.Equal(t, 1, n)
		assert.Equal(t, user.Username, d.User.Username)
		assert.Equal(t, "k@example.com", d.User.Email)
		assert.Equal(t, map[string]any{"plan": "pro"}, d.User.Props)
		assert.Equal(t, "2026-11-24T15:00:00.000Z", d.User.HMAC.Expiration, "user.HMAC is replaced")
		assert.NoError(t, m.Signer().Verify(user.Username, *d.User.HMAC, fixedNow))
		assert.Equal(t, "cs", d.Language, "no request: Config.Language")
		assert.Equal(t, map[string]bool{"hideElvinLauncher": true}, d.Options)
		assert.Equal(t, DefaultIdentityPath, d.Identity)
		assert.Equal(t, int64(time.Hour/time.Millisecond), d.TTL)
		assert.Equal(t, 2, strings.Count(string(s), `nonce="n0nce"`))
		assert.Contains(t, string(s), lifecycleJS)
		assert.False(t, profileCalled)
		assert.Equal(t, "forged", user.HMAC.Hash, "the caller's user is not changed")
	})

	t.Run("the same markup TemplateScript gives that user", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) { c.TTL = time.Hour })
		var tmpl string
		withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tmpl = string(TemplateScript(r))
		}))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		s, err := m.ScriptFor(User{Username: "alice"}, "")
		require.NoError(t, err)
		assert.Equal(t, tmpl, string(s))
	})

	tests := []struct {
		name    string
		mod     func(*Config)
		user    User
		nonce   string
		want    string // substring of the markup
		wantErr error  // or errAny
	}{
		{"IdentityURL wins", func(c *Config) { c.TTL, c.IdentityURL = time.Minute, "/app/pf" }, User{Username: "a"}, "", `"identity":"/app/pf"`, nil},
		{"IdentityPath as configured", func(c *Config) { c.TTL, c.IdentityPath = time.Minute, "/api/pf" }, User{Username: "a"}, "", `"identity":"/api/pf"`, nil},
		{"no TTL, no renewal", nil, User{Username: "a"}, "", `"hmac":{"hash":"`, nil},
		{"nobody: the anonymous script", nil, User{Email: "ignored"}, "abc",
			`<script nonce="abc" data-productfruits="anonymous">` + anonymousScript + `</script>`, nil},
		{"hostile nonce", nil, User{Username: "a"}, `x"><script>`, "", errAny},
		{"invalid UTF-8", nil, User{Username: "a\xff"}, "", "", ErrInvalidUsername},
		{"unencodable props", nil, User{Username: "a", Props: map[string]any{"f": func() {}}}, "", "", errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMiddleware(t, tt.mod)
			s, err := m.ScriptFor(tt.user, tt.nonce)
			switch tt.wantErr {
			case nil:
				require.NoError(t, err)
				assert.Contains(t, string(s), tt.want)
				if tt.mod == nil {
					assert.NotContains(t, string(s), `"identity"`)
				}
			case errAny:
				assert.Error(t, err)
				assert.Empty(t, s)
			default:
				assert.ErrorIs(t, err, tt.wantErr)
				assert.Empty(t, s)
			}
			if err != nil {
				assert.NotContains(t, err.Error(), testSecret)
			}
		})
	}
}

// errAny stands for any error in a table.
var errAny = errors.New("any error")
