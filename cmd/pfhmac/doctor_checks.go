package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pfverify/productfruits"
)

// Fixes shared by several findings.
const (
	fixMount       = "the middleware does not see this URL: mount pf.Handler around the whole router, or give RuntimePath a route to pf.IdentityHandler()"
	fixCompression = "put pf.Handler inside your compression middleware (the compressor wraps it)"
	fixCache       = "a shared cache may hand this user's hash to another: serve logged-in pages with Cache-Control: private and Vary: Cookie, and without CDN caching headers"
)

// checkSnippet checks that the snippet is on the page once, whole and
// readable, and reads the page data the other checks need.
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

// checkPosition warns of a snippet past the head: it still runs, so it
// is no failure.
func (d *doctorRun) checkPosition(where string) {
	if d.scan.first >= d.scan.headEnd {
		d.rep.add(vWarn, "placement", "the snippet is "+where+": it still runs, but later than it should and outside the head the runtime works in",
			"place the snippet in <head>: with Config.Inject, keep body content out of the head; with TemplateScript, call it inside <head>")
	}
}

// offsets lists where els start, to point at each copy of the snippet.
func offsets(els []element) string {
	var b []string
	for _, e := range els {
		b = append(b, strconv.Itoa(e.start))
	}
	return strings.Join(b, ", ")
}

// checkRuntime fetches the runtime as the browser resolves its src: a
// route the middleware does not see, or a <base> on another origin,
// leaves the product without it.
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
		v, what := vFail, ""
		switch {
		case err != nil:
			what = "it fails: " + err.Error()
		case f.status == http.StatusOK && isJavaScript(f.header):
			v, what = vWarn, "it loads there, but from another origin than the page"
		default:
			what = fmt.Sprintf("it answers %d %s there", f.status, orNone(f.header.Get("Content-Type")))
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

// checkEndpoint asks the identity endpoint as the runtime does, with the
// cookie and without: renewal must sign the page's user, and nobody else.
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
		rep.add(vFail, "hash", fmt.Sprintf("%s does not verify for %q %s: %s", shown, u.Username, describeExp(u.HMAC.Expiration), slip(d.signer, d.mac, u, err, d.now)),
			"sign with the workspace's \"Encryption key\" (the same secret as given here), over exactly the username and expiration the page sends")
	default:
		rep.add(vFail, "hash", fmt.Sprintf("%s cannot be checked: %v", shown, err), "")
	}
}

// slip names what went wrong with a hash that does not verify, from the
// same candidates pfhmac verify tries; never a hash.
func slip(s *productfruits.Signer, mac macFunc, u productfruits.User, verr error, now time.Time) string {
	c := &checker{signer: s, mac: mac, user: u.Username, hash: u.HMAC.Hash, exp: u.HMAC.Expiration, now: now}
	malformed := errors.Is(verr, productfruits.ErrMalformedExpiration)
	expTime, parsed, exact := c.expiration(malformed)
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

// checkCaching fails a logged-in page that a shared cache may keep: it
// carries the user's hash.
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

// checkCompression compares the page fetched compressed and not: a
// compressor inside the middleware hides the page from it.
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
