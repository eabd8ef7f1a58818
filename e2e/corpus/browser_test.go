package corpus

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "embed"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/browser"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tabCount is how many tabs load pages at the same time.
const tabCount = 3

//go:embed testdata/snapshot.js
var snapshotJS string

// snapshotMarker is what snapshot.js writes to the console last.
const snapshotMarker = "productfruits-corpus: snapshot taken"

// startMarker, with the URL after it, is what documentStart writes to the
// console first.
const startMarker = "productfruits-corpus: document "

// documentStart runs in every document before the document's own scripts:
// it marks where a page's console begins.
const documentStart = `if (window === window.top) console.debug(` + "'" + startMarker + "'" + ` + location.href);`

// snapshot is what testdata/snapshot.js reads from a loaded page, and the
// console errors and uncaught exceptions the page logged before.
type snapshot struct {
	URL           string   `json:"url"`
	ContentType   string   `json:"contentType"`
	CharacterSet  string   `json:"characterSet"`
	CompatMode    string   `json:"compatMode"`
	RootNamespace string   `json:"rootNamespace"`
	ParserErrors  int      `json:"parserErrors"`
	DOM           []string `json:"dom"`
	Icons         []string `json:"icons"`
	Snippet       []struct {
		Tag    string `json:"tag"`
		Src    string `json:"src"`
		Nonce  string `json:"nonce"`
		InHead bool   `json:"inHead"`
		Parent string `json:"parent"`
	} `json:"snippet"`
	LoaderRuns int    `json:"loaderRuns"`
	LoaderSaw  string `json:"loaderSaw"`
	Queue      string `json:"queue"`
	Console    []string
}

// startBrowser is browser.Start with two settings that make a page's
// loads all happen before its load event, and quickly, so that two loads
// of a page log the same: every host name but the test server's fails to
// resolve at once (each tab's list of blocked URLs stops the pages' own
// requests, but not the navigations of their frames, which would wait on
// a name server in a closed network for seconds), and images and frames
// marked loading="lazy" load at once, not when layout brings them near
// the viewport.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	execPath, ok := browser.Path()
	if !ok {
		// browser.Start skips, or fails under CI=true, with the message
		// that says what to install.
		return browser.Start(t)
	}
	dir, err := os.MkdirTemp("", "chromium-profile-")
	require.NoError(t, err)
	opts := append(browser.Options(execPath, dir),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("blink-settings", "lazyLoadEnabled=false"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the browser process to exit
		// Chromium's helpers may still be writing for a moment.
		for range 50 {
			if err := os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove the Chromium profile %s", dir)
	})
	// The first Run starts the browser; a timeout on it would stop the
	// browser when it fires.
	require.NoError(t, chromedp.Do(browserCtx), "starting %s", execPath)
	return browserCtx
}

// tab is a tab of the browser that loads one page after another. It
// reaches nothing outside the test server, and its console is recorded
// throughout.
type tab struct {
	ctx     context.Context
	console *browser.Console

	mu       sync.Mutex
	inflight map[network.RequestID]string // the URLs of the requests in flight
	dialogs  []string                     // the alerts, confirms and prompts the page opened
}

func (cs *corpusServer) newTab(t *testing.T, b context.Context) *tab {
	t.Helper()
	ctx := browser.NewTab(t, b, 10*time.Minute)
	require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: []*network.BlockPattern{
			{URLPattern: cs.URL + "/*", Block: false},
			{URLPattern: "*://*:*/*", Block: true},
		}})
		return err
	})))
	require.NoError(t, browser.OnNewDocument(ctx, documentStart))
	tb := &tab{ctx: ctx, console: browser.Record(ctx), inflight: map[network.RequestID]string{}}
	require.NoError(t, chromedp.Listen(ctx, tb.track))
	return tb
}

// track keeps count of the requests in flight, and notes and dismisses
// the page's dialogs, which would stop it until someone answered.
func (tb *tab) track(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch e := ev.(type) {
	case *page.EventJavascriptDialogOpening:
		tb.dialogs = append(tb.dialogs, "dialog: "+string(e.Type)+": "+e.Message)
		go func() {
			// Listen's callback must not run a command itself; a dialog
			// left open fails the page on its timeout.
			_, _ = chromedp.Call(tb.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}()
	case *network.EventRequestWillBeSent:
		// Not the browser's own fetch of the page's icon, which may never
		// report its end, nor blob: and data: URLs, which never reach
		// the network.
		icon := e.Type == network.ResourceTypeOther && e.Initiator != nil && e.Initiator.Type == network.InitiatorTypeOther
		if !icon && !strings.HasPrefix(e.Request.URL, "blob:") && !strings.HasPrefix(e.Request.URL, "data:") {
			tb.inflight[e.RequestID] = e.Request.URL
		}
	case *network.EventLoadingFinished:
		delete(tb.inflight, e.RequestID)
	case *network.EventLoadingFailed:
		delete(tb.inflight, e.RequestID)
	}
}

// settle waits until no request has been in flight for a moment: what
// the page fetches without holding up the load event (preloads, what its
// scripts fetch) then has failed or arrived, and the console has said so.
func (tb *tab) settle(t *testing.T, url string) {
	t.Helper()
	quiet := 0
	for deadline := time.Now().Add(5 * time.Second); quiet < 2; time.Sleep(20 * time.Millisecond) {
		tb.mu.Lock()
		n := len(tb.inflight)
		tb.mu.Unlock()
		if n > 0 {
			quiet = 0
		} else {
			quiet++
		}
		if time.Now().After(deadline) {
			tb.mu.Lock()
			t.Logf("%s: still in flight after 5s: %.300q", url, slices.Collect(maps.Values(tb.inflight)))
			tb.mu.Unlock()
			return
		}
	}
}

// load opens url with the test server's cookies and storage cleared, so
// that nothing of the previous page is left, and returns the page as
// snapshot.js reads it once the load event has passed and the network is
// quiet, with the console errors and uncaught exceptions the page logged
// until then: sorted, without repeats, the page's URL written alike for
// both copies, and without what the console says about the page's icon.
func (tb *tab) load(t *testing.T, cs *corpusServer, url string) snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, storage.ClearDataForOrigin, storage.ClearDataForOriginParams{Origin: cs.URL, StorageTypes: "all"})
		return err
	})))
	tb.mu.Lock()
	clear(tb.inflight)
	tb.dialogs = nil
	tb.mu.Unlock()
	start := len(tb.console.Messages())
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url)))
	tb.settle(t, url)
	snap, err := chromedp.Run(ctx, chromedp.Evaluate[snapshot](snapshotJS))
	require.NoError(t, err)
	for _, m := range tb.pageConsole(t, start, url) {
		if m.Source == "network" && slices.Contains(snap.Icons, m.URL) {
			continue
		}
		if m.Type == chromedp.ConsoleError || m.IsException() {
			// Each <use> of an SVG sprite that fails names its own
			// fragment; the first to fail wins.
			at, _, _ := strings.Cut(m.URL, "#")
			snap.Console = append(snap.Console, cs.normalize(m.String()+" @ "+at))
		}
	}
	tb.mu.Lock()
	snap.Console = append(snap.Console, tb.dialogs...)
	tb.mu.Unlock()
	slices.Sort(snap.Console)
	snap.Console = slices.Compact(snap.Console)
	return snap
}

// pageConsole returns what the page at url logged, of what the tab
// recorded from index start on: the messages between the markers that
// documentStart and snapshot.js write. The snapshot's marker arrives after
// everything the page logged before it; a page that silenced
// console.debug gets a second.
func (tb *tab) pageConsole(t *testing.T, start int, url string) []chromedp.ConsoleMessage {
	t.Helper()
	for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
		msgs := tb.console.Messages()[start:]
		end := slices.IndexFunc(msgs, func(m chromedp.ConsoleMessage) bool { return m.Text == snapshotMarker })
		if end < 0 && time.Now().Before(deadline) {
			continue
		}
		if end < 0 {
			t.Logf("%s: no snapshot marker in the console", url)
			end = len(msgs)
		}
		msgs = msgs[:end]
		begin := slices.IndexFunc(msgs, func(m chromedp.ConsoleMessage) bool { return m.Text == startMarker+url })
		require.GreaterOrEqual(t, begin, 0, "%s: no start marker in the console", url)
		return msgs[begin+1:]
	}
}

// normalize writes the page's URL alike for its two copies.
func (cs *corpusServer) normalize(s string) string {
	s = strings.ReplaceAll(s, cs.URL+"/orig/", "PAGE/")
	return strings.ReplaceAll(s, cs.URL+"/inj/", "PAGE/")
}

// initCalls returns the init commands of a command queue as the browser
// serialised it.
func initCalls(t *testing.T, queue string) [][]json.RawMessage {
	t.Helper()
	var cmds [][]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(queue), &cmds), queue)
	var inits [][]json.RawMessage
	for _, c := range cmds {
		var verb string
		if len(c) > 0 && json.Unmarshal(c[0], &verb) == nil && verb == "init" {
			inits = append(inits, c)
		}
	}
	return inits
}

// firstDifference describes where two serialised documents part.
func firstDifference(orig, inj []string) string {
	for i := range min(len(orig), len(inj)) {
		if orig[i] != inj[i] {
			before := orig[max(0, i-3):i]
			return fmt.Sprintf("line %d:\n  original: %.400s\n  injected: %.400s\n  after:\n    %s",
				i, orig[i], inj[i], strings.Join(before, "\n    "))
		}
	}
	return fmt.Sprintf("the original has %d nodes, the injected page %d", len(orig), len(inj))
}

// A mode is how the pages are served: with their own scripts blocked by
// the server's Content-Security-Policy, whose nonce only the snippet's
// scripts carry, so that the documents are what the parser built and can
// be compared node for node; or with their inline scripts running (their
// external ones are not found or blocked), to meet the snippet.
var modes = []struct{ name, query string }{
	{"scripts blocked", ""},
	{"scripts on", "?scripts=on"},
}

// TestCorpusInBrowser loads a fixed sample of the real-world pages the
// middleware injects, and every XHTML page it injects, in headless
// Chromium, each as the original and through the middleware, in both
// modes. The injected page must hold the snippet's two scripts in <head>
// (the page data and the runtime, fetched from the middleware), push one
// init for the corpus user before the loader runs, have the runtime
// append the loader to <head> and run it once, log the same console errors and exceptions as the
// original, keep its encoding, rendering mode and content type, render
// an XHTML page as XHTML, and, with the pages' scripts blocked, be the
// original document node for node once the snippet is left out.
func TestCorpusInBrowser(t *testing.T) {
	dir := corpusDir()
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the HTML corpus is missing (../shared/html-corpus or $%s) and CI=true", corpusEnv)
		}
		t.Skipf("the HTML corpus is missing: put it at ../shared/html-corpus or set $%s", corpusEnv)
	}
	pages := readRealworld(t, dir)
	cs := newCorpusServer(t, pages)
	sample, counts := cs.sample(t, pages)
	for _, folder := range slices.Sorted(maps.Keys(counts)) {
		t.Logf("%-12s %3d injected, %3d untouched", folder, counts[folder][0], counts[folder][1])
	}
	t.Logf("loading %d injected pages in %d tabs", len(sample), tabCount)
	b := startBrowser(t)
	signer := pftest.NewSigner(t, secret)

	tabs := make([]*tab, tabCount)
	for i := range tabs {
		tabs[i] = cs.newTab(t, b)
	}
	queue := make(chan corpusPage)
	var wg sync.WaitGroup
	for _, tb := range tabs {
		wg.Go(func() {
			for p := range queue {
				t.Run(p.name, func(t *testing.T) { checkPage(t, cs, tb, signer, p) })
			}
		})
	}
	for _, p := range sample {
		queue <- p
	}
	close(queue)
	wg.Wait()
}

func checkPage(t *testing.T, cs *corpusServer, tb *tab, signer *productfruits.Signer, p corpusPage) {
	for _, mode := range modes {
		origURL, injURL := cs.URL+"/orig/"+p.name+mode.query, cs.URL+"/inj/"+p.name+mode.query
		orig := tb.load(t, cs, origURL)
		inj := tb.load(t, cs, injURL)

		require.Equal(t, origURL, orig.URL, "%s: the original stayed where it was loaded", mode.name)
		require.Equal(t, injURL, inj.URL, "%s: the injected page stayed where it was loaded", mode.name)
		assert.Empty(t, orig.Snippet, mode.name)
		// The loader's preload, the page data script and the runtime's
		// element, from the middleware, and the loader the runtime
		// appended to <head>.
		require.Len(t, inj.Snippet, 4, "%s: the snippet's three elements and the loader", mode.name)
		// In document order, less the preload; the loader the runtime
		// appended to <head> last, where the page's scripts moved the
		// parser (and the snippet) out of <head>.
		scripts := inj.Snippet[:0:0]
		for _, s := range inj.Snippet {
			if s.Tag != "link" && s.Src != cs.URL+"/loader.js" {
				scripts = append(scripts, s)
			}
		}
		for _, s := range inj.Snippet {
			if s.Tag != "link" && s.Src == cs.URL+"/loader.js" {
				scripts = append(scripts, s)
			}
		}
		require.Len(t, scripts, 3, "%s: one of the elements is the loader's preload", mode.name)
		inj.Snippet = scripts
		assert.Empty(t, inj.Snippet[0].Src, "%s: the page data script is inline", mode.name)
		assert.Equal(t, cs.runtimePath, inj.Snippet[1].Src, "%s: the runtime from the middleware", mode.name)
		assert.Equal(t, cs.URL+"/loader.js", inj.Snippet[2].Src, "%s: the loader, appended by the runtime", mode.name)
		assert.True(t, inj.Snippet[2].InHead, "%s: the loader is a child of <head>, not of %s", mode.name, inj.Snippet[2].Parent)
		for i, s := range inj.Snippet {
			assert.Equal(t, "script", s.Tag, mode.name)
			if mode.query == "" {
				assert.Equal(t, nonce, s.Nonce, "%s: element %d carries the page's nonce", mode.name, i)
			}
			switch {
			case mode.query == "":
				assert.True(t, s.InHead, "%s: the snippet's scripts are children of <head>, not of %s", mode.name, s.Parent)
			case !s.InHead:
				// A page's own script in <head> may document.write text,
				// and the parser then leaves the head before the snippet,
				// as before the page's own later head elements.
				t.Logf("%s: the page's scripts moved the parser out of <head>; the snippet's %s is a child of %s", mode.name, s.Tag, s.Parent)
			}
		}

		inits := initCalls(t, inj.Queue)
		require.Len(t, inits, 1, "%s: one init in window.$productFruits: %s", mode.name, inj.Queue)
		call := inits[0]
		require.Len(t, call, 4, "%s: ['init', workspace, language, user]", mode.name)
		assert.JSONEq(t, `"`+workspace+`"`, string(call[1]), mode.name)
		assert.JSONEq(t, `"en"`, string(call[2]), mode.name)
		var user productfruits.User
		require.NoError(t, json.Unmarshal(call[3], &user))
		pftest.VerifyUser(t, signer, user, username)
		assert.Equal(t, 1, inj.LoaderRuns, "%s: the loader ran once", mode.name)
		assert.Len(t, initCalls(t, inj.LoaderSaw), 1, "%s: the init was queued when the loader ran", mode.name)

		assert.Equal(t, orig.Console, inj.Console, "%s: console errors and exceptions", mode.name)
		assert.Equal(t, orig.CharacterSet, inj.CharacterSet, "%s: document.characterSet", mode.name)
		assert.Equal(t, orig.CompatMode, inj.CompatMode, "%s: document.compatMode", mode.name)
		assert.Equal(t, orig.ContentType, inj.ContentType, "%s: document.contentType", mode.name)
		if p.contentType == "application/xhtml+xml" {
			assert.Equal(t, "http://www.w3.org/1999/xhtml", orig.RootNamespace, "%s: the original is XHTML", mode.name)
			assert.Zero(t, orig.ParserErrors, "%s: the original parses as XML", mode.name)
			assert.Equal(t, "http://www.w3.org/1999/xhtml", inj.RootNamespace, "%s: the injected page is XHTML", mode.name)
			assert.Zero(t, inj.ParserErrors, "%s: the injected page parses as XML", mode.name)
		}
		if mode.query == "" && !slices.Equal(orig.DOM, inj.DOM) {
			t.Errorf("%s: the document without the snippet is not the original; %s", mode.name, firstDifference(orig.DOM, inj.DOM))
		}
	}
}
