package sharedcache

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/cors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pfverify/productfruits"
)

// chromiumPath is the browser to run: $CHROMIUM_PATH, Debian's
// /usr/bin/chromium, else chromium on PATH.
func chromiumPath() (string, bool) {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p, true
	}
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium", true
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, true
	}
	return "", false
}

// startChromium launches a headless Chromium with a fresh profile that
// stops when the test ends, and returns a tab in a browser context of its
// own (cookies included).
func startChromium(t *testing.T) context.Context {
	t.Helper()
	path, ok := chromiumPath()
	if !ok {
		ciMissing(t, "Chromium", "apt-get install -y chromium")
		return nil
	}
	dir, err := os.MkdirTemp("", "sharedcache-chromium-")
	require.NoError(t, err)
	// Third-party cookies allowed (Chromium blocks them by user
	// preference otherwise): the SameSite=None cookie can then go along
	// with the cross-site page's credentialed requests too.
	require.NoError(t, os.MkdirAll(dir+"/Default", 0o700))
	require.NoError(t, os.WriteFile(dir+"/Default/Preferences",
		[]byte(`{"profile":{"cookie_controls_mode":0,"block_third_party_cookies":false}}`), 0o600))
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // tests run as root in containers
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the browser to exit
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// The first run starts the browser; a timeout on it would stop the
	// browser when it fires.
	require.NoError(t, chromedp.Do(browserCtx), "starting %s", path)
	tab, cancelTab := chromedp.NewContext(browserCtx)
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	t.Cleanup(func() {
		cancel()
		cancelTab()
	})
	require.NoError(t, chromedp.Do(ctx))
	return ctx
}

// endpointRequest is what the server saw of one request for the identity
// endpoint, and what it answered.
type endpointRequest struct {
	URI, Site, Mode, Dest, Origin, User string
	Status                              int
	CORP, AllowOrigin, AllowCredentials string
	Body                                string
}

// recorder keeps every request for the identity endpoint.
type recorder struct {
	mu   sync.Mutex
	seen []endpointRequest
}

func (rec *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != productfruits.DefaultIdentityPath && r.URL.RawQuery != "productfruits=identity" {
			next.ServeHTTP(w, r)
			return
		}
		user, _ := username(r)
		cw := &capture{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(cw, r)
		h := w.Header()
		rec.mu.Lock()
		rec.seen = append(rec.seen, endpointRequest{
			URI: r.RequestURI, Site: r.Header.Get("Sec-Fetch-Site"), Mode: r.Header.Get("Sec-Fetch-Mode"),
			Dest: r.Header.Get("Sec-Fetch-Dest"), Origin: r.Header.Get("Origin"), User: user,
			Status: cw.status, CORP: h.Get("Cross-Origin-Resource-Policy"),
			AllowOrigin: h.Get("Access-Control-Allow-Origin"), AllowCredentials: h.Get("Access-Control-Allow-Credentials"),
			Body: cw.body.String(),
		})
		rec.mu.Unlock()
	})
}

func (rec *recorder) requests() []endpointRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]endpointRequest(nil), rec.seen...)
}

// capture records the status and the body a handler writes.
type capture struct {
	http.ResponseWriter
	status int
	body   strings.Builder
}

func (c *capture) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *capture) Write(p []byte) (int, error) {
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}

// attackerScript tries every way a page of another origin has to get at
// the endpoint's answer with the victim's credentials, and resolves
// window.__attempts to what its JavaScript could observe of each.
// window.__page does the same for the victim's logged-in page.
const attackerScript = `(() => {
const targets = TARGETS;
const page = PAGE;
const errors = [];
window.addEventListener('error', e => { errors.push(String(e.message)); }, true);
const run = (kind, url, fn) => Promise.race([
	fn(url).then(r => Object.assign({kind, url}, r), e => ({kind, url, error: String(e)})),
	new Promise(res => setTimeout(() => res({kind, url, error: 'timeout'}), 10000)),
]);
const read = opts => async u => {
	const r = await fetch(u, opts);
	let body = '';
	try { body = await r.text(); } catch (e) { body = 'unreadable: ' + e; }
	return {status: r.status, type: r.type, body};
};
const xhr = u => new Promise(res => {
	const x = new XMLHttpRequest();
	x.open('GET', u);
	x.withCredentials = true;
	x.onload = () => res({status: x.status, body: x.responseText});
	x.onerror = () => res({status: x.status, error: 'network error', body: x.responseText});
	x.send();
});
const script = u => new Promise(res => {
	const s = document.createElement('script');
	s.src = u;
	s.onload = () => res({loaded: true, body: errors.join('\n')});
	s.onerror = () => res({loaded: false, body: errors.join('\n')});
	document.head.appendChild(s);
});
const img = u => new Promise(res => {
	const i = new Image();
	i.onload = () => res({loaded: true, body: String(i.naturalWidth)});
	i.onerror = () => res({loaded: false});
	i.src = u;
});
const jobs = [];
for (const u of targets) {
	jobs.push(run('fetch credentials:include', u, read({credentials: 'include'})));
	jobs.push(run('fetch no-cors credentials:include', u, read({mode: 'no-cors', credentials: 'include'})));
	jobs.push(run('XHR withCredentials', u, xhr));
	jobs.push(run('<script src>', u, script));
	jobs.push(run('<img src>', u, img));
}
window.__attempts = Promise.all(jobs);
window.__page = run('fetch page credentials:include', page, read({credentials: 'include'}));
})();`

// attempt is what the attacker's JavaScript observed of one try.
type attempt struct {
	Kind   string `json:"kind"`
	URL    string `json:"url"`
	Status int    `json:"status"`
	Type   string `json:"type"`
	Body   string `json:"body"`
	Loaded bool   `json:"loaded"`
	Error  string `json:"error"`
}

// attackerServer serves attackerScript, aimed at the app at appURL, on a
// loopback port and returns the server's port.
func attackerServer(t *testing.T, appURL string) int {
	t.Helper()
	targets, _ := json.Marshal([]string{
		appURL + productfruits.DefaultIdentityPath,
		appURL + "/app?productfruits=identity",
	})
	page, _ := json.Marshal(appURL + "/app")
	js := strings.NewReplacer("TARGETS", string(targets), "PAGE", string(page)).Replace(attackerScript)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>attacker</title></head><body><script>%s</script></body></html>", js)
	}))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	return p
}

// TestCrossOriginIdentity serves the app on 127.0.0.1 behind rs/cors
// reflecting any origin with credentials (the wiring of issue 19, item 3),
// logs alice in, and lets two attacker pages try to read her identity:
// one on 127.0.0.1 at another port (same site: her cookies go along,
// Sec-Fetch-Site: same-site) and one on localhost (another site). Every
// way a page has (fetch, XHR withCredentials, no-cors fetch, <script>,
// <img>) at both forms of the endpoint must leave the attacker's
// JavaScript nothing of alice's, and the server must have answered each
// of those requests 403, with no hash and with
// Cross-Origin-Resource-Policy: same-origin.
//
// The control: the app's own page fetches the endpoint same-origin and
// gets alice's verified object, and the same-site attacker's requests did
// carry alice's cookie, so a 403 there is the endpoint's refusal, not a
// missing login.
func TestCrossOriginIdentity(t *testing.T) {
	tab := startChromium(t)
	a := newApp(t)
	rec := &recorder{}
	reflective := cors.New(cors.Options{
		AllowOriginFunc:  func(string) bool { return true },
		AllowCredentials: true,
	})
	appSrv := httptest.NewServer(rec.wrap(reflective.Handler(a.handler)))
	t.Cleanup(appSrv.Close)
	appURL := appSrv.URL // http://127.0.0.1:<p1>
	sameSite := fmt.Sprintf("http://127.0.0.1:%d/", attackerServer(t, appURL))
	crossSite := fmt.Sprintf("http://localhost:%d/", attackerServer(t, appURL))

	// Alice logs in: the browser stores her session cookies for 127.0.0.1.
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(appURL+"/login?user=alice")))

	// Control: the app's own page reads alice's object from both forms.
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(appURL+"/app")))
	own, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`Promise.all(['`+productfruits.DefaultIdentityPath+
		`', '/app?productfruits=identity'].map(u => fetch(u).then(r => r.text())))`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	var aliceHashes []string
	for _, body := range own {
		users := userObjects(body)
		require.Len(t, users, 1, "the app's own page did not read alice's object from the endpoint: %s", body)
		require.True(t, verifies(t, users[0], "alice"), "same-origin answer is not alice's verified object: %s", body)
		aliceHashes = append(aliceHashes, users[0].HMAC.Hash)
	}
	sameOrigin := 0
	for _, r := range rec.requests() {
		if r.Site == "same-origin" && r.Status == http.StatusOK && r.User == "alice" {
			sameOrigin++
		}
	}
	require.Equal(t, 2, sameOrigin, "the server did not see the control's two same-origin requests answered 200 for alice: %+v", rec.requests())

	for _, attacker := range []struct{ name, url, site string }{
		{"same-site", sameSite, "same-site"},
		{"cross-site", crossSite, "cross-site"},
	} {
		t.Run(attacker.name, func(t *testing.T) {
			before := len(rec.requests())
			require.NoError(t, chromedp.Do(tab, chromedp.Navigate(attacker.url)))
			attempts, err := chromedp.Run(tab, chromedp.Evaluate[[]attempt](`window.__attempts`, chromedp.EvalAwaitPromise))
			require.NoError(t, err)
			page, err := chromedp.Run(tab, chromedp.Evaluate[attempt](`window.__page`, chromedp.EvalAwaitPromise))
			require.NoError(t, err)
			require.Len(t, attempts, 10, "the attacker page did not report every attempt")

			// What the attacker's JavaScript could read.
			for _, at := range attempts {
				seen, _ := json.Marshal(at)
				t.Logf("attacker JS saw: %s", seen)
				assert.NotContains(t, string(seen), "alice", "%s of %s: alice's username readable from %s", at.Kind, at.URL, attacker.url)
				assert.NotContains(t, string(seen), "hmac", "%s of %s: a signed object readable from %s", at.Kind, at.URL, attacker.url)
				for _, h := range aliceHashes {
					assert.False(t, containsHash(string(seen), h), "%s of %s: alice's hash readable from %s", at.Kind, at.URL, attacker.url)
				}
			}

			// What the server answered.
			got := rec.requests()[before:]
			var fromAttacker []endpointRequest
			for _, r := range got {
				t.Logf("server saw: %s Sec-Fetch-Site=%q Mode=%q Dest=%q Origin=%q user=%q → %d CORP=%q ACAO=%q ACAC=%q",
					r.URI, r.Site, r.Mode, r.Dest, r.Origin, r.User, r.Status, r.CORP, r.AllowOrigin, r.AllowCredentials)
				assert.Equal(t, "same-origin", r.CORP, "%s: the endpoint's answer has no Cross-Origin-Resource-Policy: same-origin", r.URI)
				if r.Site == "same-origin" || r.Site == "none" {
					continue
				}
				fromAttacker = append(fromAttacker, r)
				assert.Equal(t, http.StatusForbidden, r.Status, "%s from %s (Sec-Fetch-Site %q, mode %q): want 403", r.URI, attacker.url, r.Site, r.Mode)
				assert.NotContains(t, r.Body, "hash", "%s from %s: the answer carries a hash", r.URI, attacker.url)
				assert.NotContains(t, r.Body, "alice", "%s from %s: the answer names alice", r.URI, attacker.url)
			}
			// Every try reached the server as a request of the attacker's
			// site (the browser may block reading, never sending).
			require.GreaterOrEqual(t, len(fromAttacker), 10, "the server saw too few of the attacker's requests")
			withAlice := 0
			for _, r := range fromAttacker {
				assert.Equal(t, attacker.site, r.Site, "%s: Sec-Fetch-Site", r.URI)
				if r.User == "alice" {
					withAlice++
				}
			}
			t.Logf("%d of the %d requests from the %s page carried alice's cookie", withAlice, len(fromAttacker), attacker.name)
			// Same-site requests carry her Lax cookie, cross-site ones the
			// SameSite=None one (third-party cookies are allowed in this
			// profile): the endpoint knew it was alice and still refused.
			assert.Positive(t, withAlice, "no request of the %s page carried alice's cookie: its 403s prove nothing", attacker.name)

			// Behind this CORS layer the logged-in page itself is a
			// credentialed read too: the middleware signs nobody for a
			// fetch from another origin, so the page it reads carries no
			// hash.
			assert.NotContains(t, page.Body, `"hmac"`, "the %s page read a signed user object from alice's page (%s, status %d)", attacker.name, page.URL, page.Status)
			assert.NotContains(t, page.Body, `"username":"alice"`, "the %s page read alice's user object from her page", attacker.name)
		})
	}
}
