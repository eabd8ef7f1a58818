package productfruits

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPolicyBlocks(t *testing.T) {
	for _, tt := range []struct {
		policy, nonce string
		blocks        bool
	}{
		{"script-src 'nonce-abc'", "abc", false},
		{"script-src 'nonce-abc'", "", true},
		{"script-src 'nonce-abc'", "xyz", true},
		{"script-src 'sha256-AAAA'", "", true},
		{"script-src 'unsafe-inline'", "", false},
		{"script-src 'unsafe-inline' 'sha256-AAAA'", "", true},
		{"script-src 'unsafe-inline' 'strict-dynamic'", "", true},
		{"default-src 'self'", "", true},
		{"default-src 'self'; script-src 'unsafe-inline'", "", false},
		{"script-src 'unsafe-inline'; script-src-elem 'nonce-q'", "", true},
		{"script-src-elem 'nonce-q'", "q", false},
		{"img-src *", "", false},
		{"", "", false},
	} {
		_, blocks := policyBlocks([]string{tt.policy}, tt.nonce)
		assert.Equal(t, tt.blocks, blocks, "%q with nonce %q", tt.policy, tt.nonce)
	}
}

func TestRequiresTrustedTypes(t *testing.T) {
	assert.True(t, requiresTrustedTypes([]string{"require-trusted-types-for 'script'; trusted-types app"}))
	assert.True(t, requiresTrustedTypes([]string{"default-src 'self'", "REQUIRE-TRUSTED-TYPES-FOR 'script'"}))
	assert.False(t, requiresTrustedTypes([]string{"trusted-types app"}))
	assert.False(t, requiresTrustedTypes(nil))
}

// servePolicyPage injects alice's snippet into a page whose CSP header is
// policy ("" for none) and whose head holds meta.
func servePolicyPage(t *testing.T, m *Middleware, policy, meta string) string {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if policy != "" {
			w.Header().Set("Content-Security-Policy", policy)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><html><head>" + meta + "<title>t</title></head><body>x</body></html>"))
	})
	got := newRecWriter()
	withUser("alice", m.Handler(h)).ServeHTTP(got, httptest.NewRequest("GET", "/", nil))
	_, _, body := got.result()
	return body
}

func TestSnippetNonceSources(t *testing.T) {
	inject := func(c *Config) { c.Inject = true }
	t.Run("Config.Nonce answering empty falls back to the header", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) {
			inject(c)
			c.Nonce = func(*http.Request) string { return "" }
		})
		body := servePolicyPage(t, m, "script-src 'nonce-hdr1'", "")
		assert.Equal(t, 3, strings.Count(body, `nonce="hdr1"`), body)
	})
	t.Run("a <meta> policy before the snippet", func(t *testing.T) {
		m := newTestMiddleware(t, inject)
		for _, meta := range []string{
			`<meta http-equiv="Content-Security-Policy" content="script-src 'nonce-xyz'">`,
			`<META HTTP-EQUIV=content-security-policy CONTENT="default-src 'self'; script-src &#39;nonce-xyz&#39;">`,
		} {
			body := servePolicyPage(t, m, "", meta)
			assert.Equal(t, 3, strings.Count(body, `nonce="xyz"`), body)
		}
	})
	t.Run("the header's nonce wins over a meta's", func(t *testing.T) {
		m := newTestMiddleware(t, inject)
		body := servePolicyPage(t, m, "script-src 'nonce-hdr2'", `<meta http-equiv="Content-Security-Policy" content="script-src 'nonce-meta'">`)
		assert.Equal(t, 3, strings.Count(body, `nonce="hdr2"`), body)
	})
}

func TestPolicyThatBlocksWarnsOnce(t *testing.T) {
	var logs logBuffer
	m := newTestMiddleware(t, func(c *Config) {
		c.Inject = true
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for range 3 {
		servePolicyPage(t, m, "script-src 'self' 'sha256-AAAA'", "")
	}
	require.Equal(t, 1, strings.Count(logs.String(), "\n"), logs.String())
	assert.Contains(t, logs.String(), "Content-Security-Policy")
	assert.Contains(t, logs.String(), "Config.Nonce")

	var quiet logBuffer
	m = newTestMiddleware(t, func(c *Config) {
		c.Inject = true
		c.Logger = slog.New(slog.NewTextHandler(&quiet, nil))
	})
	servePolicyPage(t, m, "script-src 'nonce-ok'", "")
	servePolicyPage(t, m, "default-src 'self' 'unsafe-inline'", "")
	assert.Empty(t, quiet.String(), "policies that let the snippet run say nothing")
}

func TestTrustedTypesTemplate(t *testing.T) {
	m := newTestMiddleware(t, func(c *Config) { c.Inject = true })
	body := servePolicyPage(t, m, "script-src 'nonce-tt'; require-trusted-types-for 'script'; trusted-types app", "")
	assert.Contains(t, body, `<template data-productfruits="loader"><script async="" src="`+DefaultScriptURL+`" nonce="tt" data-productfruits=""></script></template><script async="" fetchpriority="high" src="/productfruits/identity/lifecycle.`, "the template goes before the runtime, which may run before the parser reaches what follows it")
	body = servePolicyPage(t, m, "", `<meta http-equiv="Content-Security-Policy" content="require-trusted-types-for 'script'">`)
	assert.Contains(t, body, `<template data-productfruits="loader">`, "a <meta> policy asks for it too")
	body = servePolicyPage(t, m, "script-src 'nonce-tt'", "")
	assert.NotContains(t, body, "<template", "only pages that require Trusted Types")

	inline := newTestMiddleware(t, func(c *Config) {
		c.Inject = true
		c.IdentityPath = "-"
	})
	body = servePolicyPage(t, inline, "script-src 'nonce-tt'; require-trusted-types-for 'script'", "")
	tpl, rt := strings.Index(body, `<template data-productfruits="loader">`), strings.Index(body, "(function (w, d, LOADER)")
	assert.True(t, tpl >= 0 && rt > tpl, "the inline runtime runs where it is parsed: the template must be there before it: %s", body)
}

// TestSandboxedResponse: a response whose policy sandboxes it (a user's
// upload in an opaque origin) gets no snippet and no signed user object,
// injected or placed by the page.
func TestSandboxedResponse(t *testing.T) {
	for _, policy := range []string{"sandbox allow-scripts", "default-src 'self'; SANDBOX"} {
		m := newTestMiddleware(t, func(c *Config) { c.Inject = true })
		body := servePolicyPage(t, m, policy, "")
		assert.NotContains(t, body, "data-productfruits", policy)
		assert.NotContains(t, body, "hmac")

		m = newTestMiddleware(t, nil)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["content-security-policy"] = []string{policy}
			_, _ = w.Write([]byte("<head>" + string(TemplateScript(r)) + "</head>"))
		})
		got := newRecWriter()
		withUser("alice", m.Handler(h)).ServeHTTP(got, httptest.NewRequest("GET", "/", nil))
		_, _, body = got.result()
		assert.Equal(t, "<head></head>", body, policy)
	}
	m := newTestMiddleware(t, func(c *Config) { c.Inject = true })
	assert.Contains(t, servePolicyPage(t, m, "default-src 'self'; report-uri /sandbox-reports", ""), "data-productfruits",
		"a directive only named like it changes nothing")
}
