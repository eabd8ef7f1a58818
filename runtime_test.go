package productfruits

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// getRuntime requests path from h (GET unless method says otherwise).
func getRuntime(h http.Handler, method, path string, hdr http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	maps.Copy(req.Header, hdr)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRuntimeEndpoint(t *testing.T) {
	m := newTestMiddleware(t, func(c *Config) {
		c.ScriptURL = runtimeLoader
		c.Inject = true
		// The runtime is served before Skip is asked, as the endpoint is.
		c.Skip = func(*http.Request) bool { return true }
	})
	var reached []string
	app := withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = append(reached, r.URL.Path)
		http.NotFound(w, r)
	})))
	path := m.RuntimePath()
	require.Regexp(t, `^/productfruits/identity/lifecycle\.[0-9a-f]{12}\.js$`, path)

	t.Run("GET: the runtime, cacheable for a year", func(t *testing.T) {
		rec := getRuntime(app, "GET", path, nil)
		require.Equal(t, http.StatusOK, rec.Code)
		h := rec.Header()
		assert.Equal(t, "text/javascript; charset=utf-8", h.Get("Content-Type"))
		assert.Equal(t, "public, max-age=31536000, immutable", h.Get("Cache-Control"))
		assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
		assert.Equal(t, strconv.Itoa(len(m.runtime.js)), h.Get("Content-Length"))
		assert.Empty(t, h.Get("Vary"), "the same bytes for everyone")
		assert.Empty(t, h.Values("Set-Cookie"))
		body := rec.Body.String()
		assert.Equal(t, string(m.runtime.js), body)
		assert.Contains(t, body, `"`+runtimeLoader+`"`, "the runtime appends this Middleware's loader")
		sum := sha256.Sum256(rec.Body.Bytes())
		version := hex.EncodeToString(sum[:])[:12]
		assert.Equal(t, "/productfruits/identity/lifecycle."+version+".js", path, "the file name is the served bytes' hash")
		assert.Equal(t, `"`+version+`"`, h.Get("ETag"))

		rec = getRuntime(app, "GET", path, http.Header{"If-None-Match": {h.Get("ETag")}})
		assert.Equal(t, http.StatusNotModified, rec.Code)
		assert.Empty(t, rec.Body.String())
	})
	t.Run("HEAD: the headers, no body", func(t *testing.T) {
		rec := getRuntime(app, "HEAD", path, nil)
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"))
		assert.Equal(t, strconv.Itoa(len(m.runtime.js)), rec.Header().Get("Content-Length"))
		assert.Empty(t, rec.Body.String())
	})
	t.Run("other methods: 405 with Allow", func(t *testing.T) {
		for _, method := range []string{"POST", "PUT", "DELETE", "OPTIONS"} {
			rec := getRuntime(app, method, path, nil)
			assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, method)
			assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"), method)
			assert.NotEqual(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"), method)
		}
	})
	t.Run("another version reaches the app", func(t *testing.T) {
		// Never today's bytes under a URL that promised other bytes
		// forever.
		reached = nil
		others := []string{
			"/productfruits/identity/lifecycle.000000000000.js",
			"/productfruits/identity/lifecycle.js",
			path + "x",
			"/x" + path,
		}
		for _, p := range others {
			rec := getRuntime(app, "GET", p, nil)
			assert.Equal(t, http.StatusNotFound, rec.Code, p)
		}
		assert.Equal(t, others, reached)
	})
	t.Run("under a stripped prefix, where the page fetches it", func(t *testing.T) {
		m := newTestMiddleware(t, nil)
		var page string
		h := http.StripPrefix("/app", withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			page = string(TemplateScript(r))
		}))))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/app/page", nil))
		require.Contains(t, page, `src="/app`+m.RuntimePath()+`"`)
		rec := getRuntime(h, "GET", "/app"+m.RuntimePath(), nil)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, string(m.runtime.js), rec.Body.String())
	})
	t.Run("switched off: nothing served", func(t *testing.T) {
		off := newTestMiddleware(t, func(c *Config) { c.IdentityPath = "-" })
		reached := false
		h := off.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
		getRuntime(h, "GET", "/productfruits/identity"+off.runtime.file, nil)
		assert.True(t, reached)
		assert.Empty(t, off.RuntimePath(), "no URL: pages carry it inline")
	})
}

func TestRuntimeVersion(t *testing.T) {
	a := newTestMiddleware(t, nil)
	b := newTestMiddleware(t, func(c *Config) { c.Secret, c.WorkspaceCode, c.TTL = NewSecret("other"), "other", time.Hour })
	c := newTestMiddleware(t, func(c *Config) { c.ScriptURL = runtimeLoader })
	assert.Equal(t, a.runtime.file, b.runtime.file, "instances with the same loader serve the same runtime at the same URL")
	assert.Equal(t, a.runtime.js, b.runtime.js)
	assert.NotEqual(t, a.runtime.file, c.runtime.file, "another loader, other bytes: another URL")
	assert.Contains(t, string(a.runtime.js), `"`+DefaultScriptURL+`"`)
}

func TestRuntimePath(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string // V stands for the version
	}{
		{"default", nil, "/productfruits/identity/lifecycle.V.js"},
		{"IdentityPath", func(c *Config) { c.IdentityPath = "/api/pf" }, "/api/pf/lifecycle.V.js"},
		{"IdentityPath and IdentityURL: the handler's path", func(c *Config) { c.IdentityPath, c.IdentityURL = "/api/pf", "/proxy/pf" }, "/api/pf/lifecycle.V.js"},
		{"switched off, IdentityURL", func(c *Config) { c.IdentityPath, c.IdentityURL = "-", "/me/pf" }, "/me/pf/lifecycle.V.js"},
		{"switched off: inline", func(c *Config) { c.IdentityPath = "-" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMiddleware(t, tt.mod)
			assert.Equal(t, strings.Replace(tt.want, "/lifecycle.V.js", m.runtime.file, 1), m.RuntimePath())
		})
	}
}

func TestLifecycleScriptIsInert(t *testing.T) {
	assert.Equal(t, 1, strings.Count(lifecycleJS, loaderPlaceholder), "lifecycle.js names the loader URL once")
	assert.NotContains(t, lifecycleJS, "//", "a comment line survived compaction (or a URL crept in)")
	// The runtime as served and inlined, with a loader URL that tries
	// everything.
	m := newTestMiddleware(t, func(c *Config) { c.ScriptURL = "https://cdn.example.com/a//b?x=<!--]]></script>&y=\u2028" })
	js := string(m.runtime.js)
	assert.NotContains(t, js, loaderPlaceholder)
	for i := 0; i < len(js); i++ {
		require.Less(t, js[i], byte(0x80), "non-ASCII byte at %d", i)
	}
	assert.NotContains(t, js, "</")
	assert.NotContains(t, js, "<!--")
	assert.NotContains(t, js, "]]>", "it sits in a CDATA section in XHTML pages")
	for i := 0; i+1 < len(js); i++ {
		// A browser's encoding prescan would read "<x" as a tag and skip
		// to its '>', across the page's own <meta charset>.
		if c := js[i+1]; js[i] == '<' {
			require.Contains(t, " =", string(c), "%q at %d", js[i:i+2], i)
		}
	}
}

// runtimeLoader is the loader URL the runtime under test appends.
const runtimeLoader = "https://cdn.example.com/pf/script.js"

// TestLifecycleRuntime runs the runtime exactly as the middleware serves
// it in node, in a fake browser with a fake product that follows the
// product's documented queue, readiness, identifyUser and destroy
// behaviour (testdata/lifecycle.test.js holds the cases: idempotent
// executions, the loader appended once after the init, a runtime arriving
// after several pushes, user switch, logout, renewal, clamped timers,
// cached pages, failures).
func TestLifecycleRuntime(t *testing.T) {
	m := newTestMiddleware(t, func(c *Config) { c.ScriptURL = runtimeLoader })
	cmd := exec.Command(lookNode(t), "testdata/lifecycle.test.js", runtimeLoader)
	cmd.Stdin = bytes.NewReader(m.runtime.js)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("%s", out)
}
