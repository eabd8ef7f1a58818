package demo

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/browser"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pageState is what the browser holds once the page has run.
type pageState struct {
	Queue         string   `json:"queue"` // JSON.stringify(window.$productFruits)
	Ready         bool     `json:"ready"`
	Status        string   `json:"status"`
	Verified      string   `json:"verified"`
	Pwned         bool     `json:"pwned"`
	Scripts       int      `json:"scripts"`
	MarkedScripts int      `json:"markedScripts"`
	Username      string   `json:"username"`
	Charset       string   `json:"charset"`
	Violations    []string `json:"violations"`
	// Elements are the document's elements with the snippet's marker, in
	// document order.
	Elements []snippetElement `json:"elements"`
	// LoaderSaw is the product's queue as the loader found it, JSON.
	LoaderSaw string `json:"loaderSaw"`
	// RuntimeFetches are the document's fetches of the lifecycle runtime.
	RuntimeFetches []fetched `json:"runtimeFetches"`
}

type snippetElement struct {
	Src    string `json:"src"`   // its src attribute, "" for an inline script
	Nonce  string `json:"nonce"` // its nonce, as the browser keeps it
	InHead bool   `json:"inHead"`
}

type fetched struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
}

const readState = `({
  queue: JSON.stringify(window.$productFruits),
  ready: window.productFruitsIsReady === true,
  status: document.getElementById('productfruits-standin').textContent,
  verified: document.getElementById('productfruits-standin').getAttribute('data-verified'),
  pwned: typeof window.__pwned !== 'undefined',
  scripts: document.scripts.length,
  markedScripts: document.querySelectorAll('script[data-productfruits]').length,
  username: (document.getElementById('username') || {}).textContent || '',
  charset: document.characterSet,
  violations: window.__cspViolations || [],
  elements: Array.prototype.map.call(document.querySelectorAll('script[data-productfruits]'), function (el) {
    return { src: el.getAttribute('src') || '', nonce: el.nonce || '', inHead: el.parentNode === document.head };
  }),
  loaderSaw: (window.__pfStandIn && window.__pfStandIn.saw) || '',
  runtimeFetches: performance.getEntriesByType('resource').filter(function (e) {
    return /\/lifecycle\.[0-9a-f]{12}\.js$/.test(e.name);
  }).map(function (e) { return { url: e.name, status: e.responseStatus }; })
})`

// standInReported waits until the stand-in has said whether it loaded.
var standInReported = chromedp.Poll[chromedp.Void](`document.getElementById('productfruits-standin') !== null`,
	chromedp.WithPollingTimeout(10*time.Second))

func openTab(t *testing.T, b context.Context) (context.Context, *browser.Console) {
	t.Helper()
	tab := browser.NewTab(t, b, 30*time.Second)
	require.NoError(t, browser.OnNewDocument(tab, browser.CSPObserver))
	return tab, browser.Record(tab)
}

// browserLogin fills in the login form and submits it.
func browserLogin(t *testing.T, tab context.Context, app *testApp, username string) {
	t.Helper()
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(app.URL+"/"),
		chromedp.SetValue(chromedp.ID("username-input"), username),
		chromedp.Click(chromedp.CSS("#login button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("logout")),
	))
}

func loadState(t *testing.T, tab context.Context) pageState {
	t.Helper()
	require.NoError(t, chromedp.Do(tab, standInReported))
	st, err := chromedp.Run(tab, chromedp.Evaluate[pageState](readState))
	require.NoError(t, err)
	return st
}

// browserInit finds the init call in window.$productFruits, as the
// browser serialises it.
func browserInit(t *testing.T, st pageState) initCall {
	t.Helper()
	var queue [][]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(st.Queue), &queue), st.Queue)
	var inits [][]json.RawMessage
	for _, entry := range queue {
		var verb string
		if len(entry) > 0 && json.Unmarshal(entry[0], &verb) == nil && verb == "init" {
			inits = append(inits, entry)
		}
	}
	require.Len(t, inits, 1, "exactly one init call in window.$productFruits: %s", st.Queue)
	args := inits[0]
	require.Len(t, args, 4, "['init', code, language, user]")
	var c initCall
	require.NoError(t, json.Unmarshal(args[1], &c.Code))
	require.NoError(t, json.Unmarshal(args[2], &c.Lang))
	require.NoError(t, json.Unmarshal(args[3], &c.User))
	return c
}

// runtimePath is where the middleware serves the lifecycle runtime.
var runtimePath = regexp.MustCompile(`^` + regexp.QuoteMeta(productfruits.DefaultIdentityPath) + `/lifecycle\.[0-9a-f]{12}\.js$`)

// checkSnippet requires the snippet as the browser ran it: the page data
// script and the runtime's element in <head>, the runtime fetched from the
// middleware's route, and the loader the runtime appended, once, after it
// had queued one init for username; every element with nonce.
func checkSnippet(t *testing.T, app *testApp, st pageState, username, nonce string) {
	t.Helper()
	require.Len(t, st.Elements, 3, "the snippet's two elements and the loader the runtime appended: %+v", st.Elements)
	data, runtime, loader := st.Elements[0], st.Elements[1], st.Elements[2]
	assert.Empty(t, data.Src, "the page data script is inline")
	assert.Regexp(t, runtimePath, runtime.Src, "the runtime comes from the middleware")
	assert.Equal(t, app.ScriptURL, loader.Src, "the runtime appended the product's loader")
	for i, el := range st.Elements {
		assert.True(t, el.InHead, "element %d (%s) is in <head>", i, el.Src)
		assert.Equal(t, nonce, el.Nonce, "element %d (%s) carries the page's nonce", i, el.Src)
	}
	require.Len(t, st.RuntimeFetches, 1, "the document fetched the runtime once")
	assert.Equal(t, app.URL+runtime.Src, st.RuntimeFetches[0].URL)
	assert.Equal(t, http.StatusOK, st.RuntimeFetches[0].Status)

	var saw [][]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(st.LoaderSaw), &saw), "the loader's queue: %q", st.LoaderSaw)
	require.Len(t, saw, 1, "the loader found one command queued: %s", st.LoaderSaw)
	var verb string
	var user productfruits.User
	require.NoError(t, json.Unmarshal(saw[0][0], &verb))
	assert.Equal(t, "init", verb)
	require.NoError(t, json.Unmarshal(saw[0][3], &user))
	assert.Equal(t, username, user.Username, "the init queued before the loader ran")
}

func standInLoaded(username string) string {
	return "Product Fruits (stand-in) loaded for " + username + " \u2014 HMAC verified"
}

// TestBrowser runs the demo in headless Chromium: the injected init call
// verifies, a hostile username executes nothing and arrives intact (also
// without a charset), the snippet runs under a strict nonce CSP, and an
// expiring HMAC is renewed through productFruits.identifyUser.
func TestBrowser(t *testing.T) {
	b := browser.Start(t)
	app := startApp(t, map[string]string{"PRODUCTFRUITS_TTL": "1h"})

	t.Run("init call verifies", func(t *testing.T) {
		t.Parallel()
		tab, console := openTab(t, b)
		const name = "jane.doe@example.com"
		browserLogin(t, tab, app, name)
		st := loadState(t, tab)

		call := browserInit(t, st)
		assert.Equal(t, demoWorkspaceCode, call.Code)
		assert.Equal(t, "en", call.Lang)
		pftest.VerifyUser(t, app.signer, call.User, name)
		assert.NotEmpty(t, call.User.HMAC.Expiration)
		assert.True(t, st.Ready, "the stand-in signalled readiness")
		assert.Equal(t, standInLoaded(name), st.Status)
		assert.Equal(t, "true", st.Verified)
		checkSnippet(t, app, st, name, "")
		assert.Empty(t, console.Exceptions())
	})

	t.Run("hostile username", func(t *testing.T) {
		t.Parallel()
		tab, console := openTab(t, b)
		browserLogin(t, tab, app, hostileUsername)
		for _, path := range []string{"/", "/nocharset", "/csp"} {
			t.Run(path, func(t *testing.T) {
				require.NoError(t, chromedp.Do(tab, chromedp.Navigate(app.URL+path)))
				st := loadState(t, tab)
				t.Logf("document.characterSet = %s", st.Charset)

				assert.False(t, st.Pwned, "the username's script ran")
				assert.Equal(t, 4, st.Scripts, "the page holds the demo's panel script, the snippet's two and the loader, no other")
				assert.Equal(t, 3, st.MarkedScripts, "the snippet's scripts and the loader")
				if path != "/csp" {
					checkSnippet(t, app, st, hostileUsername, "")
				}
				call := browserInit(t, st)
				assert.Equal(t, hostileUsername, call.User.Username, "the username arrives unchanged")
				pftest.VerifyUser(t, app.signer, call.User, hostileUsername)
				assert.Equal(t, hostileUsername, st.Username, "the page's own text shows the same username")
				assert.Equal(t, standInLoaded(hostileUsername), st.Status)
				assert.Empty(t, st.Violations)
			})
		}
		assert.Empty(t, console.Exceptions())
	})

	t.Run("strict nonce CSP", func(t *testing.T) {
		t.Parallel()
		tab, console := openTab(t, b)
		const name = "csp.user"
		browserLogin(t, tab, app, name)
		resp, err := chromedp.Run(tab, chromedp.NavigateResponse(app.URL+"/csp"))
		require.NoError(t, err)
		csp, _ := resp.Headers["Content-Security-Policy"].(string)
		require.Regexp(t, `^script-src 'nonce-[A-Za-z0-9+/=]+'`, csp)
		require.NotContains(t, csp, "unsafe-inline")

		st := loadState(t, tab)
		assert.Empty(t, st.Violations, "CSP violations")
		assert.Empty(t, console.Matching("Content Security Policy"))
		assert.Empty(t, console.Exceptions())
		call := browserInit(t, st)
		pftest.VerifyUser(t, app.signer, call.User, name)
		assert.True(t, st.Ready, "the loader, allowed by its nonce, ran")
		assert.Equal(t, standInLoaded(name), st.Status)
		nonce := regexp.MustCompile(`'nonce-([^']+)'`).FindStringSubmatch(csp)[1]
		checkSnippet(t, app, st, name, nonce)

		// Control: the observer does see a script the policy blocks.
		_, err = chromedp.Run(tab, chromedp.Evaluate[chromedp.Void](
			`var s = document.createElement('script'); s.textContent = 'window.__unsafe = 1'; document.head.appendChild(s)`))
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(tab, chromedp.Poll[chromedp.Void](`window.__cspViolations.length > 0`,
			chromedp.WithPollingTimeout(5*time.Second))))
		unsafe, err := chromedp.Run(tab, chromedp.Evaluate[bool](`typeof window.__unsafe !== 'undefined'`))
		require.NoError(t, err)
		assert.False(t, unsafe, "an inline script without the nonce ran")
	})

	t.Run("renewal", func(t *testing.T) {
		t.Parallel()
		// The snippet renews at TTL - min(TTL/5, 5m): 2.4 s after load.
		short := startApp(t, map[string]string{"PRODUCTFRUITS_TTL": "3s"})
		tab, console := openTab(t, b)
		const name = "renewing.user"
		browserLogin(t, tab, short, name)
		st := loadState(t, tab)
		first := browserInit(t, st).User
		pftest.VerifyUser(t, short.signer, first, name)

		renewedJSON, err := chromedp.Run(tab, chromedp.Poll[string](
			`window.__pfIdentified && window.__pfIdentified.length > 0 && JSON.stringify(window.__pfIdentified[0])`,
			chromedp.WithPollingTimeout(10*time.Second)))
		require.NoError(t, err, "productFruits.identifyUser was never called")
		var renewed productfruits.User
		require.NoError(t, json.Unmarshal([]byte(renewedJSON), &renewed))
		pftest.VerifyUser(t, short.signer, renewed, name)

		firstExp, renewedExp := pftest.Expiration(t, first), pftest.Expiration(t, renewed)
		assert.True(t, renewedExp.After(firstExp), "renewed expiration %s is not after %s", renewed.HMAC.Expiration, first.HMAC.Expiration)

		require.NoError(t, chromedp.Do(tab, chromedp.Poll[chromedp.Void](
			`document.getElementById('productfruits-standin').textContent.indexOf('renewed HMAC verified') >= 0`,
			chromedp.WithPollingTimeout(5*time.Second))), "the stand-in verified the renewed HMAC")
		assert.Empty(t, console.Exceptions())
	})
}
