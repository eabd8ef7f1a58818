package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Network conditions of every visit, emulated by the browser per request
// (DevTools throttling): latency before each response's headers, and the
// throughput shared by the tab's responses.
const latencyMS = 80

// defaultMbps is the emulated link's speed, in Mbit/s, unless -mbps says.
const defaultMbps = 10.0

// browser is one headless Chromium for the whole run; every page visit
// gets a browser context of its own (its own HTTP cache, cookies and
// connections), so a first visit is cold in every sense.
type browser struct {
	ctx    context.Context
	cancel func()
	dir    string
	mbps   float64 // the emulated link's speed, both ways
	probe  string  // what every document runs first: probe, or with the phases
}

func startBrowser(execPath, spki string, mbps float64, probe string) (*browser, error) {
	dir, err := os.MkdirTemp("", "browserbench-profile-")
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// The servers' certificate, trusted by its key: with
		// --ignore-certificate-errors Chromium would not cache their
		// responses, and there would be no warm visit.
		chromedp.Flag("ignore-certificate-errors-spki-list", spki),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	b := &browser{ctx: ctx, dir: dir, mbps: mbps, probe: probe, cancel: func() { cancelBrowser(); cancelAlloc() }}
	if err := chromedp.Do(ctx); err != nil {
		b.close()
		return nil, fmt.Errorf("starting %s: %w", execPath, err)
	}
	return b, nil
}

func (b *browser) close() {
	b.cancel()
	for range 50 {
		if os.RemoveAll(b.dir) == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// emulateNetworkConditions is the protocol's Network.emulateNetworkConditions,
// which cdproto no longer carries (deprecated for
// emulateNetworkConditionsByRule, which Chromium 148 also has).
var emulateNetworkConditions = cdp.Command[netConditions, cdp.Empty]{Method: "Network.emulateNetworkConditions"}

type netConditions struct {
	Offline            bool    `json:"offline"`
	Latency            float64 `json:"latency"`            // ms before each response's headers
	DownloadThroughput float64 `json:"downloadThroughput"` // bytes/s
	UploadThroughput   float64 `json:"uploadThroughput"`   // bytes/s
}

// probe is what every document of a tab installs before its own scripts:
// the time of the first productfruits_ready event.
const probe = `(function () {
  var b = window.__bench = { t0: 0, readyAt: 0, readies: 0, at: {} };
  addEventListener('productfruits_ready', function () { b.readies++; if (!b.readyAt) b.readyAt = performance.now(); });
})();`

// phasesProbe is probe and, for -phases, when the page's own code did
// what leads to the product: the first assignment of the library's queue
// (its data script: the queue is an array; its runtime: the queue is the
// runtime's) or of the product's queue (the official snippet's script),
// and the first append of an element with the loader's URL. It watches
// the two globals through accessors and wraps Node.appendChild, which
// both the official snippet and the runtime call; nothing else changes.
// The stand-in loader notes when it ran.
func phasesProbe(loader string) string {
	return probe + `
(function (at) {
  function mark(k) { if (!(k in at)) at[k] = performance.now(); }
  function watch(name, f) {
    var v;
    Object.defineProperty(window, name, { configurable: true, enumerable: true, get: function () { return v; }, set: function (x) { v = x; f(x); } });
  }
  watch('__productfruitsGo', function (x) { mark(x && x.installed ? 'runtime' : 'data'); });
  watch('$productFruits', function () { mark('data'); });
  var append = Node.prototype.appendChild;
  Node.prototype.appendChild = function (n) {
    if (n && n.nodeName === 'SCRIPT' && n.src === ` + quoteJS(loader) + `) mark('append');
    return append.apply(this, arguments);
  };
})(window.__bench.at);`
}

// tab is a browser context with one page, the network emulated and the
// console recorded.
type tab struct {
	ctx    context.Context
	cancel func()
	mu     sync.Mutex
	msgs   []string
}

func (b *browser) newTab(timeout time.Duration) (*tab, error) {
	tctx, cancelTab := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tctx, timeout)
	t := &tab{ctx: ctx, cancel: func() { cancel(); cancelTab() }}
	if err := chromedp.Do(ctx); err != nil {
		t.cancel()
		return nil, err
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == "warning" || m.Type == "error" || m.IsException() {
				t.mu.Lock()
				t.msgs = append(t.msgs, m.String())
				t.mu.Unlock()
			}
		}
	}()
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	if err == nil {
		_, err = chromedp.Call(ctx, emulateNetworkConditions, netConditions{Latency: latencyMS, DownloadThroughput: b.mbps * 1e6 / 8, UploadThroughput: b.mbps * 1e6 / 8})
	}
	if err == nil {
		_, err = chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: b.probe})
	}
	if err != nil {
		t.cancel()
		return nil, err
	}
	return t, nil
}

// warnings returns the warnings and errors the tab's console showed.
func (t *tab) warnings() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.msgs...)
}

// measured is one visit's figures, in ms from navigation start (from the
// visit's start for a Turbo-style visit), and what the page saw.
type measured struct {
	Ready        float64 `json:"ready"`
	LoaderStart  float64 `json:"loaderStart"`   // the loader's Resource Timing startTime
	Paint        float64 `json:"paint"`         // first-contentful-paint (a document's first visit only)
	LoaderEntry  int     `json:"loaderEntries"` // Resource Timing entries for the loader
	LoaderBytes  float64 `json:"loaderTransfer"`
	RuntimeStart float64 `json:"runtimeStart"`
	// With -phases: when the page's code ran, in ms from navigation
	// start; 0 for what did not happen.
	Phases   [nPhases]float64 `json:"phases"`
	Inits    int              `json:"inits"`
	Verified int              `json:"verified"`
	Loads    int              `json:"loads"`
	Readies  int              `json:"readies"`
}

// collect reads the figures once the product is ready.
func (t *tab) collect(loader string) (measured, error) {
	var m measured
	if _, err := chromedp.Run(t.ctx, chromedp.Poll[bool](`window.__bench && window.__bench.readyAt > 0`, chromedp.WithPollingInterval(5*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		state, _ := chromedp.Run(t.ctx, chromedp.Evaluate[string](`JSON.stringify({url: location.href, bench: window.__bench, standin: window.__standin, q: window.$productFruits, resources: performance.getEntriesByType('resource').map(function (e) { return e.name; })})`))
		return m, fmt.Errorf("the product never got ready: %w (console: %s; page: %s)", err, strings.Join(t.warnings(), "; "), state)
	}
	js := `(function () {
  var b = window.__bench, s = window.__standin || {};
  var l = performance.getEntriesByType('resource').filter(function (e) { return e.name === ` + quoteJS(loader) + `; });
  var rt = performance.getEntriesByType('resource').filter(function (e) { return /lifecycle\.[0-9a-f]+\.js/.test(e.name); });
  var p = performance.getEntriesByName('first-contentful-paint');
  return JSON.stringify({ ready: b.readyAt - b.t0, paint: p.length ? p[0].startTime : -1, loaderStart: l.length ? l[0].startTime - b.t0 : -1, loaderEntries: l.length,
    loaderTransfer: l.length ? l[0].transferSize : -1, runtimeStart: rt.length ? rt[0].startTime - b.t0 : -1,
    phases: [b.at.data || 0, b.at.runtime || 0, b.at.append || 0, s.ranAt || 0],
    inits: s.inits || 0, verified: s.verified || 0, loads: s.loads || 0, readies: b.readies });
})()`
	out, err := chromedp.Run(t.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		return m, err
	}
	return m, jsonUnmarshal(out, &m)
}

// version returns the browser's product name and version.
func (b *bench) version() string {
	v, err := chromedp.CallBrowser(b.browser.ctx, cdpbrowser.GetVersion, cdp.Empty{})
	if err != nil {
		return "(unknown version)"
	}
	return v.Product
}
