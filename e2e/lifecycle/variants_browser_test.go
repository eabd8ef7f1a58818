package lifecycle

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pfverify/productfruits/e2e/browser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The stand-in's variants, each keeping the product's documented contract
// its own way (standin.js), and the loaders that never get the product
// ready, each driven through every browser scenario: the runtime may
// rely on the contract and on nothing else.
var (
	readyVariants = []string{"push", "global", "watch", "slow"}
	neverReady    = []string{"reject", missing, cspBlocked}
)

// readyBound is how long the runtime waits for an init to get ready
// (lifecycle.js, READY).
const readyBound = 10 * time.Second

// TestLifecycleVariants runs every scenario against every variant: first
// load and full page loads with renewal, Turbo and htmx navigations
// (visits, renewals, logout, login, switch), back/forward and the HTTP
// cache, and two tabs kept in step. The push variant's single-tab
// scenarios are TestLifecycle's.
func TestLifecycleVariants(t *testing.T) {
	b := browser.Start(t)
	for _, product := range readyVariants {
		t.Run(product, func(t *testing.T) {
			t.Parallel()
			if product != "push" {
				t.Run("full page loads", func(t *testing.T) { testFullPages(t, b, product) })
				for _, library := range []string{turbo, htmx} {
					t.Run(library, func(t *testing.T) { testOneDocument(t, b, library, product) })
				}
				t.Run("back, bfcache", func(t *testing.T) { testBack(t, b, "", product) })
				t.Run("back, HTTP cache", func(t *testing.T) { testBack(t, b, noBFCache, product) })
			}
			t.Run("two tabs", func(t *testing.T) { testTwoTabs(t, b, product) })
		})
	}
	for _, product := range neverReady {
		t.Run(product, func(t *testing.T) {
			t.Parallel()
			for _, library := range []string{noLibrary, turbo, htmx} {
				t.Run("library "+library, func(t *testing.T) { testNeverReady(t, b, library, product) })
			}
			t.Run("back", func(t *testing.T) { testNeverReadyBack(t, b, product) })
			t.Run("two tabs", func(t *testing.T) { testNeverReadyTabs(t, b, product) })
		})
	}
}

// readyIn waits until username's init verified in the tab's stand-in and
// the product says it is ready, moving the app's clock for the slow one.
func readyIn(t *testing.T, a *lifecycleApp, tab context.Context, product, username string) {
	t.Helper()
	waitEvents(t, tab, "init", username, 1)
	if product == "slow" {
		a.advance(t, slowReady, tab)
	}
	waitFor(t, tab, username+"'s product ready", `window.productFruitsIsReady === true`)
}

// turboLogin logs username in through tab's login form under Turbo: the
// same document.
func turboLogin(t *testing.T, tab context.Context, username string) {
	t.Helper()
	formLogin(t, tab, username)
}

// testTwoTabs keeps two tabs of one browser in step without a TTL (no
// renewal, no polling): a logout in tab A (under Turbo, the same
// document) stops the product in tab B, which asked the endpoint itself,
// before the app's clock moved at all; a switch to another user in A
// makes B ask the endpoint and init the user it answers, with B's own
// object. Nothing the tabs say names a user.
func testTwoTabs(t *testing.T, b context.Context, product string) {
	a := startLifecycleApp(t, lifecycleOptions{library: turbo, product: product})
	tabA, consoleA := lifecycleTab(t, b)
	tabB, consoleB := sameContextTab(t, tabA)
	require.NoError(t, browser.OnNewDocument(tabB, spyChannel))
	navigate(t, tabA, a.url("/"))
	waitPage(t, tabA, "/", "")
	turboLogin(t, tabA, "alice")
	readyIn(t, a, tabA, product, "alice")
	navigate(t, tabB, a.url("/page/1"))
	waitPage(t, tabB, "/page/1", "alice")
	readyIn(t, a, tabB, product, "alice")

	t.Log("logout in tab A")
	since := time.Now()
	formLogout(t, tabA)
	waitEvents(t, tabB, "destroy", "alice", 1)
	st := readLifecycleState(t, tabB)
	assert.Equal(t, "/page/1", st.Path, "tab B stayed on its page")
	assert.Equal(t, []string{"destroy:alice"}, st.actionNames()[len(st.Actions)-1:])
	refused := false
	for _, r := range a.identityRequests(since) {
		refused = refused || r.status == http.StatusUnauthorized
	}
	assert.True(t, refused, "tab B asked the endpoint: %s", statuses(a.identityRequests(since)))
	status, err := evaluate[string](tabB, `document.getElementById('productfruits-standin').textContent`)
	require.NoError(t, err)
	assert.Contains(t, status, "stopped (was running for alice)", "what the user sees in tab B")

	t.Log("tab B loads a page for bob, tab A switches to carol")
	turboLogin(t, tabA, "bob")
	readyIn(t, a, tabA, product, "bob")
	navigate(t, tabB, a.url("/page/2"))
	waitPage(t, tabB, "/page/2", "bob")
	readyIn(t, a, tabB, product, "bob")
	since = time.Now()
	turboLogin(t, tabA, "carol")
	readyIn(t, a, tabA, product, "carol")
	readyIn(t, a, tabB, product, "carol")
	st = readLifecycleState(t, tabB)
	assert.Equal(t, "/page/2", st.Path, "tab B stayed on its page")
	assert.Contains(t, st.actionNames(), "switch:carol")
	assert.Less(t, st.index("destroy", "bob"), st.index("init", "carol"))
	checkVerified(t, st, false)
	answered := false
	for _, r := range a.identityRequests(since) {
		answered = answered || r.status == http.StatusOK
	}
	assert.True(t, answered, "tab B fetched carol's object itself: %s", statuses(a.identityRequests(since)))

	said, err := evaluate[[]any](tabB, `window.__pfSaid`)
	require.NoError(t, err)
	require.NotEmpty(t, said)
	for _, m := range said {
		assert.Contains(t, []any{"out", "user"}, m, "a message on the channel names nobody")
	}
	noConsoleTrouble(t, consoleA)
	noConsoleTrouble(t, consoleB)
}

// spyChannel records every message a document hears on the runtime's
// BroadcastChannel.
const spyChannel = `window.__pfSaid = [];
try { new BroadcastChannel('productfruits').onmessage = function (e) { window.__pfSaid.push(e.data); }; } catch (e) {}`

// standInStatus returns the stand-in's status line ("" without one).
func standInStatus(t *testing.T, tab context.Context) string {
	t.Helper()
	s, err := evaluate[string](tab, `(document.getElementById('productfruits-standin') || {}).textContent || ''`)
	require.NoError(t, err)
	return s
}

// checkNeverReadyWarning requires the runtime's one warning in the
// document: the likely causes and the doctor command.
func checkNeverReadyWarning(t *testing.T, console *browser.Console, product string) {
	t.Helper()
	var warnings []string
	deadline := time.Now().Add(pollTimeout)
	for time.Now().Before(deadline) {
		if warnings = runtimeWarnings(console, "pfhmac doctor"); len(warnings) > 0 {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	require.Len(t, warnings, 1, "the runtime's warnings: %q", console.Matching("productfruits:"))
	assert.Len(t, console.Matching("productfruits:"), 1, "no other warning")
	if product == "reject" {
		assert.Contains(t, warnings[0], "not ready 10 s after init")
	} else {
		assert.Contains(t, warnings[0], "failed to load")
	}
	assert.Contains(t, warnings[0], "rejected HMAC (wrong secret, or another username")
	assert.Contains(t, warnings[0], "blocked loader (CSP, an extension, the network)")
}

// stallIfRejected moves the app's clock past the runtime's wait for
// ready, for a product that loaded but rejects the HMAC; a loader that
// failed stalled the wait at once.
func stallIfRejected(t *testing.T, a *lifecycleApp, tab context.Context, product string) {
	t.Helper()
	if product == "reject" {
		a.advance(t, readyBound, tab)
	}
}

// testNeverReady drives a product that never gets ready (its servers
// reject the HMAC, or its loader fails: a 404, a CSP that refuses its
// origin) through login, a renewal, and under a navigation library a
// logout, a login and a switch: the user sees no product, the runtime
// warns once per document, and no later action waits for a ready that
// never comes: logout destroys, the next user is inited by a fresh
// loader element, renewal renews; every event announces what was done.
func testNeverReady(t *testing.T, b context.Context, library, product string) {
	// Renewal at 12 s on the app's clock: after the wait for ready is over.
	ttl := 15 * time.Second
	a := startLifecycleApp(t, lifecycleOptions{ttl: ttl, library: library, product: product})
	tab, console := lifecycleTab(t, b)
	navigate(t, tab, a.url("/"))
	waitPage(t, tab, "/", "")
	formLogin(t, tab, "alice")
	waitFor(t, tab, "the init announced", `window.__lc.actions.length > 0`)
	if product == "reject" {
		waitEvents(t, tab, "rejected", "alice", 1)
		assert.Contains(t, standInStatus(t, tab), "did not load for alice", "what the user sees")
	}
	stallIfRejected(t, a, tab, product)
	elapsed := time.Duration(0)
	if product == "reject" {
		elapsed = readyBound
	}
	checkNeverReadyWarning(t, console, product)
	st, err := evaluate[lifecycleState](tab, readLifecycle)
	require.NoError(t, err)
	assert.Equal(t, []string{"init:alice"}, withoutRenewals(st.actionNames()))
	if product != "reject" {
		assert.Nil(t, st.StandIn, "the loader never ran")
	}

	t.Log("renewal")
	since := time.Now()
	renewed := len(st.Actions)
	a.advance(t, ttl-ttl/5-elapsed, tab)
	waitFor(t, tab, "the renewal announced", fmt.Sprintf(`window.__lc.actions.length > %d`, renewed))
	st, err = evaluate[lifecycleState](tab, readLifecycle)
	require.NoError(t, err)
	assert.Equal(t, "renew:alice", st.actionNames()[len(st.Actions)-1], "renewed, by a fresh init")
	assert.NotEmpty(t, a.identityRequests(since), "the renewal fetched the endpoint")
	if library == noLibrary {
		assert.Len(t, console.Exceptions(), 0)
		return
	}

	t.Log("logout")
	formLogout(t, tab)
	stallIfRejected(t, a, tab, product)
	waitFor(t, tab, "the destroy announced", `window.__lc.actions.some(function (a) { return a.action === 'destroy'; })`)
	if product == "reject" {
		waitEvents(t, tab, "destroy", "alice", 1)
		assert.Contains(t, standInStatus(t, tab), "stopped (was running for alice)", "what the user sees")
	} else {
		queue, err := evaluate[string](tab, `JSON.stringify(window.$productFruits)`)
		require.NoError(t, err)
		assert.Equal(t, "[]", queue, "the init no loader read is taken back")
	}

	t.Log("login, then a switch")
	formLogin(t, tab, "bob")
	stallIfRejected(t, a, tab, product)
	formLogin(t, tab, "carol")
	stallIfRejected(t, a, tab, product)
	waitFor(t, tab, "carol's init announced", `window.__lc.actions.some(function (a) { return a.action === 'switch' && a.username === 'carol'; })`)
	st, err = evaluate[lifecycleState](tab, readLifecycle)
	require.NoError(t, err)
	assert.Equal(t, []string{"init:alice", "destroy:alice", "init:bob", "switch:carol"}, withoutRenewals(st.actionNames()))
	if product == "reject" {
		waitEvents(t, tab, "rejected", "carol", 1)
		st = readLifecycleState(t, tab)
		checkVerifiedNoMisuse(t, st)
		assert.Greater(t, st.StandIn.Loads, 1, "fresh loader elements after a destroy")
		assert.LessOrEqual(t, st.StandIn.Loads, st.StandIn.Inits, "no loader without an init")
	}
	assert.Len(t, runtimeWarnings(console, "pfhmac doctor"), 1, "one warning in the document")
	assert.Empty(t, console.Exceptions())
}

// withoutRenewals returns names without the renew actions.
func withoutRenewals(names []string) []string {
	var out []string
	for _, n := range names {
		if !strings.HasPrefix(n, "renew:") {
			out = append(out, n)
		}
	}
	return out
}

// checkVerifiedNoMisuse requires that the stand-in saw no API misuse.
func checkVerifiedNoMisuse(t *testing.T, st lifecycleState) {
	t.Helper()
	for _, ev := range st.StandIn.Events {
		assert.NotEqual(t, "error", ev.Type, "the stand-in recorded misuse: %s", ev.Error)
	}
}

// testNeverReadyBack goes Back to a page kept in the back/forward cache
// after its HMAC expired, with a product that never gets ready: the page
// renews (a fresh init) and nothing throws.
func testNeverReadyBack(t *testing.T, b context.Context, product string) {
	ttl := 4 * time.Second
	a := startLifecycleApp(t, lifecycleOptions{ttl: ttl, product: product})
	tab, console := lifecycleTab(t, b)
	navigate(t, tab, a.url("/"))
	formLogin(t, tab, "alice")
	navigate(t, tab, a.url("/cached"))
	waitPage(t, tab, "/cached", "alice")
	waitFor(t, tab, "the init announced", `window.__lc.actions.length > 0`)
	click(t, tab, "to-1")
	waitPage(t, tab, "/page/1", "alice")
	a.advance(t, ttl+time.Second, tab)
	since := time.Now()
	goBack(t, tab)
	waitPage(t, tab, "/cached", "alice")
	waitFor(t, tab, "a fresh object fetched on the page shown again", `performance.getEntriesByType('resource').some(function (e) { return /\/productfruits\/identity$/.test(e.name); }) || window.__lc.actions.length > 1`)
	assert.NotEmpty(t, a.identityRequests(since), "the page shown again fetched a fresh object")
	assert.Empty(t, console.Exceptions())
}

// testNeverReadyTabs: tab A logs out (Turbo) while tab B's product never
// got ready: B still stops it, once its wait is over.
func testNeverReadyTabs(t *testing.T, b context.Context, product string) {
	a := startLifecycleApp(t, lifecycleOptions{library: turbo, product: product})
	tabA, _ := lifecycleTab(t, b)
	tabB, consoleB := sameContextTab(t, tabA)
	navigate(t, tabA, a.url("/"))
	waitPage(t, tabA, "/", "")
	turboLogin(t, tabA, "alice")
	navigate(t, tabB, a.url("/page/1"))
	waitPage(t, tabB, "/page/1", "alice")
	waitFor(t, tabB, "the init announced", `window.__lc.actions.length > 0`)
	stallIfRejected(t, a, tabB, product)
	formLogout(t, tabA)
	waitFor(t, tabB, "the destroy announced", `window.__lc.actions.some(function (a) { return a.action === 'destroy'; })`)
	if product == "reject" {
		waitEvents(t, tabB, "destroy", "alice", 1)
	}
	assert.Empty(t, consoleB.Exceptions())
}
