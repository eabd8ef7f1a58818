// Package browser launches a headless Chromium for the end-to-end tests,
// through chromedp, and opens isolated tabs in it.
//
// A test calls Start once and NewTab per case:
//
//	b := browser.Start(t)
//	tab := browser.NewTab(t, b, 20*time.Second)
//	err := chromedp.Do(tab, chromedp.Navigate(srv.URL))
//
// When no Chromium is installed, Start skips the test, except under CI
// (CI=true), where a missing browser is a failure: a browser test that
// silently skips in CI proves nothing.
package browser

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// DefaultPath is where Debian's chromium package installs the browser.
const DefaultPath = "/usr/bin/chromium"

// PathEnv names the environment variable that, when set, gives the browser
// to run instead of DefaultPath.
const PathEnv = "CHROMIUM_PATH"

// Path returns the Chromium executable to run: $CHROMIUM_PATH, else
// DefaultPath, else the first of chromium, chromium-browser,
// google-chrome-stable and google-chrome on PATH. It reports false when
// there is none.
func Path() (string, bool) {
	if p := os.Getenv(PathEnv); p != "" {
		return p, true
	}
	if fi, err := os.Stat(DefaultPath); err == nil && !fi.IsDir() {
		return DefaultPath, true
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// missing ends a test that found no browser: a skip, except under CI,
// where a browser test that skips proves nothing and so fails.
func missing(t testing.TB, ci string) {
	t.Helper()
	if ci == "true" {
		t.Fatalf("no Chromium found (%s, $%s, PATH) and CI=true: install Debian's chromium package", DefaultPath, PathEnv)
		return
	}
	t.Skipf("no Chromium found (%s, $%s, PATH); skipping the browser test outside CI", DefaultPath, PathEnv)
}

// Options returns the allocator options for a headless, quiet browser at
// execPath with its profile in userDataDir: no sandbox (tests run as root
// in containers), no GPU, no QUIC, and none of the background traffic
// (component updates, sync, first-run pages) that would reach for the
// network.
func Options(execPath, userDataDir string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(userDataDir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
}

// Start launches a headless Chromium with a fresh profile for the test and
// returns a chromedp context that holds the running browser. Pass it to
// NewTab. The browser stops and its profile is removed when the test ends.
//
// Start skips the test when no browser is installed and CI is not "true";
// under CI=true it fails the test instead.
func Start(t testing.TB) context.Context {
	t.Helper()
	execPath, ok := Path()
	if !ok {
		missing(t, os.Getenv("CI"))
		return nil // reached only by a fake testing.TB
	}
	dir, err := os.MkdirTemp("", "chromium-profile-")
	if err != nil {
		t.Fatalf("profile directory: %v", err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), Options(execPath, dir)...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the browser process to exit
		// Chromium's helpers may still be writing for a moment.
		for i := 0; i < 50; i++ {
			if err := os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove the Chromium profile %s", dir)
	})
	// The first Run starts the browser; it must not carry a timeout, which
	// would stop the whole browser when it fires.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting %s: %v", execPath, err)
	}
	return browserCtx
}

// NewTab opens a tab of the browser in a browser context of its own
// (separate cookies and storage, like a fresh incognito window) whose
// actions must finish within timeout. The tab closes when the test ends.
func NewTab(t testing.TB, browser context.Context, timeout time.Duration) context.Context {
	t.Helper()
	tab, cancelTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tab, timeout)
	t.Cleanup(func() {
		cancel()
		cancelTab()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return ctx
}

// OnNewDocument makes the tab run script in every document it loads from
// now on, before any script of the page and outside the page's
// Content-Security-Policy: the place to install observers such as a
// securitypolicyviolation listener.
func OnNewDocument(tab context.Context, script string) error {
	_, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
	return err
}

// CSPObserver is a script for OnNewDocument that keeps every
// Content-Security-Policy violation the document reports in
// window.__cspViolations.
const CSPObserver = `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' ' + (e.sample || ''));
});`

// Console records a tab's console from the moment Record is called: calls
// of the console API, uncaught exceptions, and the browser's own log, where
// Content-Security-Policy violations appear as "security" errors.
type Console struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

// Record starts recording the tab's console until the tab's context ends.
func Record(tab context.Context) *Console {
	c := &Console{}
	msgs := chromedp.Console(tab)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

// Messages returns what was recorded so far.
func (c *Console) Messages() []chromedp.ConsoleMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// Exceptions returns the uncaught exceptions and unhandled rejections
// recorded so far, as text.
func (c *Console) Exceptions() []string {
	var out []string
	for _, m := range c.Messages() {
		if m.IsException() {
			out = append(out, m.Text)
		}
	}
	return out
}

// Matching returns the recorded messages whose text contains substr, such
// as "Content Security Policy".
func (c *Console) Matching(substr string) []string {
	var out []string
	for _, m := range c.Messages() {
		if strings.Contains(m.Text, substr) {
			out = append(out, m.String())
		}
	}
	return out
}
