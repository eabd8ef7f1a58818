package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/browser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The wirings an app may put around the middleware that the lifecycle
// runtime must survive, in Chromium: a login wall in front of the
// identity endpoint, a <base href> pointing at another server, and a
// Content-Security-Policy that requires Trusted Types.

// runtimeWarnings returns the runtime's console.warn calls recorded so far
// whose text contains substr.
func runtimeWarnings(console *browser.Console, substr string) []string {
	var out []string
	for _, m := range console.Messages() {
		if m.Type == chromedp.ConsoleWarning && strings.HasPrefix(m.Text, "productfruits:") && strings.Contains(m.Text, substr) {
			out = append(out, m.Text)
		}
	}
	return out
}

// waitWarning waits until the runtime has warned with substr.
func waitWarning(t *testing.T, console *browser.Console, substr string) {
	t.Helper()
	deadline := time.Now().Add(pollTimeout)
	for time.Now().Before(deadline) {
		if len(runtimeWarnings(console, substr)) > 0 {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("no console.warn with %q; the console holds %q", substr, console.Matching(""))
}

// loginWall is the app's own authentication in front of everything the
// middleware serves, as apps put it: once closed (the session expired on
// the server), every request gets the wall's answer, the identity
// endpoint's too.
type loginWall struct {
	closed atomic.Bool
	answer http.HandlerFunc
}

func (l *loginWall) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.closed.Load() {
			l.answer(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loginPagePath is where the wall sends the browser; no test page links
// there, so a request for it is a redirect followed.
const loginPagePath = "/login-page"

const loginPageHTML = `<!doctype html><html><head><title>Sign in</title></head><body><form method="post" action="/login"><input name="username"></form></body></html>`

// TestLoginWall closes a login wall in front of the identity endpoint
// while a page with a short TTL runs the product: the renewal's answer
// (a 302 to the login page, the login page itself, or a JSON-typed answer
// whose body does not parse) must be taken as signed out, as a 401 is:
// the product destroyed, renewal stopped, one warning naming what came
// back and the endpoint, the redirect not followed.
func TestLoginWall(t *testing.T) {
	b := browser.Start(t)
	walls := []struct {
		name   string
		status int
		answer http.HandlerFunc
		what   string // in the warning
	}{
		{"302 to the login page", http.StatusFound, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, loginPagePath, http.StatusFound)
		}, "opaqueredirect"},
		{"the login page in place", http.StatusOK, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(loginPageHTML))
		}, "Content-Type text/html"},
		{"JSON-typed HTML", http.StatusOK, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(loginPageHTML))
		}, "not valid JSON"},
	}
	for _, wall := range walls {
		t.Run(wall.name, func(t *testing.T) {
			t.Parallel()
			lw := &loginWall{answer: wall.answer}
			// Renewal at 2.4 s on the app's clock.
			a := startLifecycleApp(t, lifecycleOptions{ttl: 3 * time.Second, wall: lw.wrap})
			tab, console := lifecycleTab(t, b)
			navigate(t, tab, a.url("/"))
			formLogin(t, tab, "alice")
			waitEvents(t, tab, "init", "alice", 1)

			closed := time.Now()
			lw.closed.Store(true)
			a.advance(t, 2400*time.Millisecond, tab)
			waitEvents(t, tab, "destroy", "alice", 1)
			destroyed := time.Now()
			st := readLifecycleState(t, tab)
			checkVerified(t, st, true)
			assert.Equal(t, 1, st.StandIn.Inits)
			assert.Equal(t, []string{"destroy:alice"}, st.actionNames()[len(st.Actions)-1:], "the runtime announced the destroy")

			// Nothing renews any more: no timer is left on the app's clock,
			// moving it a TTL on renews nothing, and no retry (500 ms, in
			// real time) comes either.
			a.advance(t, 3*time.Second, tab)
			pending, err := evaluate[int](tab, `window.__clock.pending()`)
			require.NoError(t, err)
			assert.Zero(t, pending, "timers left")
			time.Sleep(time.Second)
			reqs := a.identityRequests(closed)
			require.NotEmpty(t, reqs)
			for _, r := range reqs {
				assert.Equal(t, wall.status, r.status)
			}
			assert.Empty(t, a.identityRequests(destroyed), "identity requests after the destroy: %s", statuses(a.identityRequests(destroyed)))
			assert.Empty(t, a.requestsTo(loginPagePath, time.Time{}), "the runtime followed the wall's redirect")

			warnings := runtimeWarnings(console, "taken as signed out")
			require.Len(t, warnings, 1, "the runtime's warnings: %q", console.Matching("productfruits:"))
			assert.Contains(t, warnings[0], a.URL+a.identityPath())
			assert.Contains(t, warnings[0], wall.what)
			assert.Len(t, console.Matching("productfruits:"), 1, "no other warning")
			assert.Empty(t, console.Exceptions())
		})
	}
}

// TestBaseHref serves a page whose <base href> points at another server
// (a CDN, which serves the runtime's immutable file from the app and
// nothing else): the renewal must still reach the app's endpoint, which
// fetch would resolve against the base URL.
func TestBaseHref(t *testing.T) {
	b := browser.Start(t)
	var (
		mu    sync.Mutex
		seen  []string
		proxy atomic.Pointer[httputil.ReverseProxy]
	)
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		if p := proxy.Load(); p != nil && strings.HasPrefix(r.URL.Path, productfruits.DefaultIdentityPath+"/lifecycle.") {
			p.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(cdn.Close)

	// Renewal at 2.4 s on the app's clock.
	a := startLifecycleApp(t, lifecycleOptions{ttl: 3 * time.Second, routes: func(a *lifecycleApp, pages *http.ServeMux) {
		pages.HandleFunc("GET /based", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "private, no-store")
			fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><base href="%s/"><title>/based</title><link rel="icon" href="data:,"></head><body><main id="page" data-page="/based" data-user="%s"><h1>based</h1></main></body></html>`,
				template.HTMLEscapeString(cdn.URL), template.HTMLEscapeString(a.users.User(r)))
		})
	}})
	appURL, err := url.Parse(a.URL)
	require.NoError(t, err)
	proxy.Store(httputil.NewSingleHostReverseProxy(appURL))

	tab, console := lifecycleTab(t, b)
	navigate(t, tab, a.url("/"))
	formLogin(t, tab, "alice")
	shown := time.Now()
	navigate(t, tab, a.url("/based"))
	waitPage(t, tab, "/based", "alice")
	base, err := evaluate[string](tab, `document.baseURI`)
	require.NoError(t, err)
	require.Equal(t, cdn.URL+"/", base, "the page's base URL is the other server")
	waitEvents(t, tab, "init", "alice", 1)
	a.advance(t, 2400*time.Millisecond, tab)
	waitEvents(t, tab, "identify", "alice", 1)
	st := readLifecycleState(t, tab)
	checkVerified(t, st, true)
	assert.Equal(t, 1, st.StandIn.Inits)
	init, renewed := st.events("init", "alice")[0], st.events("identify", "alice")[0]
	assert.Greater(t, renewed.Expiration, init.Expiration)

	reqs := a.identityRequests(shown)
	require.NotEmpty(t, reqs)
	for _, r := range reqs {
		assert.Equal(t, http.StatusOK, r.status)
	}
	mu.Lock()
	t.Logf("the other server saw %q", seen)
	for _, p := range seen {
		assert.NotEqual(t, productfruits.DefaultIdentityPath, p, "the renewal went to the base URL's server")
	}
	mu.Unlock()
	noConsoleTrouble(t, console)
}

// The Trusted Types pages: the app's policy list without productfruits
// and the loader template the library emits (injected, or placed by
// TemplateScript), no template but productfruits in the list, and
// neither.
const (
	ttInjected = "injected"
	ttTemplate = "templatescript"
	ttAllowed  = "allowed"
	ttBlocked  = "blocked"
)

// randomNonce returns a fresh CSP nonce.
func randomNonce(t testing.TB) string {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// ttPages adds the pages "/tt/{case}", served under a strict nonce policy
// that requires Trusted Types. The library sees the policy header of the
// injected page and of the TemplateScript page, and emits the loader
// template before the runtime's element; the others take the snippet from
// ScriptFor, which sees no header and so emits no template, and skip
// injection.
func ttPages(t *testing.T) func(a *lifecycleApp, pages *http.ServeMux) {
	return func(a *lifecycleApp, pages *http.ServeMux) {
		pages.HandleFunc("GET /tt/{case}", func(w http.ResponseWriter, r *http.Request) {
			mode := r.PathValue("case")
			nonce := randomNonce(t)
			trusted := "appPolicy"
			if mode == ttAllowed {
				trusted += " productfruits"
			}
			h := w.Header()
			h.Set("Content-Security-Policy", "script-src 'nonce-"+nonce+"'; require-trusted-types-for 'script'; trusted-types "+trusted)
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "private, no-store")
			var snippet string
			switch mode {
			case ttInjected:
			case ttTemplate:
				snippet = string(productfruits.TemplateScript(r))
			case ttAllowed, ttBlocked:
				productfruits.SkipInject(r)
				s, err := a.mw.ScriptFor(productfruits.User{Username: a.users.User(r)}, nonce)
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				snippet = string(s)
			default:
				http.NotFound(w, r)
				return
			}
			fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tt</title><link rel="icon" href="data:,">%s</head><body><main id="page" data-page="%s" data-user="%s"><h1>Trusted Types</h1></main></body></html>`,
				snippet, template.HTMLEscapeString(r.URL.Path), template.HTMLEscapeString(a.users.User(r)))
		})
	}
}

// ttTab logs alice in and opens the Trusted Types page of mode, with the
// observer of CSP violations.
func ttTab(t *testing.T, b context.Context, a *lifecycleApp, mode string) (context.Context, *browser.Console) {
	t.Helper()
	tab, console := lifecycleTab(t, b)
	require.NoError(t, browser.OnNewDocument(tab, browser.CSPObserver))
	navigate(t, tab, a.url("/"))
	formLogin(t, tab, "alice")
	res, err := chromedp.Run(tab, chromedp.NavigateResponse(a.url("/tt/"+mode)))
	require.NoError(t, err)
	csp, _ := res.Headers["Content-Security-Policy"].(string)
	require.Contains(t, csp, "require-trusted-types-for 'script'")
	waitPage(t, tab, "/tt/"+mode, "alice")
	return tab, console
}

// checkTemplateLoader checks a page under Trusted Types whose runtime
// takes the loader from the page's template: alice's init, verified (its
// HMAC with an expiration when expiring), one loader, no violation of the
// policy (why says why none is expected) and no console trouble.
func checkTemplateLoader(t *testing.T, tab context.Context, console *browser.Console, expiring bool, why string) {
	t.Helper()
	waitEvents(t, tab, "init", "alice", 1)
	st := readLifecycleState(t, tab)
	checkVerified(t, st, expiring)
	checkLoader(t, st, "alice")
	assert.Equal(t, 1, st.StandIn.Inits)
	violations, err := evaluate[[]string](tab, `window.__cspViolations`)
	require.NoError(t, err)
	assert.Empty(t, violations, why)
	noConsoleTrouble(t, console)
}

// TestTrustedTypes runs the snippet under a Content-Security-Policy that
// requires Trusted Types, where the runtime's el.src = LOADER throws: the
// loader comes from the page's template (the app's own policy list
// unchanged), or from a policy named productfruits that the list allows;
// with neither, the runtime warns once, throws nothing, and a later
// logout push still destroys.
func TestTrustedTypes(t *testing.T) {
	b := browser.Start(t)
	a := startLifecycleApp(t, lifecycleOptions{ttl: time.Hour, routes: ttPages(t)})

	for _, mode := range []string{ttInjected, ttTemplate} {
		t.Run("the loader template, "+mode, func(t *testing.T) {
			t.Parallel()
			tab, console := ttTab(t, b, a, mode)
			templates, err := evaluate[int](tab, `document.querySelectorAll('head > template[data-productfruits="loader"]').length`)
			require.NoError(t, err)
			require.Equal(t, 1, templates, "the library emitted the loader template in the head")
			checkTemplateLoader(t, tab, console, true, "the template's copy needs no Trusted Type and runs under its nonce")
		})
	}

	t.Run("the loader template, the inline runtime", func(t *testing.T) {
		t.Parallel()
		inline := startLifecycleApp(t, lifecycleOptions{inlineRuntime: true, routes: ttPages(t)})
		tab, console := ttTab(t, b, inline, ttInjected)
		runtimes, err := evaluate[int](tab, `Array.prototype.filter.call(document.scripts, function (s) { return !s.src && s.text.indexOf('(function (w, d, LOADER)') >= 0; }).length`)
		require.NoError(t, err)
		require.Equal(t, 1, runtimes, "the page carries the runtime inline")
		// No TTL: no endpoint to renew from, no expiration.
		checkTemplateLoader(t, tab, console, false, "the runtime, run where it is parsed, found the template before it")
	})

	t.Run("productfruits in the trusted-types list", func(t *testing.T) {
		t.Parallel()
		tab, console := ttTab(t, b, a, ttAllowed)
		waitEvents(t, tab, "init", "alice", 1)
		st := readLifecycleState(t, tab)
		checkVerified(t, st, true)
		checkLoader(t, st, "alice")
		assert.Equal(t, 1, st.StandIn.Inits)
		noConsoleTrouble(t, console)
	})

	t.Run("neither", func(t *testing.T) {
		t.Parallel()
		tab, console := ttTab(t, b, a, ttBlocked)
		waitWarning(t, console, "trusted-types")
		waitFor(t, tab, "the init announced", `window.__lc.actions.length > 0`)
		st, err := evaluate[lifecycleState](tab, readLifecycle)
		require.NoError(t, err)
		assert.Nil(t, st.StandIn, "the loader ran")
		assert.Equal(t, []string{"init:alice"}, st.actionNames())

		// A navigation library's anonymous page after logout.
		require.NoError(t, chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`window.__productfruitsGo.push(0)`)))
		waitFor(t, tab, "the destroy announced", `window.__lc.actions.some(function (a) { return a.action === 'destroy'; })`)
		st, err = evaluate[lifecycleState](tab, readLifecycle)
		require.NoError(t, err)
		assert.Equal(t, []string{"init:alice", "destroy:alice"}, st.actionNames())
		queue, err := evaluate[string](tab, `JSON.stringify(window.$productFruits)`)
		require.NoError(t, err)
		assert.Equal(t, "[]", queue, "the init the loader never read is taken back")

		warnings := console.Matching("productfruits:")
		require.Len(t, warnings, 1, "one warning: %q", warnings)
		assert.Len(t, runtimeWarnings(console, "trusted-types"), 1)
		assert.Contains(t, warnings[0], "loader template")
		assert.Empty(t, console.Exceptions())
	})
}
