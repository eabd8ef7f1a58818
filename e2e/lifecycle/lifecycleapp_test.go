package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/demoapp"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/pfverify/productfruits/e2e/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The lifecycle tests' app: the demo's login, the stand-in and its HMAC check
// behind the middleware, with pages that load a real navigation library
// from npm (Turbo Drive, or htmx with hx-boost and head-support) or none.

// npmModules is where `npm ci --prefix e2e/npm` installs the
// libraries, seen from this package's directory.
const npmModules = "../npm/node_modules"

// npmFiles maps the paths the test pages load each library from to its
// file in npmModules: the builds a page loads with a plain <script src>.
var npmFiles = map[string]string{
	"/npm/turbo.js":        "@hotwired/turbo/dist/turbo.es2017-umd.js",
	"/npm/htmx.js":         "htmx.org/dist/htmx.min.js",
	"/npm/head-support.js": "htmx-ext-head-support/dist/head-support.js",
}

// npmMissing ends a test whose libraries are not installed: a skip, except
// under CI (CI=true), where a test that skips proves nothing and so fails.
func npmMissing(t testing.TB, ci string, err error) {
	t.Helper()
	const how = "run `npm ci --prefix e2e/npm` from the repository root"
	if ci == "true" {
		t.Fatalf("the browser libraries are not installed (%v) and CI=true: %s", err, how)
		return
	}
	t.Skipf("the browser libraries are not installed (%v): skipping outside CI; %s to run this test", err, how)
}

// endingTB records how a test would have ended instead of ending it.
type endingTB struct {
	testing.TB
	fatal, skip bool
}

func (f *endingTB) Helper()               {}
func (f *endingTB) Fatalf(string, ...any) { f.fatal = true }
func (f *endingTB) Skipf(string, ...any)  { f.skip = true }

func TestNPMMissing(t *testing.T) {
	for _, ci := range []string{"true", "", "false", "1"} {
		f := &endingTB{TB: t}
		npmMissing(f, ci, fs.ErrNotExist)
		assert.Equal(t, ci == "true", f.fatal, "CI=%q fails", ci)
		assert.Equal(t, ci != "true", f.skip, "CI=%q skips", ci)
	}
}

// npmHandler serves npmFiles from npmModules, read once; a missing file
// ends the test through npmMissing.
func npmHandler(t testing.TB) http.Handler {
	t.Helper()
	files := make(map[string][]byte, len(npmFiles))
	for path, file := range npmFiles {
		b, err := os.ReadFile(filepath.Join(npmModules, filepath.FromSlash(file)))
		if errors.Is(err, fs.ErrNotExist) {
			npmMissing(t, os.Getenv("CI"), err)
			return nil
		}
		require.NoError(t, err)
		files[path] = b
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	})
}

// The navigation libraries a lifecycle app's pages can load.
const (
	noLibrary = ""
	turbo     = "turbo"
	htmx      = "htmx"
)

type lifecycleOptions struct {
	ttl     time.Duration
	library string // noLibrary, turbo or htmx
	// prefix, when set, mounts the app under it with http.StripPrefix.
	prefix string
	// wall, when set, wraps what the middleware serves (pages, login,
	// identity endpoint): the app's own authentication in front of it.
	wall func(http.Handler) http.Handler
	// routes, when set, adds the test's own pages behind the middleware.
	routes func(a *lifecycleApp, pages *http.ServeMux)
	// product is the stand-in variant the pages load (see standin.js), or
	// a loader that fails: missing (404) or cspBlocked (the pages' policy
	// refuses its origin). "": the default stand-in.
	product string
	// inlineRuntime switches the identity endpoint off (IdentityPath "-"),
	// so that pages carry the runtime inline; it needs ttl 0.
	inlineRuntime bool
}

// The loaders that fail, besides the stand-in's variants.
const (
	missing    = "404"
	cspBlocked = "csp"
)

// testClock is the clock the app signs and verifies HMACs with and every
// lifecycle tab's Date.now and long timers read (clockScript): it stands
// still until the test moves it, so a busy machine makes nothing late.
type testClock struct {
	base time.Time
	off  atomic.Int64 // nanoseconds
}

func (c *testClock) Now() time.Time { return c.base.Add(time.Duration(c.off.Load())) }

// clockPath is where a tab's document reads the app's clock.
const clockPath = "/test/clock"

// clockScript runs in every document of a lifecycle tab before the page's
// scripts: Date.now is the app's clock (read at the document's start and
// when it comes back from the back/forward cache), and timers of a second
// or more (the runtime's renewal and its wait for ready, the slow stand-in)
// fire only when the test moves the clock past them, in order, through
// window.__clock.set(ms). Shorter timers (the navigation libraries'
// settle and progress delays, the runtime's first retry) run in real time.
const clockScript = `(function () {
  if (!/^https?:$/.test(location.protocol)) return;
  var now = 0, seq = 0, timers = [], realSet = window.setTimeout, realClear = window.clearTimeout;
  function read() {
    var x = new XMLHttpRequest();
    x.open('GET', location.origin + '` + clockPath + `', false);
    x.send();
    if (x.status !== 200) return false;
    now = Math.max(now, +x.responseText);
    return true;
  }
  try { if (!read()) return; } catch (e) { return; }
  Date.now = function () { return now; };
  window.setTimeout = function (fn, ms) {
    if (typeof fn !== 'function' || !(ms >= 1000)) return realSet.apply(window, arguments);
    timers.push({ id: 1e9 + (++seq), at: now + ms, seq: seq, fn: fn, args: Array.prototype.slice.call(arguments, 2) });
    return 1e9 + seq;
  };
  window.clearTimeout = function (id) {
    if (id > 1e9) { timers = timers.filter(function (t) { return t.id !== id; }); return; }
    return realClear.apply(window, arguments);
  };
  function set(to) {
    now = Math.max(now, to);
    for (;;) {
      var due = timers.filter(function (t) { return t.at <= now; }).sort(function (a, b) { return a.at - b.at || a.seq - b.seq; })[0];
      if (!due) return true;
      timers = timers.filter(function (t) { return t !== due; });
      try { due.fn.apply(window, due.args); } catch (e) { realSet(function () { throw e; }); }
    }
  }
  window.__clock = { set: set, pending: function () { return timers.length; } };
  window.addEventListener('pageshow', function (e) { if (e.persisted) { try { read(); } catch (x) {} set(now); } });
})();`

// request is one request the app served.
type request struct {
	path   string // as the browser sent it
	status int
	at     time.Time // when it arrived
}

type lifecycleApp struct {
	*httptest.Server
	opts    lifecycleOptions
	scripts []string // the library's <script src>s
	users   *demoapp.Sessions
	mw      *productfruits.Middleware
	clock   *testClock

	mu       sync.Mutex
	requests []request
}

var lifecyclePage = template.Must(template.New("lifecycle").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Page}}</title>
<link rel="icon" href="data:,">
{{- range .Scripts}}
<script src="{{.}}"></script>
{{- end}}
</head>
<body{{if .HTMX}} hx-boost="true" hx-ext="head-support"{{end}}>
<main id="page" data-page="{{.Page}}" data-user="{{.Username}}">
<h1>{{.Page}}{{if .Username}} for {{.Username}}{{end}}</h1>
<nav><a id="to-home" href="{{.Prefix}}/">home</a> <a id="to-1" href="{{.Prefix}}/page/1">one</a> <a id="to-2" href="{{.Prefix}}/page/2">two</a></nav>
<form id="login" method="post" action="{{.Prefix}}/login"><input id="username-input" name="username"> <button id="login-submit" type="submit">Log in</button></form>
{{- if .Username}}
<form id="logout" method="post" action="{{.Prefix}}/logout"><button id="logout-submit" type="submit">Log out</button></form>
{{- end}}
</main>
</body>
</html>
`))

// startLifecycleApp serves a lifecycle app on a 127.0.0.1 port of its own
// until the test ends. Its pages are "/", "/page/{n}" and "/cached",
// which asks for Cache-Control: max-age=600 (the middleware bounds it by
// the TTL); login and logout are the demo's, which redirect to "/".
func startLifecycleApp(t *testing.T, opts lifecycleOptions) *lifecycleApp {
	t.Helper()
	a := &lifecycleApp{opts: opts, clock: &testClock{base: time.Now()}}
	var npm http.Handler
	switch opts.library {
	case turbo:
		a.scripts = []string{"/npm/turbo.js"}
	case htmx:
		a.scripts = []string{"/npm/htmx.js", "/npm/head-support.js"}
	}
	if len(a.scripts) > 0 {
		npm = npmHandler(t)
	}
	logs := &pftest.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the app's log:\n%s", logs)
		}
	})
	srv := httptest.NewUnstartedServer(nil)
	a.users = &demoapp.Sessions{Store: demoapp.NewCookieStore(nil), Logger: logger}
	host := srv.Listener.Addr().String()
	loader := "http://" + host + standin.Path
	switch opts.product {
	case "":
	case missing:
		loader = "http://" + host + "/demo/missing.js"
	case cspBlocked:
		// Another origin than the pages', which their policy does not list.
		loader = "http://localhost:" + host[strings.LastIndexByte(host, ':')+1:] + standin.Path
	default:
		loader += "?variant=" + opts.product
	}
	identityPath := ""
	if opts.inlineRuntime {
		identityPath = "-"
	}
	mw, err := productfruits.New(productfruits.Config{
		WorkspaceCode: pftest.Workspace,
		Secret:        productfruits.NewSecret(pftest.Secret),
		TTL:           opts.ttl,
		Username:      a.users.Username(),
		Inject:        true,
		ScriptURL:     loader,
		IdentityPath:  identityPath,
		Logger:        logger,
		Now:           a.clock.Now,
	})
	require.NoError(t, err)

	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", a.page("private, no-store"))
	pages.HandleFunc("GET /page/{n}", a.page("private, no-store"))
	pages.HandleFunc("GET /cached", a.page("max-age=600"))
	pages.HandleFunc("POST /login", a.users.Login)
	pages.HandleFunc("POST /logout", a.users.Logout)
	a.mw = mw
	if opts.routes != nil {
		opts.routes(a, pages)
	}
	served := mw.Handler(pages)
	if opts.wall != nil {
		served = opts.wall(served)
	}

	root := http.NewServeMux()
	if opts.prefix == "" {
		root.Handle("/", served)
	} else {
		root.Handle(opts.prefix+"/", http.StripPrefix(opts.prefix, served))
		// The demo's login and logout redirect to "/".
		root.Handle("GET /{$}", http.RedirectHandler(opts.prefix+"/", http.StatusSeeOther))
	}
	root.HandleFunc("GET "+standin.Path, standin.ServeLoader)
	root.Handle("POST "+standin.VerifyPath, &standin.Verifier{Workspace: pftest.Workspace, Signer: mw.Signer(), Now: a.clock.Now})
	root.HandleFunc("GET "+clockPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte(strconv.FormatInt(a.clock.Now().UnixMilli(), 10)))
	})
	if npm != nil {
		root.Handle("GET /npm/", npm)
	}
	srv.Config.Handler = a.record(root)
	srv.Start()
	t.Cleanup(srv.Close)
	a.Server = srv
	return a
}

// page serves the page at the request's path with cacheControl.
func (a *lifecycleApp) page(cacheControl string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		data := struct {
			Page, Username, Prefix string
			Scripts                []string
			HTMX                   bool
		}{r.URL.Path, a.users.User(r), a.opts.prefix, a.scripts, a.opts.library == htmx}
		var buf bytes.Buffer
		if err := lifecyclePage.Execute(&buf, data); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", cacheControl)
		h.Set("Content-Type", "text/html; charset=utf-8")
		if a.opts.product == cspBlocked {
			h.Set("Content-Security-Policy", "script-src 'self' 'unsafe-inline'")
		}
		w.Write(buf.Bytes())
	}
}

// statusRecorder keeps the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// record keeps every request next serves, in a.requests.
func (a *lifecycleApp) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		a.mu.Lock()
		a.requests = append(a.requests, request{path: r.URL.Path, status: rec.status, at: at})
		a.mu.Unlock()
	})
}

// requestsTo returns the requests for path that arrived at or after since.
func (a *lifecycleApp) requestsTo(path string, since time.Time) []request {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []request
	for _, req := range a.requests {
		if req.path == path && !req.at.Before(since) {
			out = append(out, req)
		}
	}
	return out
}

// advance moves the app's clock by d, and the clock of the documents the
// tabs show, which fires their long timers that fell due, in order.
func (a *lifecycleApp) advance(t *testing.T, d time.Duration, tabs ...context.Context) {
	t.Helper()
	a.clock.off.Add(int64(d))
	now := a.clock.Now().UnixMilli()
	for _, tab := range tabs {
		ok, err := evaluate[bool](tab, fmt.Sprintf(`!!window.__clock && window.__clock.set(%d)`, now))
		require.NoError(t, err)
		require.True(t, ok, "the tab's document has no test clock")
	}
}

// identityPath is where the browser reaches the identity endpoint.
func (a *lifecycleApp) identityPath() string {
	return a.opts.prefix + productfruits.DefaultIdentityPath
}

// url returns the absolute URL of the app's path (under its prefix).
func (a *lifecycleApp) url(path string) string {
	return a.URL + a.opts.prefix + path
}

// runtimeRequests returns the browser's requests for the lifecycle
// runtime (under the prefix, at any version). The middleware's own
// question whether the runtime's URL reaches it goes through the server's
// handler in-process, and so through record, answered 204: it is no
// browser's request. Nor is a range request answered 206: the browser
// completing an entry it had cached in part (a second document reading
// it while the first was still writing it, on a busy machine).
func (a *lifecycleApp) runtimeRequests() []request {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []request
	for _, req := range a.requests {
		if strings.HasPrefix(req.path, a.identityPath()+"/lifecycle.") && req.status != http.StatusNoContent && req.status != http.StatusPartialContent {
			out = append(out, req)
		}
	}
	return out
}

// identityRequests returns the identity endpoint's requests since since.
func (a *lifecycleApp) identityRequests(since time.Time) []request {
	return a.requestsTo(a.identityPath(), since)
}

// statuses lists the requests' statuses, for messages.
func statuses(reqs []request) string {
	var b strings.Builder
	for i, r := range reqs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(r.at.Format("15:04:05.000"))
		b.WriteString("=")
		b.WriteString(http.StatusText(r.status))
	}
	return b.String()
}
