package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pfverify/productfruits"
)

// doctor fetches a page as a browser does and checks, one finding a line,
// everything between the page and a loaded product: the snippet and where
// it sits, the runtime's and the endpoint's URLs as the browser resolves
// them, the page's hash, the Content-Security-Policy, Trusted Types, the
// caching headers and the order of compression and middleware.

const doctorUsage = `Usage: pfhmac doctor [-cookie 'name=value; ...' | -cookie-file FILE] [-secret-file PATH] URL

Fetches URL as a browser does and reports, one line per finding, whether
Product Fruits would load there: the snippet and its place in <head>, the
lifecycle runtime's and the identity endpoint's URLs, the page's hash
(with the secret), the Content-Security-Policy, Trusted Types, the
caching headers and the order of compression and middleware. Each line
starts with its verdict (ok, warn or FAIL); lines that are not ok end
with the fix.

  -cookie COOKIES     the Cookie header of a logged-in browser session
  -cookie-file FILE   read the Cookie header from FILE instead
  -secret-file PATH   read the secret from PATH instead of $PRODUCTFRUITS_SECRET

Without a secret the hash check is skipped. Exit status: 0 the product
would load, 1 it would not (a FAIL, or the page could not be fetched),
2 usage error.
`

const (
	// browserUA is a current desktop browser's User-Agent: some apps and
	// firewalls serve other clients something else.
	browserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 pfhmac-doctor"
	// maxBody bounds what is read of any response.
	maxBody      = 16 << 20
	maxRedirects = 10
	// pushData starts every inline script of the snippet (renewal.go).
	pushData = "(window.__productfruitsGo=window.__productfruitsGo||[]).push("
	// defaultLoader is the product's loader, which the runtime appends
	// unless the page names another.
	defaultLoader = productfruits.DefaultScriptURL
)

// Fixes shared by several findings.
const (
	fixMount       = "the middleware does not see this URL: mount pf.Handler around the whole router, or give RuntimePath a route to pf.IdentityHandler()"
	fixCompression = "put pf.Handler inside your compression middleware (the compressor wraps it)"
	fixCache       = "a shared cache may hand this user's hash to another: serve logged-in pages with Cache-Control: private and Vary: Cookie, and without CDN caching headers"
	fixNonce       = "put the nonce in the response's Content-Security-Policy header before the page is written, or set Config.Nonce"
)

func doctor(args []string, env func(string) string, stdout, stderr io.Writer, now func() time.Time) error {
	fs := newCommandFlags("doctor")
	cookieFlag := fs.String("cookie", "", "")
	cookieFile := fs.String("cookie-file", "", "")
	target, err := parseDoctorArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	cookie, err := doctorCookie(fs, *cookieFlag, *cookieFile)
	if err != nil {
		return err
	}
	var signer *productfruits.Signer
	if fs.isSet("secret-file") || env(secretEnv) != "" {
		secret, err := loadSecret(fs, env)
		if err != nil {
			return err
		}
		if signer, err = productfruits.NewSigner(secret); err != nil {
			return fmt.Errorf("doctor: %w", err)
		}
	}

	d := &doctorRun{
		client: &http.Client{
			Transport: &http.Transport{
				Proxy: http.ProxyFromEnvironment,
				// Without it net/http asks for gzip itself and hides the
				// encoding, and the doctor must see what browsers get.
				DisableCompression: true,
			},
			Timeout: 15 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		cookie: cookie,
		home:   target,
		signer: signer,
		now:    now(),
		rep:    &report{w: stdout},
	}
	defer d.client.CloseIdleConnections()
	return d.run()
}

// parseDoctorArgs parses the flags, which may come before or after the
// URL, and returns the URL.
func parseDoctorArgs(fs *commandFlags, args []string, stdout io.Writer) (*url.URL, error) {
	var positional []string
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			fmt.Fprint(stdout, doctorUsage)
			return nil, err
		case fs.secret.set, err != nil && strings.HasSuffix(err.Error(), " -secret"):
			return nil, usageErrorf("doctor: %s", secretFlagRefusal)
		case err != nil:
			return nil, usageErrorf("doctor: %v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(positional) {
	case 0:
		return nil, usageErrorf("doctor: the page's URL is required")
	case 1:
	default:
		return nil, usageErrorf("doctor: unexpected argument %q", positional[1])
	}
	u, err := url.Parse(positional[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("doctor: %q is not an absolute http or https URL", positional[0])
	}
	u.Fragment = ""
	return u, nil
}

// doctorCookie returns the Cookie header to send: from -cookie or
// -cookie-file, without a "Cookie:" prefix copied along from devtools.
func doctorCookie(fs *commandFlags, value, file string) (string, error) {
	if fs.isSet("cookie") && fs.isSet("cookie-file") {
		return "", usageErrorf("doctor: -cookie and -cookie-file exclude each other; give one")
	}
	if fs.isSet("cookie-file") {
		if file == "" {
			return "", usageErrorf("doctor: -cookie-file needs a path")
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("doctor: reading cookie: %w", err)
		}
		value = string(b)
	}
	value = strings.TrimSpace(value)
	if len(value) >= len("cookie:") && strings.EqualFold(value[:len("cookie:")], "cookie:") {
		value = strings.TrimSpace(value[len("cookie:"):])
	}
	if strings.ContainsAny(value, "\r\n") {
		return "", usageErrorf("doctor: the cookie holds a line break; give one Cookie header value, name=value; name2=value2")
	}
	return value, nil
}

// verdict is a finding's outcome.
type verdict int

const (
	vInfo verdict = iota // facts and skipped checks
	vOK
	vWarn
	vFail
)

var verdictText = [...]string{vInfo: "  ", vOK: "ok", vWarn: "warn", vFail: "FAIL"}

// report writes findings and counts them.
type report struct {
	w      io.Writer
	warns  int
	failed []string
}

func (r *report) add(v verdict, check, msg, fix string) {
	switch v {
	case vWarn:
		r.warns++
	case vFail:
		r.failed = append(r.failed, check)
	}
	line := fmt.Sprintf("%-4s  %-13s %s", verdictText[v], check, msg)
	if fix != "" && (v == vWarn || v == vFail) {
		line += " Fix: " + fix
	}
	fmt.Fprintln(r.w, strings.TrimRight(line, " "))
}

// fetched is one response, its body decoded.
type fetched struct {
	url       *url.URL
	status    int
	header    http.Header
	body      []byte
	encoding  string // Content-Encoding as received
	redirects []redirect
}

type redirect struct {
	status   int
	from, to *url.URL
}

type doctorRun struct {
	client *http.Client
	cookie string
	home   *url.URL // the URL given: the cookie's host
	signer *productfruits.Signer
	now    time.Time
	rep    *report

	page *fetched  // as the browser gets it, decoded
	scan *pageScan // of page
	data *pageData // the page's data script, parsed; nil if none
}

// get sends one GET to u with hdr, and the cookie when u is on the host
// the cookie came for, as a browser does; it follows no redirect.
func (d *doctorRun) get(u *url.URL, hdr map[string]string, cookie bool) (*fetched, error) {
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", browserUA)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if cookie && d.cookie != "" && strings.EqualFold(u.Hostname(), d.home.Hostname()) {
		req.Header.Set("Cookie", d.cookie)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", u, err)
	}
	return &fetched{url: u, status: resp.StatusCode, header: resp.Header, body: body,
		encoding: strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))}, nil
}

// follow is get, following redirects as a browser does.
func (d *doctorRun) follow(u *url.URL, hdr map[string]string) (*fetched, error) {
	var hops []redirect
	for {
		f, err := d.get(u, hdr, true)
		if err != nil {
			return nil, err
		}
		loc := f.header.Get("Location")
		if f.status < 300 || f.status > 399 || loc == "" {
			f.redirects = hops
			return f, nil
		}
		if len(hops) == maxRedirects {
			return nil, fmt.Errorf("more than %d redirects from %s", maxRedirects, d.home)
		}
		next, err := u.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("%s redirects to an unreadable Location %q", u, loc)
		}
		next.Fragment = ""
		hops = append(hops, redirect{f.status, u, next})
		u = next
	}
}

// decode undoes gzip; ok is false for an encoding the standard library
// cannot decode (brotli, zstd, deflate's variants).
func decode(f *fetched) (ok bool, err error) {
	switch f.encoding {
	case "", "identity":
		return true, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(f.body))
		if err != nil {
			return false, fmt.Errorf("%s: gzip body: %w", f.url, err)
		}
		body, err := io.ReadAll(io.LimitReader(zr, maxBody))
		if err != nil {
			return false, fmt.Errorf("%s: gzip body: %w", f.url, err)
		}
		f.body = body
		return true, nil
	}
	return false, nil
}

func pageHeaders(acceptEncoding string) map[string]string {
	h := map[string]string{
		"Accept":                    "text/html,application/xhtml+xml",
		"Sec-Fetch-Dest":            "document",
		"Sec-Fetch-Mode":            "navigate",
		"Sec-Fetch-Site":            "none",
		"Sec-Fetch-User":            "?1",
		"Upgrade-Insecure-Requests": "1",
	}
	if acceptEncoding != "" {
		h["Accept-Encoding"] = acceptEncoding
	}
	return h
}

func (d *doctorRun) run() error {
	rep := d.rep
	page, err := d.follow(d.home, pageHeaders("gzip, br"))
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	fmt.Fprintf(rep.w, "pfhmac doctor %s\n", d.home)
	d.reportRedirects(page.redirects)
	ok, err := decode(page)
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	if !ok {
		rep.add(vInfo, "encoding", fmt.Sprintf("the page came with Content-Encoding %q, which pfhmac cannot decode; checking the page as fetched with Accept-Encoding: gzip", page.encoding), "")
		if page, err = d.follow(page.url, pageHeaders("gzip")); err != nil {
			return fmt.Errorf("doctor: %w", err)
		}
		if ok, err = decode(page); err != nil {
			return fmt.Errorf("doctor: %w", err)
		} else if !ok {
			return fmt.Errorf("doctor: %s answers Accept-Encoding: gzip with Content-Encoding %q", page.url, page.encoding)
		}
	}
	plain, err := d.follow(page.url, pageHeaders(""))
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	if ok, err := decode(plain); err != nil || !ok {
		plain = nil // answered compressed to a request that accepts none
	}

	enc := page.encoding
	if enc == "" {
		enc = "none"
	}
	rep.add(vInfo, "page", page.url.String(), "")
	rep.add(vInfo, "status", strconv.Itoa(page.status)+" "+http.StatusText(page.status), "")
	rep.add(vInfo, "content-type", fmt.Sprintf("%s (Content-Encoding: %s)", orNone(page.header.Get("Content-Type")), enc), "")

	d.page = page
	d.scan = scanPage(page.body)
	plainScan := d.scan
	if plain != nil {
		plainScan = scanPage(plain.body)
	}
	compressionInside := !d.scan.hasSnippet() && plainScan.hasSnippet()
	if compressionInside {
		// The rest is checked on what the middleware produces, so that
		// one mistake does not hide the others.
		d.page, d.scan = plain, plainScan
	}

	if page.status < 200 || page.status > 299 {
		rep.add(vFail, "status", fmt.Sprintf("the page answers %d: browsers get no page to run the product in", page.status), "doctor the URL of a page that loads, with -cookie for a logged-in one")
	}
	d.checkSnippet(compressionInside)
	d.checkRuntime()
	d.checkEndpoint()
	d.checkHash()
	d.checkCSP()
	d.checkCaching()
	d.checkCompression(page, plain, plainScan, compressionInside)

	if n := len(rep.failed); n > 0 {
		fmt.Fprintf(rep.w, "verdict: FAIL: Product Fruits would not load: %d failed (%s), %d warn\n", n, strings.Join(rep.failed, ", "), rep.warns)
		return errReported
	}
	if d.data == nil {
		fmt.Fprintf(rep.w, "verdict: ok: nobody is logged in on this page, and the product loads for no one (%d warn)\n", rep.warns)
		return nil
	}
	fmt.Fprintf(rep.w, "verdict: ok: Product Fruits would load for %q (%d warn)\n", d.data.User.Username, rep.warns)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// reportRedirects names each redirect the page took; one to what looks
// like a login page means the cookie (if any) is not a logged-in session.
func (d *doctorRun) reportRedirects(hops []redirect) {
	for _, h := range hops {
		msg := fmt.Sprintf("%d from %s to %s", h.status, h.from, h.to)
		if looksLikeLogin(h.to) {
			how := "no -cookie was given"
			if d.cookie != "" {
				how = "the cookie is not logged in"
			}
			d.rep.add(vWarn, "redirect", msg+": a login page, "+how+"; the rest is checked on where it leads",
				"give -cookie the Cookie header of a logged-in browser session (devtools, Network, the page's request)")
			continue
		}
		d.rep.add(vInfo, "redirect", msg+"; the rest is checked on where it leads", "")
	}
}

func looksLikeLogin(u *url.URL) bool {
	p := strings.ToLower(u.Path)
	for _, w := range []string{"login", "log-in", "signin", "sign-in", "sign_in", "auth", "sso"} {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}

// pageData is the page data object the snippet pushes to the runtime.
type pageData struct {
	Workspace string             `json:"workspace"`
	Language  string             `json:"language"`
	User      productfruits.User `json:"user"`
	Identity  string             `json:"identity"`
	TTL       int64              `json:"ttl"`
}

// parsePageData reads the page data object from an inline script's text.
func parsePageData(text string) (*pageData, error) {
	s := strings.TrimSpace(text)
	s = strings.TrimPrefix(s, "//<![CDATA[")
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "//]]>"))
	rest, ok := strings.CutPrefix(s, pushData)
	if !ok {
		return nil, errors.New("the script does not start with the page data push")
	}
	dec := json.NewDecoder(strings.NewReader(rest))
	var pd pageData
	if err := dec.Decode(&pd); err != nil {
		return nil, fmt.Errorf("its page data is not JSON: %w", err)
	}
	if tail := strings.TrimSpace(rest[dec.InputOffset():]); tail != ")" && tail != ");" {
		return nil, errors.New("the script holds more than the page data push")
	}
	if pd.User.Username == "" {
		return nil, errors.New("its page data has no user.username")
	}
	return &pd, nil
}

func (d *doctorRun) checkSnippet(compressionInside bool) {
	rep, sc := d.rep, d.scan
	if !sc.hasSnippet() {
		why := "no script element with data-productfruits on the page"
		fix := "wrap the router with pf.Handler and set Config.Inject (or place productfruits.TemplateScript(r) in <head>)"
		if !isHTML(d.page.header) {
			why += fmt.Sprintf(" (Content-Type %q: the middleware injects into HTML pages only)", d.page.header.Get("Content-Type"))
		}
		if d.page.status < 200 || d.page.status > 299 {
			fix = "the middleware injects into 2xx pages only: " + fix
		}
		rep.add(vFail, "snippet", why, fix)
		return
	}
	where := d.where()
	// found reports the snippet that is there; with compression inside
	// the middleware, browsers do not get it.
	found := func(msg string) {
		if compressionInside {
			rep.add(vFail, "snippet", "absent from the page as browsers get it (compressed); fetched uncompressed, it is "+msg+" (the checks below read that page)", fixCompression)
			return
		}
		rep.add(vOK, "snippet", msg, "")
	}
	if len(sc.data) > 1 {
		rep.add(vFail, "snippet", fmt.Sprintf("snippet twice: %d page data scripts (at bytes %s); the product is inited twice", len(sc.data), offsets(sc.data)),
			"emit the snippet once: with Config.Inject, drop TemplateScript calls and hand-written copies from the templates")
	}
	if len(sc.data) == 0 {
		if len(sc.runtime) > 0 || sc.inlineRuntime {
			rep.add(vFail, "snippet", "the runtime's script is there but no page data script (the user object)", "serve the whole snippet: both script elements pf emits")
			return
		}
		anon := sc.anonymous[0]
		if d.cookie != "" {
			rep.add(vWarn, "snippet", "only the anonymous script: the page was served to nobody logged in, so the cookie is not logged in", "give -cookie the Cookie header of a logged-in browser session")
		} else {
			found(fmt.Sprintf("anonymous script (nobody logged in) at byte %d, %s", anon.start, where))
		}
		d.checkPosition(where)
		return
	}
	pd, err := parsePageData(sc.data[0].text)
	if err != nil {
		rep.add(vFail, "snippet", fmt.Sprintf("the page data script at byte %d cannot be read: %v", sc.data[0].start, err), "let pf emit the snippet; do not edit its markup")
		return
	}
	d.data = pd
	if len(sc.anonymous) > 0 {
		rep.add(vWarn, "snippet", "the page carries the anonymous script beside a user's", "emit the snippet once per page")
	}
	if len(sc.runtime) == 0 && !sc.inlineRuntime {
		rep.add(vFail, "snippet", "the page data is there but not the runtime's script element: nothing inits the product", "serve the whole snippet: both script elements pf emits")
	}
	if len(sc.data) == 1 {
		found(fmt.Sprintf("present once for user %q at byte %d, %s", pd.User.Username, sc.data[0].start, where))
	}
	d.checkPosition(where)
}

// where describes the snippet's place; checkPosition judges it.
func (d *doctorRun) where() string {
	sc := d.scan
	follows := "the end of the document"
	if sc.follows != "" {
		follows = sc.follows
	}
	if sc.first < sc.headEnd {
		return "inside <head>, before " + follows
	}
	return fmt.Sprintf("after the head ended at byte %d (at %s), before %s", sc.headEnd, sc.headEndBy, follows)
}

func (d *doctorRun) checkPosition(where string) {
	if d.scan.first >= d.scan.headEnd {
		d.rep.add(vWarn, "placement", "the snippet is "+where+": it still runs, but later than it should and outside the head the runtime works in",
			"place the snippet in <head>: with Config.Inject, keep body content out of the head; with TemplateScript, call it inside <head>")
	}
}

func offsets(els []element) string {
	var b []string
	for _, e := range els {
		b = append(b, strconv.Itoa(e.start))
	}
	return strings.Join(b, ", ")
}

func isHTML(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// baseFor returns the URL an element at offset resolves against, and
// whether that is a <base href> rather than the page's URL.
func (d *doctorRun) baseFor(offset int) (*url.URL, bool) {
	sc := d.scan
	if sc.base != nil && sc.base.start < offset {
		if b, err := d.page.url.Parse(strings.TrimSpace(sc.base.href)); err == nil {
			return b, true
		}
	}
	return d.page.url, false
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "wss":
		return "443"
	case "http", "ws":
		return "80"
	}
	return ""
}

func (d *doctorRun) checkRuntime() {
	rep, sc := d.rep, d.scan
	if !sc.hasSnippet() || len(sc.data) == 0 {
		rep.add(vInfo, "runtime", "not checked: no user's snippet on the page", "")
		return
	}
	if len(sc.runtime) == 0 {
		if sc.inlineRuntime {
			rep.add(vOK, "runtime", "inline in the page (the endpoint is switched off and has no IdentityURL)", "")
		}
		return
	}
	el := sc.runtime[0]
	src, err := url.Parse(strings.TrimSpace(el.src))
	if err != nil {
		rep.add(vFail, "runtime", fmt.Sprintf("its src %q is not a URL", el.src), "let pf emit the snippet; do not edit its markup")
		return
	}
	base, viaBase := d.baseFor(el.start)
	u := base.ResolveReference(src)
	cross := !sameOrigin(u, d.page.url)
	site := "same-origin"
	if cross {
		site = "cross-site"
	}
	f, err := d.follow(u, map[string]string{
		"Accept":         "*/*",
		"Sec-Fetch-Dest": "script",
		"Sec-Fetch-Mode": "no-cors",
		"Sec-Fetch-Site": site,
	})
	if cross && viaBase {
		what := "it fails"
		if err != nil {
			what = "it fails: " + err.Error()
		} else if f.status == http.StatusOK && isJavaScript(f.header) {
			what = "it loads there, but from another origin than the page"
		} else {
			what = fmt.Sprintf("it answers %d %s there", f.status, orNone(f.header.Get("Content-Type")))
		}
		v := vFail
		if err == nil && f.status == http.StatusOK && isJavaScript(f.header) {
			v = vWarn
		}
		rep.add(v, "runtime", fmt.Sprintf("src %q resolves cross-origin to %s, because <base href=%q> at byte %d precedes it: %s", el.src, u, sc.base.href, sc.base.start, what),
			"the browser resolves the runtime's src against <base href>, which names another origin: place the snippet before the <base> element, or give <base> the page's own origin")
		return
	}
	switch {
	case err != nil:
		rep.add(vFail, "runtime", fmt.Sprintf("fetching %s: %v", u, err), fixMount)
	case f.status != http.StatusOK:
		rep.add(vFail, "runtime", fmt.Sprintf("%d %s at %s", f.status, http.StatusText(f.status), u), fixMount)
	case !isJavaScript(f.header):
		rep.add(vFail, "runtime", fmt.Sprintf("200 but Content-Type %q at %s: browsers refuse to run it", f.header.Get("Content-Type"), u), fixMount)
	default:
		rep.add(vOK, "runtime", fmt.Sprintf("200 %s at %s", f.header.Get("Content-Type"), u), "")
	}
}

func isJavaScript(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	switch mt {
	case "text/javascript", "application/javascript", "application/x-javascript", "application/ecmascript", "text/ecmascript", "text/jscript":
		return true
	}
	return false
}

// endpointURL is where the runtime fetches the identity endpoint: the
// page data's identity, else derived from the runtime's src, resolved
// against the page's location (not <base>), as the runtime does.
func (d *doctorRun) endpointURL() (*url.URL, string) {
	ref := ""
	how := ""
	switch {
	case d.data != nil && d.data.Identity != "":
		ref, how = d.data.Identity, "the page data's identity"
	case len(d.scan.runtime) > 0:
		src, err := url.Parse(strings.TrimSpace(d.scan.runtime[0].src))
		if err != nil {
			return nil, ""
		}
		how = "derived from the runtime's src"
		if v := src.Query().Get("productfruits"); strings.HasPrefix(v, "lifecycle.") {
			src.RawQuery = "productfruits=identity"
		} else if i := strings.LastIndexByte(src.Path, '/'); i > 0 && strings.HasPrefix(src.Path[i+1:], "lifecycle.") {
			src.Path, src.RawPath, src.RawQuery = src.Path[:i], "", ""
		} else {
			return nil, ""
		}
		ref = src.String()
	default:
		return nil, ""
	}
	u, err := d.page.url.Parse(ref)
	if err != nil {
		return nil, ""
	}
	return u, how
}

func (d *doctorRun) checkEndpoint() {
	rep := d.rep
	u, how := d.endpointURL()
	if u == nil {
		rep.add(vInfo, "endpoint", "not checked: the page names no identity endpoint", "")
		return
	}
	hdr := map[string]string{
		"Accept":         "application/json",
		"Sec-Fetch-Dest": "empty",
		"Sec-Fetch-Mode": "cors",
		"Sec-Fetch-Site": "same-origin",
	}
	loggedIn := d.data != nil
	strict := d.cookie != "" && loggedIn
	wall := vWarn
	if strict {
		wall = vFail
	}
	where := fmt.Sprintf("%s (%s)", u, how)
	if d.cookie != "" {
		f, err := d.get(u, hdr, true)
		switch {
		case err != nil:
			rep.add(vFail, "endpoint", fmt.Sprintf("fetching %s: %v", where, err), fixMount)
		case f.status >= 300 && f.status <= 399:
			rep.add(wall, "endpoint", fmt.Sprintf("with the cookie: %d to %s at %s: a login wall stands in front of the endpoint, and the runtime takes that for signed out", f.status, orNone(f.header.Get("Location")), where),
				"let the endpoint's path through your login redirect: it answers 401 itself to nobody logged in")
		case f.status == http.StatusOK && !isJSON(f.header):
			rep.add(wall, "endpoint", fmt.Sprintf("with the cookie: 200 but %s, not JSON, at %s: the runtime takes that for signed out", orNone(f.header.Get("Content-Type")), where), fixMount)
		case f.status == http.StatusOK:
			var user productfruits.User
			if err := json.Unmarshal(f.body, &user); err != nil || user.Username == "" {
				rep.add(wall, "endpoint", fmt.Sprintf("with the cookie: 200 JSON without a user object at %s", where), fixMount)
			} else if loggedIn && user.Username != d.data.User.Username {
				rep.add(vFail, "endpoint", fmt.Sprintf("with the cookie it signs %q, but the page's user is %q: renewal switches users", user.Username, d.data.User.Username), "resolve the username the same way for pages and the endpoint (one Config.Username)")
			} else if !loggedIn {
				rep.add(vWarn, "endpoint", fmt.Sprintf("with the cookie it signs %q, while the page was served to nobody logged in", user.Username), "make the page and the endpoint see the same session: wrap both with your auth middleware outside pf.Handler")
			} else {
				rep.add(vOK, "endpoint", fmt.Sprintf("with the cookie: 200 application/json for %q at %s", user.Username, where), "")
			}
		case f.status == http.StatusUnauthorized && loggedIn:
			rep.add(vFail, "endpoint", fmt.Sprintf("with the cookie: 401 at %s, though the page is logged in: renewal signs the user out", where),
				"make the endpoint see the session: your auth middleware must wrap pf.Handler, not sit inside it")
		case f.status == http.StatusUnauthorized:
			rep.add(vOK, "endpoint", fmt.Sprintf("with the cookie: 401 (not logged in, as the page) at %s", where), "")
		default:
			rep.add(wall, "endpoint", fmt.Sprintf("with the cookie: %d %s at %s", f.status, http.StatusText(f.status), where), fixMount)
		}
	}
	f, err := d.get(u, hdr, false)
	switch {
	case err != nil:
		rep.add(vFail, "endpoint", fmt.Sprintf("fetching %s: %v", where, err), fixMount)
	case f.status == http.StatusUnauthorized:
		rep.add(vOK, "endpoint", fmt.Sprintf("without a cookie: 401 at %s", where), "")
	case f.status >= 300 && f.status <= 399:
		rep.add(vWarn, "endpoint", fmt.Sprintf("without a cookie: %d to %s at %s: a login wall stands in front of the endpoint, which the runtime takes for signed out", f.status, orNone(f.header.Get("Location")), where),
			"let the endpoint's path through your login redirect: it answers 401 itself to nobody logged in")
	case f.status == http.StatusOK && !isJSON(f.header):
		rep.add(vWarn, "endpoint", fmt.Sprintf("without a cookie: 200 but %s, not JSON, at %s", orNone(f.header.Get("Content-Type")), where), fixMount)
	case f.status == http.StatusOK:
		rep.add(vWarn, "endpoint", fmt.Sprintf("without a cookie: 200 JSON at %s: it signs someone for a request without a session", where), "check that Config.Username reads the session, not a default user")
	default:
		v := vWarn
		if loggedIn && d.cookie == "" {
			// The only look at the endpoint: a 404 or 5xx there is the
			// endpoint missing for the logged-in page too.
			v = vFail
		}
		rep.add(v, "endpoint", fmt.Sprintf("without a cookie: %d %s at %s, expected 401", f.status, http.StatusText(f.status), where), fixMount)
	}
}

func isJSON(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// checkHash verifies the page's hash with the secret, explaining a slip
// as pfhmac verify does, but printing no hash that verifies.
func (d *doctorRun) checkHash() {
	rep := d.rep
	if d.data == nil {
		rep.add(vInfo, "hash", "not checked: no user on the page", "")
		return
	}
	u := d.data.User
	if u.HMAC == nil || u.HMAC.Hash == "" {
		rep.add(vFail, "hash", fmt.Sprintf("the user object of %q has no hmac", u.Username), "let pf sign the user: do not build the user object by hand")
		return
	}
	shown := truncateHash(u.HMAC.Hash)
	if d.signer == nil {
		rep.add(vInfo, "hash", fmt.Sprintf("skipped: set %s (or use -secret-file) to check the page's hash %s", secretEnv, shown), "")
		return
	}
	err := d.signer.Verify(u.Username, *u.HMAC, d.now)
	switch {
	case err == nil:
		exp := "no expiration"
		if u.HMAC.Expiration != "" {
			t, _ := productfruits.ParseExpiration(u.HMAC.Expiration)
			exp = fmt.Sprintf("expires in %v", roundDuration(t.Sub(d.now)))
		}
		rep.add(vOK, "hash", fmt.Sprintf("%s verifies for %q with this secret (%s)", shown, u.Username, exp), "")
	case errors.Is(err, productfruits.ErrExpired):
		rep.add(vFail, "hash", fmt.Sprintf("%s is right but its expiration %s has passed", shown, u.HMAC.Expiration),
			"sign each page with an expiration in the future (the server's clock may be off), and renew before it runs out")
	case errors.Is(err, productfruits.ErrHashMismatch), errors.Is(err, productfruits.ErrMalformedExpiration):
		rep.add(vFail, "hash", fmt.Sprintf("%s does not verify for %q %s: %s", shown, u.Username, describeExp(u.HMAC.Expiration), slip(d.signer, u, err, d.now)),
			"sign with the workspace's \"Encryption key\" (the same secret as given here), over exactly the username and expiration the page sends")
	default:
		rep.add(vFail, "hash", fmt.Sprintf("%s cannot be checked: %v", shown, err), "")
	}
}

// slip names what went wrong with a hash that does not verify, from the
// same candidates pfhmac verify tries; never a hash.
func slip(s *productfruits.Signer, u productfruits.User, verr error, now time.Time) string {
	c := &checker{signer: s, user: u.Username, hash: u.HMAC.Hash, exp: u.HMAC.Expiration, now: now}
	malformed := errors.Is(verr, productfruits.ErrMalformedExpiration)
	expTime, parsed := parseExpiration(c.exp)
	exact := c.exp
	if malformed {
		exact = ""
		if parsed {
			exact = productfruits.FormatExpiration(expTime)
		}
	}
	var parts []string
	if malformed {
		parts = append(parts, fmt.Sprintf("the expiration %q is not an ISO 8601 date-time the product reads", c.exp))
	}
	digest, problem := decodeHash(c.hash)
	if problem != "" {
		parts = append(parts, "the hash "+problem)
	}
	var found *candidate
	if digest != nil {
		found = c.match(digest, c.candidates(malformed, exact, expTime, parsed, problem != ""))
	}
	switch {
	case found != nil:
		parts = append(parts, found.why)
	case digest != nil:
		parts = append(parts, "no common slip explains it: the site most likely signs with another secret than this one, or the page was cached for another user")
	}
	return strings.Join(parts, "; ")
}

// truncateHash shows enough of a hash to tell two apart, never all of it.
func truncateHash(h string) string {
	r := []rune(h)
	if len(r) > 6 {
		r = r[:6]
	}
	return strconv.Quote(string(r) + "…")
}

// cspPolicy is one Content-Security-Policy: its directives, first
// occurrence of each, names lower-cased.
type cspPolicy struct {
	source string // "header" or "<meta> at byte N"
	dirs   map[string][]string
}

func parsePolicy(source, s string) cspPolicy {
	p := cspPolicy{source: source, dirs: map[string][]string{}}
	for _, dir := range strings.Split(s, ";") {
		f := strings.Fields(dir)
		if len(f) == 0 {
			continue
		}
		name := strings.ToLower(f[0])
		if _, dup := p.dirs[name]; !dup {
			p.dirs[name] = f[1:]
		}
	}
	return p
}

// scriptSources returns the directive that governs script elements.
func (p cspPolicy) scriptSources() (string, []string, bool) {
	for _, name := range []string{"script-src-elem", "script-src", "default-src"} {
		if srcs, ok := p.dirs[name]; ok {
			return name, srcs, true
		}
	}
	return "", nil, false
}

func keyword(src, kw string) bool { return strings.EqualFold(src, kw) }

// nonceOrHash reports whether srcs hold a nonce or hash source, which
// makes browsers ignore 'unsafe-inline'.
func nonceOrHash(srcs []string) bool {
	for _, s := range srcs {
		l := strings.ToLower(s)
		if strings.HasPrefix(l, "'nonce-") || strings.HasPrefix(l, "'sha256-") || strings.HasPrefix(l, "'sha384-") || strings.HasPrefix(l, "'sha512-") {
			return true
		}
	}
	return false
}

func has(srcs []string, kw string) bool {
	for _, s := range srcs {
		if keyword(s, kw) {
			return true
		}
	}
	return false
}

func nonceAllowed(srcs []string, nonce string) bool {
	if nonce == "" {
		return false
	}
	for _, s := range srcs {
		if len(s) > len("'nonce-'") && strings.EqualFold(s[:len("'nonce-")], "'nonce-") && strings.HasSuffix(s, "'") && s[len("'nonce-"):len(s)-1] == nonce {
			return true
		}
	}
	return false
}

// inlineAllowed reports whether srcs allow an inline script with nonce
// and text.
func inlineAllowed(srcs []string, nonce, text string) bool {
	if nonceAllowed(srcs, nonce) {
		return true
	}
	for _, s := range srcs {
		l := strings.ToLower(s)
		for _, alg := range []struct {
			prefix string
			h      func() hash.Hash
		}{{"'sha256-", sha256.New}, {"'sha384-", sha512.New384}, {"'sha512-", sha512.New}} {
			if strings.HasPrefix(l, alg.prefix) && strings.HasSuffix(s, "'") {
				h := alg.h()
				h.Write([]byte(text))
				if s[len(alg.prefix):len(s)-1] == base64.StdEncoding.EncodeToString(h.Sum(nil)) {
					return true
				}
			}
		}
	}
	return has(srcs, "'unsafe-inline'") && !nonceOrHash(srcs) && !has(srcs, "'strict-dynamic'")
}

// urlAllowed reports whether srcs allow a script element with nonce
// loading u, on a page at self.
func urlAllowed(srcs []string, u, self *url.URL, nonce string) bool {
	if nonceAllowed(srcs, nonce) {
		return true
	}
	if has(srcs, "'strict-dynamic'") {
		return false
	}
	for _, s := range srcs {
		if sourceMatches(s, u, self) {
			return true
		}
	}
	return false
}

// sourceMatches implements CSP's source expression match for the
// expressions a script directive lists: '*', 'self', schemes and hosts.
func sourceMatches(src string, u, self *url.URL) bool {
	scheme := strings.ToLower(u.Scheme)
	switch {
	case src == "*":
		return scheme == "http" || scheme == "https"
	case keyword(src, "'self'"):
		return sameOrigin(u, self) || (strings.EqualFold(self.Scheme, "http") && scheme == "https" && strings.EqualFold(u.Hostname(), self.Hostname()))
	case strings.HasPrefix(src, "'"):
		return false
	case strings.HasSuffix(src, ":") && !strings.Contains(src, "/"):
		s := strings.ToLower(strings.TrimSuffix(src, ":"))
		return s == scheme || (s == "http" && scheme == "https")
	}
	rest := src
	if i := strings.Index(rest, "://"); i >= 0 {
		s := strings.ToLower(rest[:i])
		if s != scheme && !(s == "http" && scheme == "https") {
			return false
		}
		rest = rest[i+3:]
	} else if !strings.EqualFold(self.Scheme, scheme) && !(strings.EqualFold(self.Scheme, "http") && scheme == "https") {
		return false
	}
	host, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	prt := ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host, prt = host[:i], host[i+1:]
	}
	h := strings.ToLower(u.Hostname())
	host = strings.ToLower(host)
	if strings.HasPrefix(host, "*.") {
		if !strings.HasSuffix(h, host[1:]) {
			return false
		}
	} else if host != h {
		return false
	}
	switch {
	case prt == "*":
	case prt == "":
		if u.Port() != "" && u.Port() != port(&url.URL{Scheme: scheme}) {
			return false
		}
	case prt != port(u):
		return false
	}
	if path != "" {
		if strings.HasSuffix(path, "/") {
			return strings.HasPrefix(u.Path, path)
		}
		return u.Path == path
	}
	return true
}

// policies returns the policies that govern the snippet: the header's
// and those of <meta> elements before it.
func (d *doctorRun) policies() []cspPolicy {
	var ps []cspPolicy
	for k, vs := range d.page.header {
		if !strings.EqualFold(k, "Content-Security-Policy") {
			continue
		}
		for _, v := range vs {
			for _, p := range strings.Split(v, ",") {
				if strings.TrimSpace(p) != "" {
					ps = append(ps, parsePolicy("header", p))
				}
			}
		}
	}
	for _, m := range d.scan.metaCSP {
		if m.start < d.scan.first {
			ps = append(ps, parsePolicy(fmt.Sprintf("<meta> at byte %d", m.start), m.content))
		}
	}
	return ps
}

func (d *doctorRun) checkCSP() {
	rep, sc := d.rep, d.scan
	if !sc.hasSnippet() {
		rep.add(vInfo, "csp", "not checked: no snippet", "")
		return
	}
	ps := d.policies()
	if len(ps) == 0 {
		rep.add(vOK, "csp", "no Content-Security-Policy: nothing blocks the snippet", "")
		if len(sc.data) > 0 {
			rep.add(vOK, "loader", "no Content-Security-Policy: nothing blocks the product's loader", "")
		}
		rep.add(vOK, "trusted-types", "not required", "")
		return
	}
	loggedIn := len(sc.data) > 0
	var inline element
	if loggedIn {
		inline = sc.data[0]
	} else {
		inline = sc.anonymous[0]
	}
	blocked := vWarn // the anonymous script only stops the product after logout
	if loggedIn {
		blocked = vFail
	}
	cspOK := true
	for _, p := range ps {
		name, srcs, ok := p.scriptSources()
		if !ok {
			continue
		}
		if !inlineAllowed(srcs, inline.nonce, inline.text) {
			cspOK = false
			why := "it lists no 'nonce-" + orDash(inline.nonce) + "'"
			if inline.nonce == "" {
				why = "the script carries no nonce"
			}
			if has(srcs, "'unsafe-inline'") {
				why += " ('unsafe-inline' is ignored beside a nonce, a hash or 'strict-dynamic')"
			}
			rep.add(blocked, "csp", fmt.Sprintf("the %s policy's %s blocks the snippet's inline script: %s", p.source, name, why), fixNonce)
		}
		if loggedIn && len(sc.runtime) > 0 {
			rt := sc.runtime[0]
			base, _ := d.baseFor(rt.start)
			if ref, err := url.Parse(strings.TrimSpace(rt.src)); err == nil {
				if u := base.ResolveReference(ref); !urlAllowed(srcs, u, d.page.url, rt.nonce) {
					cspOK = false
					rep.add(vFail, "csp", fmt.Sprintf("the %s policy's %s blocks the runtime's script %s", p.source, name, u), fixNonce)
				}
			}
		}
	}
	if cspOK {
		n := "no nonce"
		if inline.nonce != "" {
			n = "nonce " + strconv.Quote(inline.nonce)
		}
		what := "the policy allows"
		if len(ps) > 1 {
			what = fmt.Sprintf("all %d policies allow", len(ps))
		}
		rep.add(vOK, "csp", fmt.Sprintf("%s the snippet (%s)", what, n), "")
	}
	if loggedIn {
		d.checkLoader(ps)
	}
	d.checkTrustedTypes(ps)
}

func orDash(s string) string {
	if s == "" {
		return "…"
	}
	return s
}

// checkLoader checks that the policies let the runtime append the
// product's loader.
func (d *doctorRun) checkLoader(ps []cspPolicy) {
	sc := d.scan
	loader, _ := url.Parse(defaultLoader)
	if sc.loader != nil && sc.loader.src != "" {
		base, _ := d.baseFor(sc.loader.start)
		if ref, err := url.Parse(strings.TrimSpace(sc.loader.src)); err == nil {
			loader = base.ResolveReference(ref)
		}
	}
	nonce := ""
	if len(sc.runtime) > 0 {
		nonce = sc.runtime[0].nonce
	} else if len(sc.data) > 0 {
		nonce = sc.data[0].nonce
	}
	origin := loader.Scheme + "://" + loader.Host
	good := true
	for _, p := range ps {
		name, srcs, ok := p.scriptSources()
		switch {
		case !ok:
		case has(srcs, "'strict-dynamic'"):
		case nonceAllowed(srcs, nonce):
			// The runtime gives the loader the nonce of its own element.
		case urlAllowed(srcs, loader, d.page.url, ""):
		default:
			good = false
			d.rep.add(vWarn, "loader", fmt.Sprintf("the %s policy's %s does not allow the product's loader %s, and has no 'strict-dynamic' or nonce the runtime passes on", p.source, name, loader),
				fmt.Sprintf("add %s to %s, or use a nonce-based policy", origin, name))
		}
	}
	if good {
		d.rep.add(vOK, "loader", fmt.Sprintf("the policies let the runtime load %s", loader), "")
	}
}

func (d *doctorRun) checkTrustedTypes(ps []cspPolicy) {
	for _, p := range ps {
		req, ok := p.dirs["require-trusted-types-for"]
		if !ok || !has(req, "'script'") {
			continue
		}
		switch tt, named := p.dirs["trusted-types"]; {
		case d.scan.loader != nil:
			d.rep.add(vOK, "trusted-types", fmt.Sprintf("the %s policy requires Trusted Types; the page carries the loader template", p.source), "")
		case named && !has(tt, "productfruits") && !has(tt, "*"):
			d.rep.add(vFail, "trusted-types", fmt.Sprintf("the %s policy requires Trusted Types and its trusted-types directive does not list productfruits", p.source), "add productfruits to your trusted-types directive")
		default:
			d.rep.add(vWarn, "trusted-types", fmt.Sprintf("the %s policy requires Trusted Types and the page carries no loader template", p.source), "update the library so that it emits the loader template on such pages")
		}
		return
	}
	d.rep.add(vOK, "trusted-types", "not required", "")
}

// headerValues returns every value of the field name, in any case.
func headerValues(h http.Header, name string) []string {
	var vs []string
	for k, v := range h {
		if strings.EqualFold(k, name) {
			vs = append(vs, v...)
		}
	}
	return vs
}

func (d *doctorRun) checkCaching() {
	rep := d.rep
	if d.data == nil {
		rep.add(vInfo, "caching", "not checked: no user on the page (an anonymous page may be cached)", "")
		return
	}
	h := d.page.header
	var problems []string
	cc := strings.Join(headerValues(h, "Cache-Control"), ", ")
	private, public := false, ""
	for _, dir := range strings.Split(cc, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(dir), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "private", "no-store":
			private = true
		case "public", "s-maxage":
			public = strings.TrimSpace(dir)
		}
	}
	switch {
	case cc == "":
		problems = append(problems, "no Cache-Control")
	case public != "":
		problems = append(problems, fmt.Sprintf("Cache-Control %q says %s", cc, public))
	case !private:
		problems = append(problems, fmt.Sprintf("Cache-Control %q has neither private nor no-store", cc))
	}
	vary := false
	for _, v := range headerValues(h, "Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); strings.EqualFold(f, "Cookie") || f == "*" {
				vary = true
			}
		}
	}
	if !vary {
		problems = append(problems, "Vary does not name Cookie")
	}
	for _, name := range []string{"CDN-Cache-Control", "Cloudflare-CDN-Cache-Control", "Surrogate-Control", "X-Accel-Expires", "Expires"} {
		if vs := headerValues(h, name); len(vs) > 0 {
			problems = append(problems, fmt.Sprintf("%s: %s", name, strings.Join(vs, ", ")))
		}
	}
	if len(problems) > 0 {
		rep.add(vFail, "caching", "a page with a user's hash, but "+strings.Join(problems, "; "), fixCache)
		return
	}
	rep.add(vOK, "caching", fmt.Sprintf("Cache-Control %q, Vary names Cookie, no CDN caching headers", cc), "")
}

func (d *doctorRun) checkCompression(page, plain *fetched, plainScan *pageScan, inside bool) {
	rep := d.rep
	enc := page.encoding
	switch {
	case plain == nil:
		rep.add(vWarn, "compression", "the page came compressed even without Accept-Encoding; not compared", "serve identity-encoded responses to requests that accept no encoding")
	case inside:
		rep.add(vFail, "compression", fmt.Sprintf("compression inside the middleware: the snippet is there without compression but not with Content-Encoding %s", enc), fixCompression)
	case !plainScan.hasSnippet():
		rep.add(vInfo, "compression", "not compared: no snippet either way", "")
	case enc == "" || enc == "identity":
		rep.add(vOK, "compression", "the page is not compressed; the snippet is there", "")
	default:
		rep.add(vOK, "compression", fmt.Sprintf("the snippet is there with Content-Encoding %s and without", enc), "")
	}
}

// The page's markup, read by a small scanner: start tags with their
// attributes, end tags, text, and the raw text of script-like elements,
// as an HTML tokenizer reads them (comments, doctypes and processing
// instructions skipped). It does not build a tree: where the head ends is
// worked out from the tokens as a tree builder in the "in head" mode would.

type tokenKind uint8

const (
	tokText tokenKind = iota
	tokStart
	tokEnd
)

type htmlToken struct {
	kind       tokenKind
	name       string // lower case
	attrs      map[string]string
	text       string // text, or a raw text element's contents
	start, end int    // byte offsets of the tag or text
}

// rawText are the elements whose contents are text up to their end tag
// (noscript: browsers run scripts).
var rawText = map[string]bool{
	"script": true, "style": true, "textarea": true, "title": true, "xmp": true,
	"iframe": true, "noembed": true, "noframes": true, "noscript": true,
}

// scanHTML tokenizes doc.
func scanHTML(doc string) []htmlToken {
	var toks []htmlToken
	text := func(from, to int) {
		if to > from {
			toks = append(toks, htmlToken{kind: tokText, text: doc[from:to], start: from, end: to})
		}
	}
	i := 0
	for i < len(doc) {
		lt := strings.IndexByte(doc[i:], '<')
		if lt < 0 {
			text(i, len(doc))
			break
		}
		text(i, i+lt)
		j := i + lt
		rest := doc[j:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if strings.HasPrefix(rest[4:], ">") || strings.HasPrefix(rest[4:], "->") {
				end = strings.IndexByte(rest[4:], '>') - 2
			}
			if end < 0 {
				return toks
			}
			i = j + 4 + end + 3
		case strings.HasPrefix(rest, "<!"), strings.HasPrefix(rest, "<?"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return toks
			}
			i = j + end + 1
		case strings.HasPrefix(rest, "</") && len(rest) > 2 && isASCIILetter(rest[2]):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return toks
			}
			name := tagName(rest[2:end])
			toks = append(toks, htmlToken{kind: tokEnd, name: name, start: j, end: j + end + 1})
			i = j + end + 1
		case len(rest) > 1 && isASCIILetter(rest[1]):
			t, n := scanStartTag(rest)
			t.start, t.end = j, j+n
			i = j + n
			if rawText[t.name] {
				closeAt := findEndTag(doc, i, t.name)
				t.text = doc[i:closeAt]
				i = closeAt
			}
			toks = append(toks, t)
			if t.name == "plaintext" {
				text(i, len(doc))
				return toks
			}
		default:
			text(j, j+1)
			i = j + 1
		}
	}
	return toks
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// asciiLower lower-cases ASCII letters only, keeping every byte offset.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// tagName returns the lower-cased name at the start of s.
func tagName(s string) string {
	n := 0
	for n < len(s) && !isSpace(s[n]) && s[n] != '/' && s[n] != '>' {
		n++
	}
	return asciiLower(s[:n])
}

// findEndTag returns where name's end tag starts at or after from, or
// len(doc) when it is never closed.
func findEndTag(doc string, from int, name string) int {
	for i := from; ; {
		k := strings.Index(doc[i:], "</")
		if k < 0 {
			return len(doc)
		}
		k += i
		e := k + 2 + len(name)
		if e <= len(doc) && asciiLower(doc[k+2:e]) == name && (e == len(doc) || isSpace(doc[e]) || doc[e] == '/' || doc[e] == '>') {
			return k
		}
		i = k + 2
	}
}

// scanStartTag reads the start tag at the start of s ("<name ...>") and
// returns it and its length. Attribute names are lower-cased, values have
// their character references decoded, and the first of two same-named
// attributes wins.
func scanStartTag(s string) (htmlToken, int) {
	t := htmlToken{kind: tokStart, attrs: map[string]string{}}
	i := 1
	for i < len(s) && !isSpace(s[i]) && s[i] != '/' && s[i] != '>' {
		i++
	}
	t.name = asciiLower(s[1:i])
	for i < len(s) {
		for i < len(s) && (isSpace(s[i]) || s[i] == '/') {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '>' {
			return t, i + 1
		}
		start := i
		i++ // a name may start with '='
		for i < len(s) && !isSpace(s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=' {
			i++
		}
		name := asciiLower(s[start:i])
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		val := ""
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					return t, len(s)
				}
				val = s[i+1 : i+1+end]
				i += end + 2
			} else {
				vs := i
				for i < len(s) && !isSpace(s[i]) && s[i] != '>' {
					i++
				}
				val = s[vs:i]
			}
		}
		if _, dup := t.attrs[name]; !dup {
			t.attrs[name] = html.UnescapeString(val)
		}
	}
	return t, len(s)
}

// headTags are the start tags the "in head" insertion mode takes in (and
// those before it, which open the head implicitly).
var headTags = map[string]bool{
	"html": true, "head": true, "base": true, "basefont": true, "bgsound": true, "link": true, "meta": true,
	"title": true, "noscript": true, "noframes": true, "style": true, "script": true, "template": true,
}

// element is a script or template of the snippet, or another element the
// checks read.
type element struct {
	start, end int // from its start tag to the end of its end tag
	nonce      string
	src        string
	text       string
}

type baseElement struct {
	start int
	href  string
}

type metaPolicy struct {
	start   int
	content string
}

// pageScan is what the checks need of a page.
type pageScan struct {
	data      []element // inline scripts pushing the page data
	anonymous []element // the anonymous page's script
	runtime   []element // the runtime's script element, with a src
	// inlineRuntime is an inline runtime (no endpoint URL to load it from).
	inlineRuntime bool
	loader        *element // the Trusted Types loader template; src from its script
	base          *baseElement
	metaCSP       []metaPolicy
	first         int    // where the snippet starts
	follows       string // the tag (or text) after the snippet's last element
	headEnd       int    // where the head ends
	headEndBy     string // what ends it
}

func (s *pageScan) hasSnippet() bool {
	return len(s.data)+len(s.anonymous)+len(s.runtime) > 0 || s.inlineRuntime
}

func describe(t htmlToken) string {
	switch t.kind {
	case tokStart:
		return "<" + t.name + ">"
	case tokEnd:
		return "</" + t.name + ">"
	}
	return "text"
}

func scanPage(body []byte) *pageScan {
	doc := string(body)
	toks := scanHTML(doc)
	sc := &pageScan{first: -1, headEnd: len(doc), headEndBy: "the end of the document"}
	last := -1 // index of the last token of the snippet
	depth := 0 // template nesting
	var loaderDepth int
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		switch {
		case t.kind == tokStart && t.name == "template":
			depth++
			if v, ok := t.attrs["data-productfruits"]; ok && v == "loader" && sc.loader == nil {
				sc.loader = &element{start: t.start}
				loaderDepth = depth
				sc.mark(t.start)
			}
			continue
		case t.kind == tokEnd && t.name == "template" && depth > 0:
			if sc.loader != nil && loaderDepth == depth {
				sc.loader.end, loaderDepth, last = t.end, 0, k
			}
			depth--
			continue
		}
		if t.kind != tokStart {
			continue
		}
		switch t.name {
		case "base":
			if href, ok := t.attrs["href"]; ok && sc.base == nil {
				sc.base = &baseElement{t.start, href}
			}
		case "meta":
			if strings.EqualFold(strings.TrimSpace(t.attrs["http-equiv"]), "content-security-policy") {
				sc.metaCSP = append(sc.metaCSP, metaPolicy{t.start, t.attrs["content"]})
			}
		case "script":
			if loaderDepth > 0 {
				if sc.loader.src == "" {
					sc.loader.src = t.attrs["src"]
				}
				continue
			}
			mark, ok := t.attrs["data-productfruits"]
			if !ok || depth > 0 {
				continue
			}
			el := element{start: t.start, end: t.end, nonce: t.attrs["nonce"], src: t.attrs["src"], text: t.text}
			if k+1 < len(toks) && toks[k+1].kind == tokEnd && toks[k+1].name == "script" {
				el.end = toks[k+1].end
				last = k + 1
			} else {
				last = k
			}
			_, hasSrc := t.attrs["src"]
			switch {
			case mark == "anonymous":
				sc.anonymous = append(sc.anonymous, el)
			case hasSrc:
				sc.runtime = append(sc.runtime, el)
			case strings.Contains(t.text, pushData+"{"):
				sc.data = append(sc.data, el)
			default:
				sc.inlineRuntime = true
			}
			sc.mark(t.start)
		}
	}
	for k := last + 1; last >= 0 && k < len(toks); k++ {
		if toks[k].kind != tokText || strings.TrimLeft(toks[k].text, " \t\n\r\f") != "" {
			sc.follows = describe(toks[k])
			break
		}
	}
	sc.findHeadEnd(toks)
	return sc
}

func (s *pageScan) mark(at int) {
	if s.first < 0 || at < s.first {
		s.first = at
	}
}

// findHeadEnd finds the first token that takes a tree builder out of the
// head: </head>, <body> and any start tag the head does not take,
// non-whitespace text, </body>, </html> or </br>. Template contents never
// end it.
func (s *pageScan) findHeadEnd(toks []htmlToken) {
	depth := 0
	for _, t := range toks {
		switch t.kind {
		case tokStart:
			if t.name == "template" {
				depth++
				continue
			}
			if depth > 0 || headTags[t.name] {
				continue
			}
		case tokEnd:
			if t.name == "template" && depth > 0 {
				depth--
				continue
			}
			if depth > 0 || (t.name != "head" && t.name != "body" && t.name != "html" && t.name != "br") {
				continue
			}
		case tokText:
			if depth > 0 || strings.TrimLeft(t.text, " \t\n\r\f") == "" {
				continue
			}
		}
		s.headEnd, s.headEndBy = t.start, describe(t)
		return
	}
}
