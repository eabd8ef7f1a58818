package productfruits

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Config)
		field string
	}{
		{"empty workspace", func(c *Config) { c.WorkspaceCode = "" }, "WorkspaceCode"},
		{"workspace with quote", func(c *Config) { c.WorkspaceCode = `ab"c` }, "WorkspaceCode"},
		{"workspace with space", func(c *Config) { c.WorkspaceCode = "ab c" }, "WorkspaceCode"},
		{"workspace non-ASCII", func(c *Config) { c.WorkspaceCode = "kůň" }, "WorkspaceCode"},
		{"empty secret", func(c *Config) { c.Secret = NewSecret("") }, "Secret"},
		{"secret with a trailing newline", func(c *Config) { c.Secret = NewSecret(testSecret + "\n") }, "Secret"},
		{"secret with a leading space", func(c *Config) { c.Secret = NewSecret(" " + testSecret) }, "Secret"},
		{"secret with a trailing CR LF", func(c *Config) { c.Secret = NewSecret(testSecret + "\r\n") }, "Secret"},
		{"language three letters", func(c *Config) { c.Language = "eng" }, "Language"},
		{"language with region", func(c *Config) { c.Language = "en-US" }, "Language"},
		{"language digits", func(c *Config) { c.Language = "e1" }, "Language"},
		{"nil username", func(c *Config) { c.Username = nil }, "Username"},
		{"negative TTL", func(c *Config) { c.TTL = -time.Second }, "TTL"},
		{"relative script URL", func(c *Config) { c.ScriptURL = "/static/script.js" }, "ScriptURL"},
		{"javascript script URL", func(c *Config) { c.ScriptURL = "javascript:alert(1)" }, "ScriptURL"},
		{"ftp script URL", func(c *Config) { c.ScriptURL = "ftp://example.com/x.js" }, "ScriptURL"},
		{"script URL without host", func(c *Config) { c.ScriptURL = "https:///x.js" }, "ScriptURL"},
		{"identity path relative", func(c *Config) { c.IdentityPath = "identity" }, "IdentityPath"},
		{"identity path another host", func(c *Config) { c.IdentityPath = "//evil.example/x" }, "IdentityPath"},
		{"identity path with query", func(c *Config) { c.IdentityPath = "/x?y" }, "IdentityPath"},
		{"identity path with fragment", func(c *Config) { c.IdentityPath = "/x#y" }, "IdentityPath"},
		{"identity path with dot segments", func(c *Config) { c.IdentityPath = "/a/../x" }, "IdentityPath"},
		{"identity path ending in a dot segment", func(c *Config) { c.IdentityPath = "/a/." }, "IdentityPath"},
		{"identity path with an empty segment", func(c *Config) { c.IdentityPath = "/a//x" }, "IdentityPath"},
		{"identity path with a backslash", func(c *Config) { c.IdentityPath = "/a\\x" }, "IdentityPath"},
		{"identity path with a space", func(c *Config) { c.IdentityPath = "/a x" }, "IdentityPath"},
		{"identity URL absolute", func(c *Config) { c.IdentityURL = "https://example.com/x" }, "IdentityURL"},
		{"identity URL with dot segments", func(c *Config) { c.IdentityURL = "/app/./x" }, "IdentityURL"},
		{"TTL without an endpoint", func(c *Config) { c.TTL = time.Hour; c.IdentityPath = "-" }, "TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(testConfig(tt.mod))
			require.ErrorIs(t, err, ErrConfig)
			assert.Nil(t, m)
			assert.Contains(t, err.Error(), tt.field)
			assert.NotContains(t, err.Error(), testSecret)
		})
	}

	t.Run("defaults", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) { c.Language = "CS" })
		assert.Equal(t, "cs", m.language)
		assert.Equal(t, DefaultScriptURL, m.scriptURL)
		assert.Equal(t, DefaultIdentityPath, m.identityPath)
		m = newTestMiddleware(t, func(c *Config) { c.IdentityPath = "-" })
		assert.Empty(t, m.identityPath)
		m = newTestMiddleware(t, func(c *Config) {
			c.TTL, c.IdentityPath, c.IdentityURL = time.Hour, "-", "/me/pf-identity"
		})
		assert.Equal(t, "/me/pf-identity", m.identityURL, "TTL with a hand-mounted endpoint")
		m = newTestMiddleware(t, func(c *Config) { c.IdentityPath = "/api/pf/identity/" })
		assert.Equal(t, "/api/pf/identity/", m.identityPath, "a trailing slash is clean")
	})
}

func TestConfigInitOptions(t *testing.T) {
	m := newTestMiddleware(t, nil)
	assert.Nil(t, m.options, "none set: no fifth init element")
	cfg := testConfig(func(c *Config) {
		c.Options = InitOptions{DisableBannersAutoMargin: true, HideInAppCenterLauncher: true}
		c.LanguageFunc = func(*http.Request) string { return "" }
		c.Skip = func(*http.Request) bool { return false }
	})
	m, err := New(cfg)
	require.NoError(t, err)
	assert.JSONEq(t, `{"disableBannersAutoMargin":true,"hideInAppCenterLauncher":true}`, string(m.options), "only the options that are set")
	assert.Contains(t, fmt.Sprint(cfg), "DisableBannersAutoMargin:true", "a printed Config shows its options")
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"Options":{"disableBannersAutoMargin":true,"hideInAppCenterLauncher":true}`)
}
