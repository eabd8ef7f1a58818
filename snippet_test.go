package productfruits

import (
	"context"
	"errors"
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
			assert.Equal(t, 3, strings.Count(s, `nonce="`+tt.want+`"`), s) // the loader's preload, the data push, the runtime
		})
	}
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
	out, err := m.appendSnippet(prefix, r, st, http.Header{}, nil)
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
		assert.Empty(t, d.Identity, "the runtime reads the endpoint off its own URL")
		assert.Equal(t, int64(time.Hour/time.Millisecond), d.TTL)
		assert.Equal(t, 3, strings.Count(string(s), `nonce="n0nce"`))
		assert.Contains(t, string(s), `<script async="" fetchpriority="high" src="`+m.RuntimePath()+`" nonce="n0nce" data-productfruits=""></script>`)
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
		{"IdentityURL wins", func(c *Config) { c.TTL, c.IdentityURL = time.Minute, "/app/pf" }, User{Username: "a"}, "", `src="/app/pf/lifecycle.`, nil},
		{"the runtime under IdentityURL", func(c *Config) { c.IdentityURL = "/app/pf" }, User{Username: "a"}, "", `src="/app/pf/lifecycle.`, nil},
		{"IdentityPath as configured", func(c *Config) { c.TTL, c.IdentityPath = time.Minute, "/api/pf" }, User{Username: "a"}, "", `src="/api/pf/lifecycle.`, nil},
		{"the runtime under IdentityPath", func(c *Config) { c.IdentityPath = "/api/pf" }, User{Username: "a"}, "", `src="/api/pf/lifecycle.`, nil},
		{"no endpoint: the runtime inline", func(c *Config) { c.IdentityPath = "-" }, User{Username: "a"}, "", "//]]></script><script data-productfruits=\"\">//<![CDATA[\n(function (w, d, LOADER) {", nil},
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
				assert.NotContains(t, string(s), `"identity"`, "the runtime reads the endpoint off its own URL")
				if tt.mod == nil && tt.user.Username != "" {
					assert.Contains(t, string(s), `src="/productfruits/identity/lifecycle.`)
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

// TestSnippetMarkup pins the snippet's markup as the browser gets it: the
// page data script, then the runtime loaded from the middleware (at the
// URL the browser knows) or, when it has none, inline; the nonce on both
// elements; attributes with values and CDATA markers as JavaScript
// comments, so that XHTML pages take it too.
func TestSnippetMarkup(t *testing.T) {
	const user = `{"username":"alice","hmac":{"hash":"`
	tests := []struct {
		name   string
		mod    func(*Config)
		prefix string // stripped before the middleware, as by http.StripPrefix
		nonce  string
		data   string // the page data after the user object
		src    string // the runtime's URL; "" for the inline runtime
	}{
		{"default", nil, "", "", "", "/productfruits/identity/lifecycle.V.js"},
		{"nonce", nil, "", "abc+/=", "", "/productfruits/identity/lifecycle.V.js"},
		{"TTL under a stripped prefix", func(c *Config) { c.TTL = time.Hour }, "/app", "n1",
			`,"ttl":3600000`, "/app/productfruits/identity/lifecycle.V.js"},
		{"no TTL under a stripped prefix", nil, "/app", "", "", "/app/productfruits/identity/lifecycle.V.js"},
		{"custom IdentityPath", func(c *Config) { c.IdentityPath = "/api/pf" }, "", "", "", "/api/pf/lifecycle.V.js"},
		{"IdentityURL, whatever was stripped", func(c *Config) { c.IdentityURL = "/proxied/pf" }, "/app", "",
			"", "/proxied/pf/lifecycle.V.js"},
		{"endpoint off, IdentityURL", func(c *Config) { c.IdentityPath, c.IdentityURL, c.TTL = "-", "/me/pf", time.Minute }, "/app", "",
			`,"ttl":60000`, "/me/pf/lifecycle.V.js"},
		{"path escaped for the attribute", func(c *Config) { c.IdentityPath = `/a&b"c` }, "", "", "", "/a&amp;b&#34;c/lifecycle.V.js"},
		{"no endpoint: inline", func(c *Config) { c.IdentityPath = "-" }, "/app", "n2", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMiddleware(t, tt.mod)
			var s string
			h := withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.nonce != "" {
					w.Header().Set("Content-Security-Policy", "script-src 'nonce-"+tt.nonce+"'")
				}
				s = string(TemplateScript(r))
			})))
			if tt.prefix != "" {
				h = http.StripPrefix(tt.prefix, h)
			}
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", tt.prefix+"/page", nil))

			nonceAttr := ""
			if tt.nonce != "" {
				nonceAttr = `nonce="` + tt.nonce + `" `
			}
			head := `<link rel="preload" as="script" href="` + DefaultScriptURL + `"` + strings.TrimSuffix(" "+nonceAttr, " ") + `/>` +
				`<script ` + nonceAttr + `data-productfruits="">//<![CDATA[` + "\n" + pushData + `{"workspace":"ws_Code-1","language":"en","user":` + user
			require.True(t, strings.HasPrefix(s, head), "%s", s)
			_, rest, ok := strings.Cut(s, `"}}`)
			require.True(t, ok, "%s", s)
			runtime := `<script async="" fetchpriority="high" src="` + strings.Replace(tt.src, "lifecycle.V.js", m.runtime.file[1:], 1) + `" ` + nonceAttr + `data-productfruits=""></script>`
			if tt.src == "" {
				runtime = `<script ` + nonceAttr + `data-productfruits="">//<![CDATA[` + "\n" + string(m.runtime.js) + "\n//]]></script>"
			}
			assert.Equal(t, tt.data+"});\n//]]></script>"+runtime, rest)
			if tt.src != "" && tt.prefix == "" && !strings.Contains(tt.src, "&") {
				assert.Equal(t, tt.src[:len(tt.src)-len("lifecycle.V.js")]+m.runtime.file[1:], m.RuntimePath(), "the page fetches it where RuntimePath says")
			}
		})
	}
}

// TestSnippetSize holds the per-page snippet to 700 bytes besides the user
// object in the worst case it builds: a 30-day TTL, a stripped prefix,
// all four init options and a 256-bit nonce (44 characters of base64),
// which the preload, the data push and the runtime's element each carry.
// It logs the smaller cases docs/lifecycle.md quotes. The runtime is not in it:
// the browser caches that once.
func TestSnippetSize(t *testing.T) {
	const budget = 700
	for _, tt := range []struct {
		name, nonce string
		ttl         time.Duration
		options     InitOptions
		worst       bool
	}{
		{name: "no nonce, no TTL"},
		{name: "a 24-character nonce and a TTL", nonce: strings.Repeat("N", 24), ttl: time.Hour},
		{name: "a 44-character nonce, a 30-day TTL, every init option", nonce: strings.Repeat("N", 44), ttl: 30 * 24 * time.Hour, options: InitOptions{true, true, true, true}, worst: true},
	} {
		m := newTestMiddleware(t, func(c *Config) {
			c.TTL = tt.ttl
			c.Options = tt.options
		})
		var s string
		var user []byte
		http.StripPrefix("/app", withUser("alice@example.com", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tt.nonce != "" {
				w.Header().Set("Content-Security-Policy", "script-src 'nonce-"+tt.nonce+"'")
			}
			st := stateFrom(r.Context())
			var err error
			user, err = appendSignedUser(nil, &st.user, &st.sig)
			require.NoError(t, err)
			s = string(TemplateScript(r))
		})))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/app/reports/1", nil))
		require.Contains(t, s, string(user))
		require.Contains(t, s, `src="/app/productfruits/identity/lifecycle.`)
		require.Contains(t, s, `<link rel="preload" as="script" href="`+DefaultScriptURL+`"`)
		t.Logf("%s, a prefix: snippet %d bytes: user object %d, the rest %d", tt.name, len(s), len(user), len(s)-len(user))
		if tt.worst {
			t.Logf("budget %d; the runtime, cached, %d", budget, len(m.runtime.js))
			assert.LessOrEqual(t, len(s)-len(user), budget, "%s", s)
		}
	}
}

// TestSnippetPreload checks the loader's preload: on a user's page only,
// first in the snippet, with the nonce and the URL of the element the
// runtime appends or clones from the Trusted Types template, and no
// crossorigin on either (a mismatch in CORS mode would fetch the loader
// twice).
func TestSnippetPreload(t *testing.T) {
	m := newTestMiddleware(t, nil)
	r := httptest.NewRequest("GET", "/", nil)
	preload := `<link rel="preload" as="script" href="` + DefaultScriptURL + `" nonce="n0"/>`
	t.Run("a user's page", func(t *testing.T) {
		s := renderSnippet(t, m, r, "alice", http.Header{"Content-Security-Policy": {"script-src 'nonce-n0' 'strict-dynamic'"}})
		assert.True(t, strings.HasPrefix(s, preload+`<script nonce="n0" `), s)
		assert.Equal(t, 1, strings.Count(s, "<link"), s)
		assert.NotContains(t, s, "crossorigin")
	})
	t.Run("Trusted Types: the template's loader has the preload's URL and nonce", func(t *testing.T) {
		s := renderSnippet(t, m, r, "alice", http.Header{"Content-Security-Policy": {"script-src 'nonce-n0'; require-trusted-types-for 'script'"}})
		assert.True(t, strings.HasPrefix(s, preload), s)
		assert.Contains(t, s, `<template data-productfruits="loader"><script async="" src="`+DefaultScriptURL+`" nonce="n0" data-productfruits=""></script></template>`)
		assert.NotContains(t, s, "crossorigin")
	})
	t.Run("an anonymous page has none", func(t *testing.T) {
		b, err := m.appendSnippet(nil, r, &requestState{m: m, anonymous: true}, http.Header{"Content-Security-Policy": {"script-src 'nonce-n0'"}}, nil)
		require.NoError(t, err)
		assert.Equal(t, `<script nonce="n0" data-productfruits="anonymous">`+anonymousScript+`</script>`, string(b))
	})
	t.Run("ScriptFor", func(t *testing.T) {
		s, err := m.ScriptFor(User{Username: "alice"}, "n0")
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(s), preload), s)
		s, err = m.ScriptFor(User{}, "n0")
		require.NoError(t, err)
		assert.NotContains(t, string(s), "<link")
	})
	t.Run("Config.NoPreload leaves it out, and nothing else", func(t *testing.T) {
		off := newTestMiddleware(t, func(c *Config) { c.NoPreload = true })
		h := http.Header{"Content-Security-Policy": {"script-src 'nonce-n0'; require-trusted-types-for 'script'"}}
		with, without := renderSnippet(t, m, r, "alice", h), renderSnippet(t, off, r, "alice", h)
		assert.Equal(t, strings.TrimPrefix(with, preload), without)
		assert.NotContains(t, without, "<link")
	})
}

func TestSnippetRenewal(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	m := newTestMiddleware(t, func(c *Config) { c.TTL = 10 * time.Second })
	s := renderSnippet(t, m, r, "a", http.Header{})
	d, _ := parsePageData(t, s)
	assert.Empty(t, d.Identity, "the runtime reads the endpoint off its own URL")
	assert.Equal(t, "/productfruits/identity", endpointFor(runtimeSrcOf(t, s)))
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
		s := renderSnippet(t, m, r, "a", http.Header{})
		assert.Equal(t, "/me/pf", endpointFor(runtimeSrcOf(t, s)))
	})
	t.Run("under a stripped prefix", func(t *testing.T) {
		var s string
		app := http.StripPrefix("/app", withUser("a", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s = string(TemplateScript(r))
		}))))
		app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/app/reports/1?x=/y", nil))
		assert.Equal(t, "/app/productfruits/identity", endpointFor(runtimeSrcOf(t, s)))

		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, httptest.NewRequest("GET", "/app/productfruits/identity", nil))
		assert.Equal(t, http.StatusOK, rec.Code, "the endpoint answers where the page fetches it")
	})
	t.Run("the loader URL is JSON-escaped into the runtime", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) { c.ScriptURL = "https://cdn.example.com/pf.js?a=1&b=\"2</script>" })
		assert.Contains(t, string(m.runtime.js), `"https://cdn.example.com/pf.js?a=1\u0026b=\"2\u003c/script\u003e"`)
		s := renderSnippet(t, m, r, "a", http.Header{})
		assert.Equal(t, 1, strings.Count(s, "cdn.example.com"), "the page carries the runtime's URL, and the loader's only in its preload")
		assert.Contains(t, s, `<link rel="preload" as="script" href="https://cdn.example.com/pf.js?a=1&amp;b=&#34;2&lt;/script&gt;"/>`)
	})
}
