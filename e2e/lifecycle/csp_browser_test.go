package lifecycle

import (
	"fmt"
	"html/template"
	"net/http"
	"testing"
	"time"

	"github.com/pfverify/productfruits/e2e/browser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPolicyBlocksDataScript: a page whose policy allows the runtime
// ('self') but gives the snippet's inline script no way to run (no nonce,
// no 'unsafe-inline'). The product cannot load there, and the browser says
// why once: the runtime finds no page data before it.
func TestPolicyBlocksDataScript(t *testing.T) {
	b := browser.Start(t)
	a := startLifecycleApp(t, lifecycleOptions{ttl: time.Hour, routes: func(a *lifecycleApp, pages *http.ServeMux) {
		pages.HandleFunc("GET /strict", func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", "script-src 'self'")
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "private, no-store")
			fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>strict</title><link rel="icon" href="data:,"></head><body><main id="page" data-page="/strict" data-user="%s"><h1>Strict</h1></main></body></html>`,
				template.HTMLEscapeString(a.users.User(r)))
		})
	}})
	tab, console := lifecycleTab(t, b)
	navigate(t, tab, a.url("/"))
	formLogin(t, tab, "alice")
	navigate(t, tab, a.url("/strict"))
	waitWarning(t, console, "data script did not run")
	warnings := console.Matching("productfruits:")
	require.Len(t, warnings, 1, "one warning: %q", warnings)
	assert.Contains(t, warnings[0], "Content-Security-Policy")
	assert.Contains(t, warnings[0], "pfhmac doctor "+a.url("/strict"))
	actions, err := evaluate[int](tab, `window.__lc.actions.length`)
	require.NoError(t, err)
	assert.Zero(t, actions, "nothing inited: the page's data never ran")
	assert.Empty(t, console.Exceptions())
}
