package main

import (
	"encoding/json"
	"encoding/pem"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var identityPath = productfruits.DefaultIdentityPath

func TestSPA(t *testing.T) {
	app := pftest.Start(t, newApp)
	do := func(t *testing.T, method, path string, header http.Header) (*http.Response, []byte) {
		t.Helper()
		req := app.NewRequest(t, method, path)
		maps.Copy(req.Header, header)
		return app.Do(t, req)
	}

	t.Run("static files and config", func(t *testing.T) {
		res, body := do(t, http.MethodGet, "/", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, string(body), `<script src="/app.js"`)
		assert.NotContains(t, string(body), "hmac")
		res, body = do(t, http.MethodGet, "/app.js", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, res.Header.Get("Content-Type"), "javascript")
		assert.Contains(t, string(body), identityPath)
		res, body = do(t, http.MethodGet, "/config.json", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.JSONEq(t, `{"workspaceCode":"test-workspace","language":"en","renewAfterMs":2880000}`, string(body))
	})

	t.Run("anonymous", func(t *testing.T) {
		for _, path := range []string{identityPath, identityPath + "?username=jane.doe@example.com"} {
			res, body := do(t, http.MethodGet, path, http.Header{"X-Username": {"jane.doe@example.com"}})
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode, path)
			assert.Equal(t, "application/json", res.Header.Get("Content-Type"), path)
			assert.True(t, json.Valid(body), path)
			assert.NotContains(t, string(body), "hmac", path)
		}
	})

	app.Login(t, "jane.doe@example.com")

	for _, tc := range []struct {
		name   string
		path   string
		header http.Header
	}{
		{"plain", identityPath, nil},
		{"username in the query", identityPath + "?username=other", nil},
		{"username headers", identityPath, http.Header{
			"X-Username": {"other"}, "X-Forwarded-User": {"other"}, "X-Remote-User": {"other"},
		}},
		{"basic auth", identityPath, http.Header{"Authorization": {"Basic b3RoZXI6b3RoZXI="}}}, // other:other
	} {
		t.Run("identity/"+tc.name, func(t *testing.T) {
			res, body := do(t, http.MethodGet, tc.path, tc.header)
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
			user := pftest.DecodeUser(t, body)
			pftest.VerifyUser(t, app.Signer, user, "jane.doe@example.com") // whom it signed for
			pftest.VerifyExpiration(t, user, ttl)
		})
	}

	t.Run("identity/POST", func(t *testing.T) {
		res, body := do(t, http.MethodPost, identityPath, nil)
		assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
		assert.Equal(t, "GET, HEAD", res.Header.Get("Allow"))
		assert.True(t, json.Valid(body))
		assert.NotContains(t, string(body), "hmac")
	})

	t.Run("app.js in node", func(t *testing.T) {
		node, err := exec.LookPath("node")
		if err != nil {
			t.Skip("node not installed")
		}
		// app.js runs against the live server, with a stand-in for the
		// browser's window and document, and reports what it queued.
		dir := t.TempDir()
		ca := filepath.Join(dir, "ca.pem")
		require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: app.Certificate().Raw}), 0o600))
		var cookies []string
		for _, c := range pftest.Cookies(t, app.Client, app.URL) {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
		cmd := exec.Command(node, "-e", nodeHarness)
		cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+ca, "BASE="+app.URL, "COOKIE="+strings.Join(cookies, "; "))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		require.NoError(t, err)

		var got struct {
			Queue   []json.RawMessage
			ScrV    string
			Loaders []struct{ Src string }
		}
		require.NoError(t, json.Unmarshal(out, &got), "%s", out)
		assert.Equal(t, "2", got.ScrV)
		require.Len(t, got.Loaders, 1)
		assert.Equal(t, productfruits.DefaultScriptURL, got.Loaders[0].Src)
		require.Len(t, got.Queue, 1)
		var call []json.RawMessage
		require.NoError(t, json.Unmarshal(got.Queue[0], &call))
		require.Len(t, call, 4)
		assert.JSONEq(t, `"init"`, string(call[0]))
		assert.JSONEq(t, `"test-workspace"`, string(call[1]))
		assert.JSONEq(t, `"en"`, string(call[2]))
		pftest.VerifyUser(t, app.Signer, pftest.DecodeUser(t, call[3]), "jane.doe@example.com")
	})
}

// nodeHarness runs app.js with fetch bound to the test server and the
// session cookie, and prints the Product Fruits queue it leaves behind.
const nodeHarness = `
const fs = require('fs'), vm = require('vm');
globalThis.window = globalThis;
const loaders = [];
globalThis.document = { createElement: () => ({}), head: { appendChild: (el) => loaders.push(el) } };
const realFetch = fetch;
globalThis.fetch = (path, opts = {}) =>
  realFetch(process.env.BASE + path, { ...opts, headers: { ...opts.headers, cookie: process.env.COOKIE } });
globalThis.setInterval = () => 0;
vm.runInThisContext(fs.readFileSync('app.js', 'utf8'), { filename: 'app.js' });
const started = Date.now();
(function wait() {
  if (window.$productFruits || Date.now() - started > 5000) {
    console.log(JSON.stringify({ queue: window.$productFruits || [], scrV: (window.productFruits || {}).scrV, loaders }));
    return;
  }
  setTimeout(wait, 10);
})();
`
