package compat

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/pfverify/productfruits"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/unrolled/secure"
)

// scriptNonce finds the nonce a policy's script-src allows.
var scriptNonce = regexp.MustCompile(`script-src[^;]*'nonce-([^']+)'`)

// nonceEverywhere asserts that every script element of the snippet
// carries nonce.
func nonceEverywhere(t *testing.T, page []byte, nonce string) {
	t.Helper()
	scripts, _ := snippetScripts(page)
	require.NotEmpty(t, scripts)
	for _, s := range scripts {
		assert.Equal(t, nonce, s.attrs["nonce"], "nonce of snippet script %v", s.attrs)
	}
}

// TestCSP: the snippet runs under the page's Content-Security-Policy: its
// scripts carry the nonce the policy allows, wherever the policy comes
// from; a policy no nonce can satisfy is reported once.
func TestCSP(t *testing.T) {
	page := htmlPage(1024)
	emptyNonce := func(c *productfruits.Config) { c.Nonce = func(*http.Request) string { return "" } }
	sec := secure.New(secure.Options{ContentSecurityPolicy: "script-src $NONCE"})
	tests := []struct {
		name   string
		config []func(*productfruits.Config)
		app    func(pf *productfruits.Middleware) http.Handler
	}{
		{
			name: "secure/outside",
			app:  func(pf *productfruits.Middleware) http.Handler { return sec.Handler(pf.Handler(htmlHandler(page))) },
		},
		{
			name: "secure/inside",
			app:  func(pf *productfruits.Middleware) http.Handler { return pf.Handler(sec.Handler(htmlHandler(page))) },
		},
		{
			name:   "secure/outside/Nonce-returns-empty",
			config: []func(*productfruits.Config){emptyNonce},
			app:    func(pf *productfruits.Middleware) http.Handler { return sec.Handler(pf.Handler(htmlHandler(page))) },
		},
		{
			name:   "secure/inside/Nonce-returns-empty",
			config: []func(*productfruits.Config){emptyNonce},
			app:    func(pf *productfruits.Middleware) http.Handler { return pf.Handler(sec.Handler(htmlHandler(page))) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pf, _ := newPF(t, tt.config...)
			srv := serve(t, tt.app(pf))
			for range 3 {
				r := get(t, srv.URL+"/", req{user: testUser})
				require.Equal(t, http.StatusOK, r.resp.StatusCode)
				m := scriptNonce.FindStringSubmatch(r.resp.Header.Get("Content-Security-Policy"))
				require.NotNil(t, m, "the response's policy allows a nonce: %q", r.resp.Header.Get("Content-Security-Policy"))
				snippetOnce(t, r.body, testUser)
				nonceEverywhere(t, r.body, m[1])
			}
		})
	}

	t.Run("meta", func(t *testing.T) {
		const meta = "<!DOCTYPE html><html><head>" +
			`<meta http-equiv="Content-Security-Policy" content="script-src 'nonce-xyz'">` +
			"<title>meta</title></head><body><p>policy in the page</p></body></html>"
		pf, _ := newPF(t)
		srv := serve(t, pf.Handler(htmlHandler(meta)))
		r := get(t, srv.URL+"/", req{user: testUser})
		require.Equal(t, http.StatusOK, r.resp.StatusCode)
		assert.Empty(t, r.resp.Header.Get("Content-Security-Policy"))
		snippetOnce(t, r.body, testUser)
		nonceEverywhere(t, r.body, "xyz")
	})

	t.Run("hash-only", func(t *testing.T) {
		const policy = "script-src 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
		pf, logs := newPF(t)
		srv := serve(t, pf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", policy)
			htmlHandler(page).ServeHTTP(w, r)
		})))
		for range 3 {
			r := get(t, srv.URL+"/", req{user: testUser})
			require.Equal(t, http.StatusOK, r.resp.StatusCode)
		}
		warnedOnce(t, logs, "Content-Security-Policy")
	})
}
