package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// A check is a cold visit of one page under one policy, held to the
// issue's rules and then watched until Chromium would have warned about
// an unused preload (3 s after the load event).
type check struct {
	name, path string
	product    bool // the page loads the product
	control    bool // a control: the console must warn of an unused preload
}

var checks = []check{
	{"no policy", "/library", true, false},
	{"strict nonce policy", "/library?csp=nonce", true, false},
	{"nonce with 'strict-dynamic'", "/library?csp=strict-dynamic", true, false},
	{"Trusted Types required, no policy allowed (the loader's template)", "/library?csp=tt", true, false},
	{"anonymous page", "/anon/library", false, false},
	{"control: a preload of the loader on a page that never loads it", "/control/unused-preload", false, true},
}

// unusedPreloadWait is how long after the load event Chromium waits
// before warning about a preload no request used, plus a margin.
const unusedPreloadWait = 4 * time.Second

// runChecks visits every check's page in a tab of its own, all at once,
// and returns one line per check, or an error naming what went wrong.
func (b *bench) runChecks() ([]string, error) {
	lines := make([]string, len(checks))
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	var mu sync.Mutex // the product's counters are shared: visits in turn
	for i, c := range checks {
		wg.Go(func() {
			t, err := b.browser.newTab(60 * time.Second)
			if err != nil {
				errs[i] = err
				return
			}
			defer t.cancel()
			if c.product {
				mu.Lock()
				var m measured
				m, err = b.visitPage(t, c.name, c.path, true)
				mu.Unlock()
				if err != nil {
					errs[i] = err
					return
				}
				lines[i] = fmt.Sprintf("%s: one init, verified; the loader fetched once (%d Resource Timing entry)", c.name, m.LoaderEntry)
			} else {
				// The control's preload fetches the loader too: not
				// while a check counts the loader's fetches.
				mu.Lock()
				err := chromedp.Do(t.ctx, chromedp.Navigate(b.appSrv.URL+c.path))
				time.Sleep(time.Second)
				mu.Unlock()
				if err != nil {
					errs[i] = err
					return
				}
				lines[i] = c.name + ": no product, no preload"
			}
			time.Sleep(unusedPreloadWait)
			if c.control {
				if len(preloadWarnings(t.warnings())) == 0 {
					errs[i] = fmt.Errorf("%s: no warning: the console is not watched as the checks assume", c.name)
					return
				}
				lines[i] = c.name + ": warned, as it should (the console is watched)"
				return
			}
			if w := t.warnings(); len(w) > 0 {
				errs[i] = fmt.Errorf("%s: the console warned: %s", c.name, strings.Join(w, "; "))
				return
			}
			lines[i] += "; no console warning or error"
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return lines, err
		}
	}
	return lines, nil
}
