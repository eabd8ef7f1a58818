package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/pfverify/productfruits/e2e/browser"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/pfverify/productfruits/e2e/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lifecycleObserver runs in every document before the page's scripts:
// it records each pageshow and each productfruits:identity event, with
// the time the browser saw it, and defines __pfCount, the number of the
// stand-in's events of a type (and username).
const lifecycleObserver = `window.__lc = { shows: [], actions: [] };
window.addEventListener('pageshow', function (e) {
  window.__lc.shows.push({ at: Date.now(), persisted: e.persisted });
});
window.addEventListener('productfruits:identity', function (e) {
  var u = e.detail.user || {};
  window.__lc.actions.push({ action: e.detail.action, username: u.username || '', expiration: (u.hmac && u.hmac.expiration) || '', at: Date.now() });
});
window.__pfCount = function (type, username) {
  var s = window.__pfStandIn;
  if (!s) return 0;
  return s.events.filter(function (e) { return e.type === type && (!username || e.username === username); }).length;
};`

type standInEvent struct {
	Type       string `json:"type"`
	Username   string `json:"username"`
	Expiration string `json:"expiration"`
	Error      string `json:"error"`
	At         int64  `json:"at"` // Date.now() in the browser
}

type standInRecord struct {
	Loads int    `json:"loads"`
	Saw   string `json:"saw"` // the queue as the loader found it, JSON
	Inits int    `json:"inits"`
	// Variant is the stand-in's variant (standin.js).
	Variant string         `json:"variant"`
	Events  []standInEvent `json:"events"`
}

type lifecycleAction struct {
	Action     string `json:"action"`
	Username   string `json:"username"`
	Expiration string `json:"expiration"`
	At         int64  `json:"at"`
}

type pageShow struct {
	At        int64 `json:"at"`
	Persisted bool  `json:"persisted"`
}

// lifecycleState is what one document holds.
type lifecycleState struct {
	Path         string            `json:"path"`
	StandIn      *standInRecord    `json:"standIn"`
	Actions      []lifecycleAction `json:"actions"`
	Shows        []pageShow        `json:"shows"`
	SameDocument bool              `json:"sameDocument"`
	// Snippet is the text of the document's first inline snippet script:
	// the page data the server put into the page.
	Snippet      string  `json:"snippet"`
	NavType      string  `json:"navType"`
	TransferSize float64 `json:"transferSize"`
	Visibility   string  `json:"visibility"`
	// Sources are the src attributes of the document's elements with the
	// snippet's marker: the runtime's (one a visit that brought a new
	// one) and the loader's, which the runtime appends.
	Sources []string `json:"sources"`
}

const readLifecycle = `(function () {
  var s = document.querySelector('script[data-productfruits]:not([src]):not([data-productfruits="anonymous"])');
  var n = performance.getEntriesByType('navigation')[0] || {};
  return {
    path: location.pathname,
    standIn: window.__pfStandIn || null,
    actions: window.__lc.actions,
    shows: window.__lc.shows,
    sameDocument: window.__sameDocument === true,
    snippet: s ? s.textContent : '',
    navType: n.type || '',
    transferSize: n.transferSize || 0,
    visibility: document.visibilityState,
    sources: Array.prototype.map.call(document.querySelectorAll('[data-productfruits][src]'), function (el) { return el.getAttribute('src'); })
  };
})()`

func readLifecycleState(t *testing.T, tab context.Context) lifecycleState {
	t.Helper()
	st, err := evaluate[lifecycleState](tab, readLifecycle)
	require.NoError(t, err)
	require.NotNil(t, st.StandIn, "the stand-in has not loaded in %s", st.Path)
	return st
}

// embeddedExpiration returns the expiration of the user object the
// server put into the page: the first in its page data, which is the
// user's hmac.
func (st lifecycleState) embeddedExpiration(t *testing.T) string {
	t.Helper()
	m := expirationField.FindStringSubmatch(st.Snippet)
	require.NotNil(t, m, "no expiration in the page data: %s", st.Snippet)
	return m[1]
}

var expirationField = regexp.MustCompile(`"expiration":"([^"]+)"`)

// events returns the stand-in's events of type typ (for username, unless
// empty), in order.
func (st lifecycleState) events(typ, username string) []standInEvent {
	var out []standInEvent
	for _, ev := range st.StandIn.Events {
		if ev.Type == typ && (username == "" || ev.Username == username) {
			out = append(out, ev)
		}
	}
	return out
}

// index returns the position of the stand-in's first typ event for
// username, or -1.
func (st lifecycleState) index(typ, username string) int {
	for i, ev := range st.StandIn.Events {
		if ev.Type == typ && ev.Username == username {
			return i
		}
	}
	return -1
}

// loaders returns how many loader elements (the stand-in's URL) the
// document holds.
func (st lifecycleState) loaders() int {
	n := 0
	for _, src := range st.Sources {
		if strings.Contains(src, standin.Path) {
			n++
		}
	}
	return n
}

// checkLoader requires that every loader element the runtime appended in
// the document ran once (one for the first init, a fresh one for each
// init after a destroy, as the product's npm package appends one per
// init), and that the first found one init queued, for username.
func checkLoader(t *testing.T, st lifecycleState, username string) {
	t.Helper()
	assert.Positive(t, st.loaders(), "loader elements: %q", st.Sources)
	assert.LessOrEqual(t, st.loaders(), st.StandIn.Loads, "each loader element ran: %q", st.Sources)
	assert.LessOrEqual(t, st.StandIn.Loads, max(1, st.StandIn.Inits), "no loader without an init to read: %q", st.Sources)
	var saw [][]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(st.StandIn.Saw), &saw), "the loader's queue %q", st.StandIn.Saw)
	require.Len(t, saw, 1, "the loader found one command queued: %s", st.StandIn.Saw)
	var verb string
	var user struct{ Username string }
	require.NoError(t, json.Unmarshal(saw[0][0], &verb))
	require.NoError(t, json.Unmarshal(saw[0][3], &user))
	assert.Equal(t, "init", verb)
	assert.Equal(t, username, user.Username, "the init was queued before the loader ran")
}

func (st lifecycleState) actionNames() []string {
	var out []string
	for _, a := range st.Actions {
		out = append(out, a.Action+":"+a.Username)
	}
	return out
}

func browserTime(ms int64) time.Time { return time.UnixMilli(ms) }

func parseExpiration(t *testing.T, s string) time.Time {
	t.Helper()
	exp, err := time.Parse(pftest.ExpirationLayout, s)
	require.NoError(t, err, "expiration %q", s)
	return exp
}

// checkVerified requires what must hold in every document: the stand-in
// saw no API misuse and no rejected HMAC, and (with a TTL) each user
// object it verified for init or identifyUser still had its expiration
// ahead when the browser recorded it. The stand-in records init and
// identify only once the app verified the hash and the expiry.
func checkVerified(t *testing.T, st lifecycleState, expiring bool) {
	t.Helper()
	for _, ev := range st.StandIn.Events {
		switch ev.Type {
		case "rejected", "error":
			assert.Failf(t, "the stand-in recorded "+ev.Type, "%s for %q: %s (events %+v)", ev.Type, ev.Username, ev.Error, st.StandIn.Events)
		case "init", "identify":
			if !expiring {
				continue
			}
			if assert.NotEmpty(t, ev.Expiration, "%s for %s without an expiration", ev.Type, ev.Username) {
				exp := parseExpiration(t, ev.Expiration)
				assert.True(t, browserTime(ev.At).Before(exp), "%s for %s at %s, after its HMAC expired at %s",
					ev.Type, ev.Username, browserTime(ev.At).UTC().Format(pftest.ExpirationLayout), ev.Expiration)
			}
		}
	}
}

// pollTimeout bounds every wait for the browser: generous, since the
// cases run in parallel under the race detector.
const pollTimeout = 15 * time.Second

// evaluate evaluates expression in the document the tab shows now, with
// Runtime.evaluate in the page's default context rather than in the
// context chromedp tracks, which a document restored from the
// back/forward cache leaves stale. An undefined result is T's zero value.
func evaluate[T any](tab context.Context, expression string) (T, error) {
	var v T
	res, err := chromedp.Call(tab, runtime.Evaluate, runtime.EvaluateParams{Expression: expression, ReturnByValue: ptr(true)})
	switch {
	case err != nil:
		return v, err
	case res.ExceptionDetails != nil:
		msg := res.ExceptionDetails.Text
		if e := res.ExceptionDetails.Exception; e != nil {
			msg += " " + e.Description
		}
		return v, errors.New(msg)
	case res.Result == nil || len(res.Result.Value) == 0:
		return v, nil
	}
	return v, json.Unmarshal(res.Result.Value, &v)
}

func ptr[T any](v T) *T { return &v }

// waitFor waits until predicate holds in the document the tab shows,
// whichever it is by then: it polls from here, so a navigation meanwhile
// only means asking the next document.
func waitFor(t *testing.T, tab context.Context, what, predicate string) {
	t.Helper()
	deadline := time.Now().Add(pollTimeout)
	var err error
	for time.Now().Before(deadline) && tab.Err() == nil {
		var ok bool
		if ok, err = evaluate[bool](tab, "!!("+predicate+")"); ok && err == nil {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	dump, _ := evaluate[string](tab, `JSON.stringify({path: location.pathname, standIn: window.__pfStandIn, lifecycle: window.__lc})`)
	t.Fatalf("waiting for %s (last error: %v); the page holds %s", what, err, dump)
}

// goBack goes Back in the tab's history. The page starts the navigation
// from a timer, after the evaluation has answered: history.back() run
// directly can navigate before the answer, which then fails with
// "Inspected target navigated or closed" (a page from the HTTP cache
// comes back fast). waitFor and waitPage see the page shown again.
func goBack(t *testing.T, tab context.Context) {
	t.Helper()
	require.NoError(t, chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`setTimeout(function () { history.back(); }, 0)`)))
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitPage waits until the tab shows the app's page at path (as the app
// sees it, without a stripped prefix) for username ("" for nobody). Under
// htmx it also waits for the swap to settle: only then has htmx boosted
// the new page's links and forms, which a click before that would follow
// as a full page load.
func waitPage(t *testing.T, tab context.Context, path, username string) {
	t.Helper()
	waitFor(t, tab, fmt.Sprintf("page %s for %q", path, username), fmt.Sprintf(
		`(function () { var p = document.getElementById('page'), c = document.body.classList; return !!p && p.dataset.page === %s && p.dataset.user === %s && !c.contains('htmx-swapping') && !c.contains('htmx-settling'); })()`,
		js(path), js(username)))
}

// waitEvents waits until the stand-in has recorded at least n events of
// typ for username; the tests then count exactly.
func waitEvents(t *testing.T, tab context.Context, typ, username string, n int) {
	t.Helper()
	waitFor(t, tab, fmt.Sprintf("%d %s for %s", n, typ, username),
		fmt.Sprintf(`window.__pfCount && window.__pfCount(%s, %s) >= %d`, js(typ), js(username), n))
}

// lifecycleTab opens a tab in a browser context of its own, with the
// observer in every document and its console recorded.
func lifecycleTab(t *testing.T, b context.Context) (context.Context, *browser.Console) {
	t.Helper()
	tab := browser.NewTab(t, b, 90*time.Second)
	require.NoError(t, browser.OnNewDocument(tab, clockScript))
	require.NoError(t, browser.OnNewDocument(tab, lifecycleObserver))
	return tab, browser.Record(tab)
}

// sameContextTab opens another tab in tab's browser context: the same
// cookies, like a second tab of one browser window.
func sameContextTab(t *testing.T, tab context.Context) (context.Context, *browser.Console) {
	t.Helper()
	other, cancel := chromedp.NewContext(tab)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(other))
	require.NoError(t, browser.OnNewDocument(other, clockScript))
	require.NoError(t, browser.OnNewDocument(other, lifecycleObserver))
	return other, browser.Record(other)
}

func navigate(t *testing.T, tab context.Context, url string) {
	t.Helper()
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(url)))
}

// click clicks the element with id as a user would: with the mouse, so
// that a library listening for clicks and submits sees a real one.
func click(t *testing.T, tab context.Context, id string) {
	t.Helper()
	require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.ID(id))))
}

// formLogin logs username in through the page's login form and waits for the
// page it leads to.
func formLogin(t *testing.T, tab context.Context, username string) {
	t.Helper()
	require.NoError(t, chromedp.Do(tab, chromedp.SetValue(chromedp.ID("username-input"), username)))
	click(t, tab, "login-submit")
	waitPage(t, tab, "/", username)
}

// formLogout logs out through the page's logout form and waits for the
// anonymous page it leads to.
func formLogout(t *testing.T, tab context.Context) {
	t.Helper()
	click(t, tab, "logout-submit")
	waitPage(t, tab, "/", "")
}

// noConsoleTrouble requires that the page threw nothing and the runtime
// warned of nothing.
func noConsoleTrouble(t *testing.T, console *browser.Console) {
	t.Helper()
	assert.Empty(t, console.Exceptions(), "uncaught exceptions")
	assert.Empty(t, console.Matching("productfruits:"), "the runtime's warnings")
}

// TestLifecycle runs the lifecycle of a verified user in headless
// Chromium and checks what the product sees: the stand-in records every
// call and has the app verify every HMAC it is handed. The cases: full
// page loads, Turbo Drive and htmx boosted navigation (installed from
// npm), logout in another tab, Back to a page kept in a cache after its
// HMAC expired, a 30-day TTL, and an app mounted under a stripped prefix.
func TestLifecycle(t *testing.T) {
	b := browser.Start(t)

	t.Run("full page loads", func(t *testing.T) {
		t.Parallel()
		testFullPages(t, b, "push")
	})

	for _, library := range []string{turbo, htmx} {
		t.Run(library, func(t *testing.T) {
			t.Parallel()
			testOneDocument(t, b, library, "push")
		})
	}

	t.Run("logout in another tab", func(t *testing.T) {
		t.Parallel()
		// Renewal at 4.8 s: 1.2 s before the HMAC would expire.
		ttl := 6 * time.Second
		a := startLifecycleApp(t, lifecycleOptions{ttl: ttl})
		tabA, consoleA := lifecycleTab(t, b)
		tabB, consoleB := sameContextTab(t, tabA)
		navigate(t, tabA, a.url("/"))
		formLogin(t, tabA, "alice")
		waitEvents(t, tabA, "init", "alice", 1)

		navigate(t, tabB, a.url("/page/1"))
		waitPage(t, tabB, "/page/1", "alice")
		waitEvents(t, tabB, "init", "alice", 1)

		loggedOut := time.Now()
		formLogout(t, tabA)
		// A full page load's logout runs no runtime in tab A (an anonymous
		// page carries none): tab B learns it at its renewal.
		a.advance(t, 4800*time.Millisecond, tabB)
		waitEvents(t, tabB, "destroy", "alice", 1)
		st := readLifecycleState(t, tabB)
		t.Logf("tab B is %s", st.Visibility)
		checkVerified(t, st, true)
		assert.Equal(t, "/page/1", st.Path, "tab B stayed on its page")
		assert.Equal(t, 1, st.StandIn.Inits)
		destroyAt := st.index("destroy", "alice")
		require.Positive(t, destroyAt)
		var last standInEvent
		for _, ev := range st.StandIn.Events[:destroyAt] {
			if ev.Type == "init" || ev.Type == "identify" {
				last = ev
			}
		}
		require.NotEmpty(t, last.Expiration, "tab B's last user object")
		destroyed := st.StandIn.Events[destroyAt]
		assert.Len(t, st.events("destroy", ""), 1)
		t.Logf("tab B stopped the product %d ms before its last HMAC would have expired",
			parseExpiration(t, last.Expiration).UnixMilli()-destroyed.At)
		assert.Less(t, destroyed.At, parseExpiration(t, last.Expiration).UnixMilli(),
			"tab B stopped the product at %s, after its last HMAC expired at %s",
			browserTime(destroyed.At).UTC().Format(pftest.ExpirationLayout), last.Expiration)
		assert.Equal(t, []string{"destroy:alice"}, st.actionNames()[len(st.Actions)-1:])

		var refused bool
		for _, r := range a.identityRequests(loggedOut) {
			refused = refused || r.status == http.StatusUnauthorized
		}
		assert.True(t, refused, "tab B's renewal was refused with 401: %s", statuses(a.identityRequests(loggedOut)))
		noConsoleTrouble(t, consoleA)
		noConsoleTrouble(t, consoleB)
	})

	// Back to a page whose HMAC expired meanwhile: Chromium shows it from
	// the back/forward cache when it may, else from the HTTP cache; a page
	// with an unload handler may not enter the back/forward cache.
	t.Run("back to a cached page after its TTL", func(t *testing.T) {
		t.Parallel()
		testBack(t, b, "", "push")
	})
	t.Run("back to a cached page after its TTL, no bfcache", func(t *testing.T) {
		t.Parallel()
		testBack(t, b, noBFCache, "push")
	})

	t.Run("30-day TTL", func(t *testing.T) {
		t.Parallel()
		a := startLifecycleApp(t, lifecycleOptions{ttl: 30 * 24 * time.Hour})
		tab, console := lifecycleTab(t, b)
		navigate(t, tab, a.url("/"))
		formLogin(t, tab, "alice")
		waitEvents(t, tab, "init", "alice", 1)
		st := readLifecycleState(t, tab)
		assert.Contains(t, st.Snippet, `"ttl":2592000000`)

		// A renewal timer of 30 days - 5 min overflows setTimeout's 2^31-1
		// ms unless clamped, and then fires at once, again and again.
		a.advance(t, time.Hour, tab)
		assert.Empty(t, a.identityRequests(time.Time{}), "identity requests the server saw")
		fetched, err := evaluate[int](tab,
			`performance.getEntriesByType('resource').filter(function (e) { return /\/productfruits\/identity$/.test(e.name); }).length`)
		require.NoError(t, err)
		assert.Zero(t, fetched, "identity fetches the page made")

		st = readLifecycleState(t, tab)
		checkVerified(t, st, true)
		assert.Equal(t, 1, st.StandIn.Inits)
		require.Len(t, st.events("init", "alice"), 1)
		assert.Equal(t, 1, len(st.StandIn.Events), "the stand-in's events: nothing after the init")
		exp := parseExpiration(t, st.events("init", "alice")[0].Expiration)
		assert.Greater(t, exp.Sub(a.clock.Now()), 29*24*time.Hour)
		// The clamped timer fires once, about 24.8 days in, and renews.
		a.advance(t, time.Duration(1<<31-1)*time.Millisecond-time.Hour, tab)
		waitEvents(t, tab, "identify", "alice", 1)
		assert.Len(t, a.identityRequests(time.Time{}), 1)
		noConsoleTrouble(t, console)
	})

	t.Run("http.StripPrefix", func(t *testing.T) {
		t.Parallel()
		// Renewal at 4 s: 1 s before the page's HMAC expires.
		a := startLifecycleApp(t, lifecycleOptions{ttl: 5 * time.Second, prefix: "/app"})
		tab, console := lifecycleTab(t, b)
		navigate(t, tab, a.url("/"))
		waitPage(t, tab, "/", "")
		formLogin(t, tab, "alice")
		waitEvents(t, tab, "init", "alice", 1)
		st := readLifecycleState(t, tab)
		assert.Equal(t, "/app/", st.Path)
		// The page names no endpoint: the runtime reads it off its own URL,
		// under the prefix (the renewal requests below prove where).
		assert.NotContains(t, st.Snippet, `"identity"`)

		a.advance(t, 4*time.Second, tab)
		waitEvents(t, tab, "identify", "alice", 1)
		st = readLifecycleState(t, tab)
		checkVerified(t, st, true)
		init, renewed := st.events("init", "alice")[0], st.events("identify", "alice")[0]
		assert.Less(t, renewed.At, parseExpiration(t, init.Expiration).UnixMilli(),
			"the renewal was verified at %s, after the page's HMAC expired at %s",
			browserTime(renewed.At).UTC().Format(pftest.ExpirationLayout), init.Expiration)
		assert.Greater(t, renewed.Expiration, init.Expiration)

		reqs := a.identityRequests(time.Time{})
		require.NotEmpty(t, reqs, "requests at %s", a.identityPath())
		for _, r := range reqs {
			assert.Equal(t, http.StatusOK, r.status)
		}
		assert.Empty(t, a.requestsTo("/productfruits/identity", time.Time{}), "requests outside the prefix")
		runtime := a.runtimeRequests()
		require.Len(t, runtime, 1, "runtime requests under the prefix: %s", statuses(runtime))
		assert.Equal(t, http.StatusOK, runtime[0].status)
		checkLoader(t, st, "alice")
		assert.Equal(t, 1, st.StandIn.Inits)
		noConsoleTrouble(t, console)
	})
}

// testFullPages logs in and follows a link to a new document, with the
// stand-in variant product: each document inits once, by the one loader
// element it appended, and the renewal on the app's clock reaches the
// product, verified; the browser fetched the runtime once.
func testFullPages(t *testing.T, b context.Context, product string) {
	// The runtime renews at TTL - TTL/5: 4 s on the app's clock after a
	// page loads.
	a := startLifecycleApp(t, lifecycleOptions{ttl: 5 * time.Second, product: product})
	tab, console := lifecycleTab(t, b)
	navigate(t, tab, a.url("/"))
	formLogin(t, tab, "alice")
	waitEvents(t, tab, "init", "alice", 1)
	st := readLifecycleState(t, tab)
	checkVerified(t, st, true)
	checkLoader(t, st, "alice")
	assert.Equal(t, 1, st.StandIn.Inits)

	click(t, tab, "to-1")
	waitPage(t, tab, "/page/1", "alice")
	waitEvents(t, tab, "init", "alice", 1)
	// The renewal at 4 s (the slow stand-in got ready at 3 s).
	a.advance(t, 4*time.Second, tab)
	waitEvents(t, tab, "identify", "alice", 1)
	st = readLifecycleState(t, tab)
	checkVerified(t, st, true)
	assert.Equal(t, "navigate", st.NavType, "a new document")
	assert.Equal(t, 1, st.StandIn.Loads, "the loader ran once in this document")
	assert.Equal(t, 1, st.StandIn.Inits, "one init in this document")
	inits, renewals := st.events("init", "alice"), st.events("identify", "alice")
	require.Len(t, inits, 1)
	assert.Greater(t, renewals[0].Expiration, inits[0].Expiration, "the renewed HMAC expires later")
	assert.Less(t, renewals[0].At, parseExpiration(t, inits[0].Expiration).UnixMilli(), "renewed before the page's HMAC expired")
	assert.Equal(t, "init:alice", st.actionNames()[0])
	for _, name := range st.actionNames()[1:] {
		assert.Equal(t, "renew:alice", name)
	}
	checkLoader(t, st, "alice")
	reqs := a.identityRequests(time.Time{})
	require.NotEmpty(t, reqs)
	for _, r := range reqs {
		assert.Equal(t, http.StatusOK, r.status)
	}
	// Two documents ran the runtime; the browser asked the server for
	// it once and took it from its cache for the second.
	runtime := a.runtimeRequests()
	require.Len(t, runtime, 1, "runtime requests: %s", statuses(runtime))
	assert.Equal(t, http.StatusOK, runtime[0].status)
	noConsoleTrouble(t, console)
}

// noBFCache keeps a tab's pages out of the back/forward cache: a page
// with an unload handler may not enter it.
const noBFCache = `window.addEventListener('unload', function () {});`

// testBack leaves a page served with max-age=600 (bounded by the
// middleware to the TTL) before its renewal, stays away until the page's
// own HMAC has expired on the app's clock, and goes Back: the page shown
// again must hand the stand-in a fresh HMAC, verified, before any other
// object (the app's clock stands still meanwhile, so nothing is late).
// blocker, if set, runs in every document of the tab, to keep pages out
// of the back/forward cache: then the HTTP cache must show the page.
func testBack(t *testing.T, b context.Context, blocker, product string) {
	ttl := 4 * time.Second
	a := startLifecycleApp(t, lifecycleOptions{ttl: ttl, product: product})
	tab, console := lifecycleTab(t, b)
	if blocker != "" {
		require.NoError(t, browser.OnNewDocument(tab, blocker))
	}
	navigate(t, tab, a.url("/"))
	formLogin(t, tab, "alice")

	res, err := chromedp.Run(tab, chromedp.NavigateResponse(a.url("/cached")))
	require.NoError(t, err)
	cc, _ := res.Headers["Cache-Control"].(string)
	assert.Contains(t, cc, "max-age=4", "the middleware bounds the page's max-age=600 by the TTL")
	assert.Contains(t, cc, "private")
	waitEvents(t, tab, "init", "alice", 1)
	before := readLifecycleState(t, tab)
	embedded := before.embeddedExpiration(t)
	click(t, tab, "to-1")
	require.Empty(t, before.events("identify", ""), "the page renewed before the test left it")
	waitPage(t, tab, "/page/1", "alice")

	// Stay away until the cached page's own HMAC has expired.
	a.advance(t, ttl+time.Second, tab)
	back := a.clock.Now().UnixMilli()
	require.Greater(t, back, parseExpiration(t, embedded).UnixMilli())
	goBack(t, tab)
	waitFor(t, tab, "a fresh HMAC on the page shown again", fmt.Sprintf(
		`location.pathname === '/cached' && !!window.__pfStandIn && window.__pfStandIn.events.some(function (e) { return (e.type === 'init' || e.type === 'identify') && e.at >= %d; })`, back))
	st := readLifecycleState(t, tab)
	checkVerified(t, st, true)
	require.NotEmpty(t, st.Shows)
	shown := st.Shows[len(st.Shows)-1]
	if shown.Persisted {
		t.Logf("shown again from the back/forward cache")
		require.Empty(t, blocker, "the page entered the back/forward cache in spite of %s", blocker)
	} else {
		t.Logf("shown again as a new document: navigation %s, transferSize %v", st.NavType, st.TransferSize)
		assert.Equal(t, "back_forward", st.NavType)
		assert.Zero(t, st.TransferSize, "nothing came over the network")
	}
	assert.Len(t, a.requestsTo("/cached", time.Time{}), 1, "the server served the page once")
	assert.Equal(t, embedded, st.embeddedExpiration(t), "the same page, with its own HMAC")
	assert.Less(t, parseExpiration(t, embedded).UnixMilli(), shown.At, "the page's own HMAC had expired when it was shown again")

	var fresh *standInEvent
	for i, ev := range st.StandIn.Events {
		if (ev.Type == "init" || ev.Type == "identify") && ev.At >= back {
			fresh = &st.StandIn.Events[i]
			break
		}
	}
	require.NotNil(t, fresh)
	assert.NotEqual(t, embedded, fresh.Expiration, "a fresh user object")
	assert.Greater(t, parseExpiration(t, fresh.Expiration).UnixMilli(), shown.At)
	assert.NotContains(t, st.StandIn.Events, standInEvent{Type: "init", Username: "alice", Expiration: embedded, At: fresh.At},
		"the page's own expired object was not handed over when it was shown again")
	assert.Equal(t, 1, st.StandIn.Inits, "one init in the document shown")
	// In a document shown again from the HTTP cache the runtime, from the
	// cache too, fetched the fresh object first and queued its init before
	// it appended the loader.
	checkLoader(t, st, "alice")
	runtime := a.runtimeRequests()
	require.Len(t, runtime, 1, "every document took the runtime from the browser's cache after the first: %s", statuses(runtime))
	noConsoleTrouble(t, console)
}

// loadersRan holds once every loader element in the document has run.
const loadersRan = `window.__pfStandIn && window.__pfStandIn.loads >= document.querySelectorAll('script[data-productfruits][src*="` + standin.Path + `"]').length`

// slowReady is how long after its HMAC verified the slow stand-in says
// it is ready.
const slowReady = 3 * time.Second

// testOneDocument drives Turbo Drive or htmx boosted navigation (library)
// through one document with the stand-in variant product: login, visits
// between logged-in pages, renewals, logout, login as another user, and a
// switch to a third user straight from a logged-in page. The product is
// inited once per user, each time by a fresh loader element, handed each
// later page's fresher object and each renewal's, destroyed on logout and
// before every other user's init, all without API misuse. The slow
// variant gets ready only once the app's clock moved on.
func testOneDocument(t *testing.T, b context.Context, library, product string) {
	// Renewals 4 s apart on the app's clock: after the slow stand-in's 3 s.
	ttl := 5 * time.Second
	a := startLifecycleApp(t, lifecycleOptions{ttl: ttl, library: library, product: product})
	tab, console := lifecycleTab(t, b)
	navigate(t, tab, a.url("/"))
	waitPage(t, tab, "/", "")
	version, err := chromedp.Run(tab, chromedp.Evaluate[string](map[string]string{
		turbo: `typeof Turbo === 'object' && Turbo.session.drive ? 'Turbo Drive on' : ''`,
		htmx:  `typeof htmx === 'object' && htmx.version.charAt(0) === '2' && htmx.version || ''`,
	}[library]))
	require.NoError(t, err)
	require.NotEmpty(t, version, "%s did not load", library)
	t.Logf("%s: %s", library, version)
	require.NoError(t, chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`)))
	sameDocument := func(st lifecycleState) {
		t.Helper()
		require.True(t, st.SameDocument, "%s loaded a new document", library)
		checkLoader(t, st, "alice")
		assert.Equal(t, product, st.StandIn.Variant)
	}
	// ready waits for the stand-in to verify username's init and, for the
	// slow one, moves the clock until it says it is ready.
	ready := func(username string) {
		t.Helper()
		waitEvents(t, tab, "init", username, 1)
		if product == "slow" {
			ok, err := evaluate[bool](tab, `window.productFruitsIsReady === true`)
			require.NoError(t, err)
			require.False(t, ok, "the slow stand-in was ready before its time")
			a.advance(t, slowReady, tab)
		}
		waitFor(t, tab, username+"'s product ready", `window.productFruitsIsReady === true`)
		waitFor(t, tab, "the loader elements to run", loadersRan)
	}

	t.Log("login")
	formLogin(t, tab, "alice")
	ready("alice")
	st := readLifecycleState(t, tab)
	sameDocument(st)
	assert.Equal(t, 1, st.StandIn.Inits)
	identified := len(st.events("identify", "alice"))

	t.Log("visits")
	visits := []struct{ link, path string }{{"to-1", "/page/1"}, {"to-2", "/page/2"}, {"to-1", "/page/1"}}
	for _, v := range visits {
		// The app signs each page a little later: a fresher object.
		a.advance(t, 100*time.Millisecond, tab)
		click(t, tab, v.link)
		waitPage(t, tab, v.path, "alice")
		// Each page's snippet hands its fresher object to identifyUser.
		identified++
		waitEvents(t, tab, "identify", "alice", identified)
	}
	st = readLifecycleState(t, tab)
	sameDocument(st)
	assert.Equal(t, 1, st.StandIn.Inits, "later pages' snippets never init again")
	assert.Equal(t, "init:alice", st.actionNames()[0])
	for _, name := range st.actionNames()[1:] {
		assert.Equal(t, "renew:alice", name)
	}

	t.Log("renewals")
	// One timer: each step of TTL - TTL/5 on the app's clock renews once
	// (a second timer would renew twice).
	since := time.Now()
	for i := 0; i < 2; i++ {
		a.advance(t, ttl-ttl/5, tab)
		identified++
		waitEvents(t, tab, "identify", "alice", identified)
	}
	renewals := a.identityRequests(since)
	assert.Len(t, renewals, 2, "identity requests: %s", statuses(renewals))
	for _, r := range renewals {
		assert.Equal(t, http.StatusOK, r.status)
	}

	t.Log("logout")
	formLogout(t, tab)
	waitEvents(t, tab, "destroy", "alice", 1)
	st = readLifecycleState(t, tab)
	sameDocument(st)
	assert.Equal(t, 1, st.StandIn.Inits)

	t.Log("login as another user")
	formLogin(t, tab, "bob")
	ready("bob")
	st = readLifecycleState(t, tab)
	sameDocument(st)
	assert.Equal(t, 2, st.StandIn.Inits)
	assert.Less(t, st.index("destroy", "alice"), st.index("init", "bob"), "alice's product stopped before bob's started")

	t.Log("switch users without logging out")
	formLogin(t, tab, "carol")
	ready("carol")
	st = readLifecycleState(t, tab)
	sameDocument(st)
	assert.Equal(t, 3, st.StandIn.Inits)
	require.Positive(t, st.index("destroy", "bob"))
	assert.Less(t, st.index("destroy", "bob"), st.index("init", "carol"), "bob's product stopped before carol's started")
	assert.Contains(t, st.actionNames(), "switch:carol")
	waitFor(t, tab, "carol's loader to run", `window.__pfStandIn.loads >= 3`)
	st = readLifecycleState(t, tab)
	assert.Equal(t, 3, st.StandIn.Loads, "a fresh loader element per init, as the npm package appends")

	checkVerified(t, st, true)
	for _, name := range []string{"alice", "bob", "carol"} {
		assert.Len(t, st.events("init", name), 1, "inits for %s", name)
	}
	assert.Len(t, st.events("destroy", ""), 2)
	status, err := evaluate[string](tab, `document.getElementById('productfruits-standin').textContent`)
	require.NoError(t, err)
	assert.Contains(t, status, "loaded for carol", "what the user sees")
	// The runtime came from the middleware's route, and the first page
	// that needed it (after the anonymous first page) brought it.
	runtime := a.runtimeRequests()
	require.NotEmpty(t, runtime)
	for _, r := range runtime {
		assert.Equal(t, http.StatusOK, r.status)
	}
	noConsoleTrouble(t, console)
}
