package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pfverify/productfruits"
)

// A variant is one way of putting the product on the page.
type variant struct {
	name string
	path string // the logged-in page; "/anon"+path is its anonymous page
}

var (
	official  = variant{"official snippet", "/official"}
	library   = variant{"library", "/library"}
	noPreload = variant{"library with NoPreload", "/nopreload"}
)

// kinds of visit, in the table's order.
const (
	coldLoader = iota // cold visit: the loader's fetch started
	coldPaint         // cold visit: the page's first contentful paint
	coldReady         // cold visit: product ready
	warmReady         // warm visit: product ready
	turboReady        // Turbo-style visit: product ready
	nKinds
)

// Phases of a warm visit, with -phases (see phasesProbe).
const (
	phaseData    = iota // the page's data script ran (the official snippet's script)
	phaseRuntime        // the library's runtime ran
	phaseAppend         // the loader's element appended
	phaseRan            // the loader ran
	nPhases
)

var phaseNames = [nPhases]string{"the page's data script ran", "the runtime ran", "the loader's element appended", "the loader ran"}

var kindNames = [nKinds]string{
	"cold visit: loader fetch started",
	"cold visit: the page's first contentful paint",
	"cold visit: product ready",
	"warm visit: product ready",
	"Turbo-style visit from an anonymous page: product ready",
}

// bench is the run: the two origins, the browser and the samples.
type bench struct {
	product  *product
	app      *app
	appSrv   *httptest.Server
	prodSrv  *httptest.Server
	browser  *browser
	loader   string
	variants []variant
	samples  map[string]*[nKinds][]float64
	// phases holds, with -phases, each warm visit's phases, in ms from
	// navigation start, in the order of samples.
	phases map[string]*[nPhases][]float64
	log    io.Writer
}

type options struct {
	chromium   string
	loaderSize int
	loaderCC   string  // the loader's Cache-Control
	noPreload  bool    // also measure the library without its preload
	mbps       float64 // the emulated link's speed; 0: defaultMbps
	phases     bool    // also time the phases of each warm visit
	log        io.Writer
}

func newBench(o options) (*bench, error) {
	cert, spki, err := newCert()
	if err != nil {
		return nil, err
	}
	signer, err := productfruits.NewSigner(secret)
	if err != nil {
		return nil, err
	}
	b := &bench{product: newProduct(signer, o.loaderCC, o.loaderSize), samples: map[string]*[nKinds][]float64{}, log: o.log}
	b.prodSrv = startTLS(b.product, cert)
	b.loader = b.prodSrv.URL + "/static/script.js"
	if b.app, err = newApp(b.loader, signer); err != nil {
		b.close()
		return nil, err
	}
	b.appSrv = startTLS(b.app.mux, cert)
	b.variants = []variant{official, library}
	if o.noPreload {
		b.variants = append(b.variants, noPreload)
	}
	pr := probe
	if o.phases {
		pr = phasesProbe(b.loader)
		b.phases = map[string]*[nPhases][]float64{}
	}
	for _, v := range b.variants {
		b.samples[v.name] = &[nKinds][]float64{}
		if b.phases != nil {
			b.phases[v.name] = &[nPhases][]float64{}
		}
	}
	if o.mbps <= 0 {
		o.mbps = defaultMbps
	}
	if b.browser, err = startBrowser(o.chromium, spki, o.mbps, pr); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *bench) close() {
	if b.browser != nil {
		b.browser.close()
	}
	if b.appSrv != nil {
		b.appSrv.Close()
	}
	if b.prodSrv != nil {
		b.prodSrv.Close()
	}
}

// checkVisit holds a visit to what the issue asks: one init, verified,
// the product ready once, the loader run once and fetched at most once
// (exactly once when cold), no rejected HMAC.
func checkVisit(what string, m measured, c counts, cold bool) error {
	var errs []string
	if m.Inits != 1 || m.Verified != 1 || c.verified != 1 || c.rejected != 0 {
		errs = append(errs, fmt.Sprintf("%d inits, %d verified in the page, %d verified and %d rejected by the product's origin; want one verified init", m.Inits, m.Verified, c.verified, c.rejected))
	}
	if m.Loads != 1 {
		errs = append(errs, fmt.Sprintf("the loader ran %d times", m.Loads))
	}
	if c.fetches > 1 || (cold && c.fetches != 1) {
		errs = append(errs, fmt.Sprintf("the loader was fetched %d times", c.fetches))
	}
	if m.Readies != 1 {
		errs = append(errs, fmt.Sprintf("%d productfruits_ready events", m.Readies))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %s", what, strings.Join(errs, "; "))
	}
	return nil
}

// preloadWarnings returns the console lines about preloads: unused, or
// not reused for a mismatch (CORS mode, integrity).
func preloadWarnings(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		if strings.Contains(m, "preload") {
			out = append(out, m)
		}
	}
	return out
}

// visitPage navigates t to path and returns its figures once the product
// is ready, checked.
func (b *bench) visitPage(t *tab, what, path string, cold bool) (measured, error) {
	before := b.product.counts()
	if err := chromedp.Do(t.ctx, chromedp.Navigate(b.appSrv.URL+path)); err != nil {
		return measured{}, fmt.Errorf("%s: %w", what, err)
	}
	m, err := t.collect(b.loader)
	if err != nil {
		return m, fmt.Errorf("%s: %w", what, err)
	}
	return m, checkVisit(what, m, b.product.counts().sub(before), cold)
}

// round measures v once: a cold visit and a warm one in one fresh browser
// context, and a Turbo-style visit in another, from the variant's
// anonymous page.
func (b *bench) round(v variant) ([nKinds]float64, []string, error) {
	var out [nKinds]float64
	var warns []string
	t, err := b.browser.newTab(60 * time.Second)
	if err != nil {
		return out, nil, err
	}
	cold, err := b.visitPage(t, v.name+", cold", v.path, true)
	if err == nil {
		out[coldLoader], out[coldPaint], out[coldReady] = cold.LoaderStart, cold.Paint, cold.Ready
		var warm measured
		warm, err = b.visitPage(t, v.name+", warm", v.path, false)
		out[warmReady] = warm.Ready
		if p := b.phases[v.name]; p != nil && err == nil {
			for i, at := range warm.Phases {
				p[i] = append(p[i], at)
			}
		}
	}
	warns = append(warns, t.warnings()...)
	t.cancel()
	if err != nil {
		return out, warns, err
	}
	if t, err = b.browser.newTab(60 * time.Second); err != nil {
		return out, warns, err
	}
	defer t.cancel()
	if err := chromedp.Do(t.ctx, chromedp.Navigate(b.appSrv.URL+"/anon"+v.path)); err != nil {
		return out, warns, err
	}
	before := b.product.counts()
	if _, err := chromedp.Run(t.ctx, chromedp.Evaluate[bool](`__visit(`+strconv.Quote(v.path)+`), true`)); err != nil {
		return out, warns, err
	}
	m, err := t.collect(b.loader)
	if err == nil {
		err = checkVisit(v.name+", Turbo-style", m, b.product.counts().sub(before), true)
	}
	out[turboReady] = m.Ready
	return out, append(warns, t.warnings()...), err
}

// run measures every variant n times, in an order that changes round by
// round so that each variant takes each place in a round equally often
// (rotated, then reversed): whatever else loads the machine, and whatever
// the visit before leaves behind, falls on all alike.
func (b *bench) run(n int) error {
	k := len(b.variants)
	for i := range n {
		order := append(slices.Clone(b.variants[i%k:]), b.variants[:i%k]...)
		if (i/k)%2 == 1 {
			slices.Reverse(order)
		}
		for _, v := range order {
			got, warns, err := b.round(v)
			if err != nil {
				return err
			}
			if w := preloadWarnings(warns); len(w) > 0 {
				return fmt.Errorf("%s: the console warned about a preload: %s", v.name, strings.Join(w, "; "))
			}
			s := b.samples[v.name]
			for k := range nKinds {
				s[k] = append(s[k], got[k])
			}
			if b.log != nil {
				fmt.Fprintf(b.log, "round %d/%d %-24s cold loader %4.0f ms, cold paint %4.0f ms, cold ready %5.0f ms, warm ready %4.0f ms, Turbo ready %5.0f ms\n",
					i+1, n, v.name, got[coldLoader], got[coldPaint], got[coldReady], got[warmReady], got[turboReady])
			}
		}
	}
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ratios returns each variant's median over the official snippet's, per kind.
func (b *bench) ratio(v variant, k int) float64 {
	return median(b.samples[v.name][k]) / median(b.samples[official.name][k])
}

// paired returns the median over rounds of v's time minus the official
// snippet's in the same round: the variants of a round share the
// machine's state, which moves the medians of either by more than the
// difference between them.
func (b *bench) paired(v variant, k int) float64 {
	mine, theirs := b.samples[v.name][k], b.samples[official.name][k]
	d := make([]float64, min(len(mine), len(theirs)))
	for i := range d {
		d[i] = mine[i] - theirs[i]
	}
	return median(d)
}

// table writes the Markdown table of medians, ratios and paired
// differences.
func (b *bench) table(w io.Writer, n int) {
	head := "| time from navigation start (median of " + strconv.Itoa(n) + ") |"
	sep := "|---|"
	for _, v := range b.variants {
		head += " " + v.name + " |"
		sep += "---:|"
	}
	for _, v := range b.variants[1:] {
		head += " " + v.name + " / official |"
		sep += "---:|"
	}
	for _, v := range b.variants[1:] {
		head += " " + v.name + " − official, same round (median) |"
		sep += "---:|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, sep)
	for k := range nKinds {
		row := "| " + kindNames[k] + " |"
		for _, v := range b.variants {
			row += fmt.Sprintf(" %s ms |", thousands(median(b.samples[v.name][k])))
		}
		for _, v := range b.variants[1:] {
			row += fmt.Sprintf(" %.2f |", b.ratio(v, k))
		}
		for _, v := range b.variants[1:] {
			d := math.Round(b.paired(v, k))
			if d == 0 {
				d = 0 // not -0
			}
			row += fmt.Sprintf(" %+.0f ms |", d)
		}
		fmt.Fprintln(w, row)
	}
}

// phaseTable writes, with -phases, the warm visit's phases: when each
// variant's data script ran, and the median over visits of each later
// phase's time after it. A phase a variant does not have (the official
// snippet has no runtime) is a dash.
func (b *bench) phaseTable(w io.Writer, n int) {
	if b.phases == nil {
		return
	}
	head, sep := "| warm visit (median of "+strconv.Itoa(n)+") |", "|---|"
	for _, v := range b.variants {
		head += " " + v.name + " |"
		sep += "---:|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, sep)
	row := "| " + phaseNames[phaseData] + ", from navigation start |"
	for _, v := range b.variants {
		row += fmt.Sprintf(" %.1f ms |", median(b.phases[v.name][phaseData]))
	}
	fmt.Fprintln(w, row)
	for k := phaseData + 1; k <= nPhases; k++ {
		name := "product ready"
		if k < nPhases {
			name = phaseNames[k]
		}
		row := "| " + name + ", after the data script |"
		for _, v := range b.variants {
			data, times := b.phases[v.name][phaseData], b.samples[v.name][warmReady]
			if k < nPhases {
				times = b.phases[v.name][k]
			}
			var d []float64
			for i, at := range times {
				if at > 0 && data[i] > 0 {
					d = append(d, at-data[i])
				}
			}
			if len(d) == 0 {
				row += " – |"
				continue
			}
			row += fmt.Sprintf(" %.1f ms |", median(d))
		}
		fmt.Fprintln(w, row)
	}
}

func thousands(ms float64) string {
	s := strconv.FormatFloat(ms, 'f', 0, 64)
	if len(s) > 3 {
		s = s[:len(s)-3] + "," + s[len(s)-3:]
	}
	return s
}

// goals are the issue's: the library's cold visit at most 0.92x the
// official snippet's, its warm visit at most 1.00x.
func (b *bench) goals(w io.Writer) error {
	var missed []string
	for _, g := range []struct {
		kind int
		max  float64
	}{{coldReady, 0.92}, {warmReady, 1.00}} {
		r := b.ratio(library, g.kind)
		met := "yes"
		if r > g.max {
			met = "NO"
			missed = append(missed, kindNames[g.kind])
		}
		fmt.Fprintf(w, "goal: library / official snippet, %s: %.2f (at most %.2f): %s\n", kindNames[g.kind], r, g.max, met)
	}
	if len(missed) > 0 {
		return errors.New("goals missed: " + strings.Join(missed, ", "))
	}
	return nil
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func quoteJS(s string) string { b, _ := json.Marshal(s); return string(b) }
