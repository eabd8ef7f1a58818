package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

const (
	// browserUA is a current desktop browser's User-Agent: some apps and
	// firewalls serve other clients something else.
	browserUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 pfhmac-doctor"
	// maxBody bounds what is read of any response.
	maxBody      = 16 << 20
	maxRedirects = 10
)

// fetched is one response, its body decoded.
type fetched struct {
	url       *url.URL
	status    int
	header    http.Header
	body      []byte
	encoding  string // Content-Encoding as received
	redirects []redirect
}

// redirect is one hop of a redirect chain.
type redirect struct {
	status   int
	from, to *url.URL
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

// decoded returns page with its body decoded. Browsers also accept
// brotli, which pfhmac cannot decode: then it fetches the page again
// accepting gzip alone.
func (d *doctorRun) decoded(page *fetched) (*fetched, error) {
	ok, err := decode(page)
	if err != nil || ok {
		return page, err
	}
	d.rep.add(vInfo, "encoding", fmt.Sprintf("the page came with Content-Encoding %q, which pfhmac cannot decode; checking the page as fetched with Accept-Encoding: gzip", page.encoding), "")
	if page, err = d.follow(page.url, pageHeaders("gzip")); err != nil {
		return nil, err
	}
	if ok, err = decode(page); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("%s answers Accept-Encoding: gzip with Content-Encoding %q", page.url, page.encoding)
	}
	return page, nil
}

// plainPage fetches u accepting no encoding, to compare with the page as
// browsers get it; nil when it comes compressed all the same.
func (d *doctorRun) plainPage(u *url.URL) (*fetched, error) {
	plain, err := d.follow(u, pageHeaders(""))
	if err != nil {
		return nil, err
	}
	if ok, err := decode(plain); err != nil || !ok {
		return nil, nil // answered compressed to a request that accepts none
	}
	return plain, nil
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

// pageHeaders returns the headers of a browser's navigation: apps and
// their firewalls tell pages from other requests by them.
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

// looksLikeLogin guesses from the path alone: the login page's markup
// differs from app to app.
func looksLikeLogin(u *url.URL) bool {
	p := strings.ToLower(u.Path)
	for _, w := range []string{"login", "log-in", "signin", "sign-in", "sign_in", "auth", "sso"} {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}

// mediaType returns h's Content-Type without its parameters.
func mediaType(h http.Header) string {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt
}

// isHTML reports whether h is of a page the middleware injects into.
func isHTML(h http.Header) bool {
	mt := mediaType(h)
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// isJavaScript reports whether h is of a script browsers run: they refuse
// a script element's response of another type.
func isJavaScript(h http.Header) bool {
	switch mediaType(h) {
	case "text/javascript", "application/javascript", "application/x-javascript", "application/ecmascript", "text/ecmascript", "text/jscript":
		return true
	}
	return false
}

// isJSON reports whether h is of a JSON response, as the runtime reads
// the endpoint's.
func isJSON(h http.Header) bool {
	mt := mediaType(h)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
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

// sameOrigin compares scheme, host and port, as browsers do before they
// send credentials or apply 'self'.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

// port returns u's port, the scheme's default when u names none.
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

// headerValues returns every value of the field name, in any case: a
// header built by hand may not be canonical.
func headerValues(h http.Header, name string) []string {
	var vs []string
	for k, v := range h {
		if strings.EqualFold(k, name) {
			vs = append(vs, v...)
		}
	}
	return vs
}
