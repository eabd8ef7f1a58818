package productfruits

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The page protocol: the snippet pushes the page's data to the lifecycle
// runtime, which the middleware serves beside the identity endpoint; with
// a TTL every HMAC expires, and the runtime fetches the endpoint before
// expiry and hands the fresh user object to the product. Both halves live
// here.

// IdentityHandler returns the identity endpoint as a handler of its own,
// for routers that run middleware on matched routes only (gorilla/mux,
// echo groups) or apps that mount it elsewhere. Handler already serves it
// at Config.IdentityPath; this is for mounting it by hand. A username
// resolver or profile hook error is answered with 503 so that the renewal
// script retries, an anonymous request with 401 so that it stops, and a
// user that cannot be signed or encoded with 500.
//
// A request whose path ends in the runtime's file name (see RuntimePath)
// gets the page lifecycle runtime instead, so that one handler mounted at
// both IdentityPath and RuntimePath serves what a page fetches.
func (m *Middleware) IdentityHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, m.runtime.file) {
			m.serveRuntime(w, r)
			return
		}
		if r.URL.RawQuery != "" && m.pageQueryAnswer(w, r) {
			return
		}
		m.serveIdentity(w, r)
	})
}

// RuntimePath returns the path, as the wrapped handler sees it, where
// Handler serves the page lifecycle runtime that every logged-in page
// loads: IdentityPath followed by "/lifecycle.<version>.js", the version
// naming the runtime's bytes (so the file is cached for a year and never
// revalidated). With the endpoint switched off (IdentityPath "-") it is
// under IdentityURL, where the app mounts IdentityHandler. Routers that
// run middleware on matched routes only give this path a route to
// IdentityHandler, as they give IdentityPath one. It returns "" when
// there is neither: pages then carry the runtime inline.
func (m *Middleware) RuntimePath() string {
	switch {
	case m.runtime.path != "":
		return m.runtime.path
	case m.identityURL != "":
		return m.identityURL + m.runtime.file
	}
	return ""
}

// serveIdentity answers the identity endpoint: the current user's object
// with a fresh HMAC, for pages that renew an expiring HMAC without a
// reload. Whom it signs for comes only from Config.Username, never from
// the query, body or headers. Content-Language names the language the
// request's page would get (Config.LanguageFunc), which the runtime uses
// when the answer is another user than the page's.
func (m *Middleware) serveIdentity(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	canonicalHeader(h)   // an outer middleware's fields under any spelling
	dropSharedCaching(h) // whatever an outer middleware set for its caches
	delete(h, "Etag")    // and its validators: each answer is a fresh signature
	delete(h, "Last-Modified")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "application/json")
	// No other origin may embed or read it, whatever a CORS layer outside
	// reflects.
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	varyCookie(h, nil)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeJSON(w, r, http.StatusMethodNotAllowed, []byte(`{"error":"method not allowed"}`))
		return
	}
	if !sameOriginFetch(r) {
		writeJSON(w, r, http.StatusForbidden, []byte(`{"error":"cross-site request"}`))
		return
	}
	st, err := m.resolve(r)
	if err == nil && st == nil {
		writeJSON(w, r, http.StatusUnauthorized, []byte(`{"error":"not logged in"}`))
		return
	}
	var body []byte
	if err == nil {
		if body = st.userJSON; body == nil {
			if body, err = appendSignedUser(nil, &st.user, &st.sig); err != nil {
				err = &failure{stageEncode, err}
			}
		}
	}
	if err != nil {
		status, msg := identityFailure(err)
		m.logFailure(r, err, "the identity endpoint answered "+strconv.Itoa(status))
		writeJSON(w, r, status, msg)
		return
	}
	h.Set("Content-Language", m.languageFor(r))
	writeJSON(w, r, http.StatusOK, body)
}

// sameOriginFetch reports whether r may read the endpoint by its Fetch
// Metadata: Sec-Fetch-Site same-origin (the page's runtime) or none (the
// user typing the URL), or no such header (a client that sends none, such
// as curl; browsers have sent it since 2023). Another site, or another
// origin of the same site, gets nothing, even behind a CORS layer that
// reflects every origin with credentials.
func sameOriginFetch(r *http.Request) bool {
	v := r.Header["Sec-Fetch-Site"]
	if len(v) == 0 {
		return true
	}
	return v[0] == "same-origin" || v[0] == "none"
}

// identityFailure chooses the endpoint's answer to a failed stage. A
// resolver or profile failure is usually passing (a session store or
// database down): 503, which the renewal script retries. A username that
// cannot be signed, or a profile that cannot be encoded, will fail again
// the same way: 500.
func identityFailure(err error) (int, []byte) {
	f, _ := err.(*failure)
	switch {
	case f == nil:
	case f.stage == stageUsername:
		return http.StatusServiceUnavailable, []byte(`{"error":"identity temporarily unavailable"}`)
	case f.stage == stageProfile:
		return http.StatusServiceUnavailable, []byte(`{"error":"profile temporarily unavailable"}`)
	case f.stage == stageEncode:
		return http.StatusInternalServerError, []byte(`{"error":"cannot encode the user"}`)
	}
	return http.StatusInternalServerError, []byte(`{"error":"cannot sign the user"}`)
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// lifecycleSource is the browser side of the protocol: the runtime that
// inits, renews, switches and destroys the product for the page's user,
// and appends the product's loader.
//
//go:embed lifecycle.js
var lifecycleSource string

// lifecycleJS is lifecycleSource without comments and indentation; its
// lines stay, so no statement joins another. It still names the loader
// as loaderPlaceholder.
var lifecycleJS = compactJS(lifecycleSource)

// loaderPlaceholder is the name lifecycle.js gives the product's loader
// URL, which buildRuntime fills in.
const loaderPlaceholder = "LOADER_URL"

func compactJS(src string) string {
	var b strings.Builder
	for line := range strings.Lines(src) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// runtimeAsset is the lifecycle runtime as one Middleware serves it. Its
// bytes depend on Config.ScriptURL alone, so every instance of an app
// configured alike serves the same version.
type runtimeAsset struct {
	js   []byte // lifecycleJS with the loader's URL: what is served, or inlined
	etag string // the version, quoted
	file string // "/lifecycle.<version>.js", how its path ends
	path string // where Handler serves it; "" when the endpoint is off
	// src is the browser's URL of it, escaped for an attribute, when no
	// prefix was stripped; nil when it has none and pages carry it inline.
	src []byte
}

// buildRuntime precomputes the runtime: its bytes, version, paths and the
// URL in the page. The version is the first 12 hex digits of the SHA-256
// of the bytes: a new runtime (a library upgrade, another ScriptURL) is a
// new URL, so the old one can be cached as immutable.
func (m *Middleware) buildRuntime() {
	js := strings.Replace(lifecycleJS, loaderPlaceholder, string(appendJSONString(nil, m.scriptURL)), 1)
	sum := sha256.Sum256([]byte(js))
	version := hex.EncodeToString(sum[:6])
	rt := &m.runtime
	rt.js = []byte(js)
	rt.etag = `"` + version + `"`
	rt.file = "/lifecycle." + version + ".js"
	if m.identityPath != "" {
		rt.path = m.identityPath + rt.file
	}
	switch {
	case m.identityURL != "":
		rt.src = []byte(html.EscapeString(m.identityURL + rt.file))
	case m.identityPath != "":
		rt.src = []byte(html.EscapeString(m.identityPath + rt.file))
	}
}

// serveRuntime answers the runtime's URL. The bytes hold no user data and
// change only with the URL: any cache may keep them for a year.
func (m *Middleware) serveRuntime(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", m.runtime.etag)
	// ServeContent sets Content-Length, answers If-None-Match with 304
	// and HEAD without a body.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(m.runtime.js))
}

// appendRuntime appends the snippet's second script element: the runtime
// loaded from its URL (under the stripped prefix, or on the page's own URL
// where the runtime's does not reach the middleware), or, when it has
// none, inline.
func (m *Middleware) appendRuntime(dst []byte, home pageHome, nonce string) []byte {
	if m.runtime.src == nil {
		dst = append(dst, "<script "...)
		dst = appendNonceAttr(dst, nonce)
		dst = append(dst, snippetMarker+`="">//<![CDATA[`+"\n"...)
		dst = append(dst, m.runtime.js...)
		return append(dst, "\n//]]></script>"...)
	}
	dst = append(dst, `<script async="" fetchpriority="high" src="`...)
	switch {
	case home.page != "":
		dst = append(dst, html.EscapeString(home.page)...)
		dst = append(dst, "?"+pageQuery...)
		dst = append(dst, m.runtime.file[1:]...)
	case home.prefix != "":
		dst = append(dst, html.EscapeString(home.prefix)...)
		fallthrough
	default:
		dst = append(dst, m.runtime.src...)
	}
	dst = append(dst, '"', ' ')
	dst = appendNonceAttr(dst, nonce)
	return append(dst, snippetMarker+`=""></script>`...)
}

// pushData starts every snippet's inline script: the page's data goes
// onto the runtime's queue, which the runtime acts on (lifecycle.js).
const pushData = "(window.__productfruitsGo=window.__productfruitsGo||[]).push("

// anonymousScript is what an anonymous page carries: no user, no secret,
// the same for every visitor, so the page stays cacheable. In a document
// where the product runs for someone (a Turbo or htmx visit after logout)
// it makes the runtime destroy the product.
//
// It also tells the document's other tabs that someone logged out (see
// lifecycle.js): after a full-page logout no runtime runs in this
// document to do it. The message carries nothing but "out"; a tab that
// gets it asks its own endpoint who it is now, so a wrong one (a cached
// anonymous page) costs a request and changes nothing.
const anonymousScript = pushData + `0);try{new BroadcastChannel("productfruits").postMessage("out")}catch(e){}`

// buildRenewal precomputes the renewal setting of the page data object,
// the TTL; nothing without one. Where to renew from the runtime reads off
// its own URL, which is always beside the endpoint's: IdentityPath (or
// IdentityURL) and "/lifecycle.<version>.js", under any stripped prefix,
// or the page's own URL with ?productfruits=lifecycle.<version>.js beside
// ?productfruits=identity. A TTL needs an endpoint, and with one the
// runtime has a URL (config.go), so the page never names the endpoint.
func (m *Middleware) buildRenewal() {
	if m.ttl <= 0 {
		return
	}
	m.ttlJSON = strconv.AppendInt([]byte(`,"ttl":`), m.ttl.Milliseconds(), 10)
}

// pageHome says where r's page finds the endpoint and the runtime: under
// the configured path, with prefix, the path stripped from r before the
// middleware saw it, in front; or, when page is set, on the page's own
// URL (see reach.go).
type pageHome struct {
	prefix string
	page   string
}

// homeFor returns r's pageHome: the configured one when IdentityURL says
// where it is, when the page needs neither URL, or without a request
// (ScriptFor).
func (m *Middleware) homeFor(r *http.Request) pageHome {
	if r == nil || m.identityURL != "" || m.identityPath == "" || (m.ttl <= 0 && m.runtime.src == nil) {
		return pageHome{}
	}
	prefix := strippedPrefix(r)
	if !m.rootReaches(r, prefix) {
		return pageHome{page: pagePath(r, prefix)}
	}
	return pageHome{prefix: prefix}
}

// appendRenewal appends the renewal setting of the page data object.
func (m *Middleware) appendRenewal(dst []byte) []byte {
	return append(dst, m.ttlJSON...)
}

// strippedPrefix returns the path prefix that was removed from r's URL
// before the middleware saw it (http.StripPrefix leaves RequestURI as the
// client sent it), so that the browser can reach the endpoint at the path
// it knows. It returns "" when nothing was stripped or the prefix is not
// a clean path of segments.
func strippedPrefix(r *http.Request) string {
	uri := r.RequestURI
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	p := r.URL.EscapedPath()
	if len(uri) <= len(p) || !strings.HasSuffix(uri, p) || !strings.HasPrefix(p, "/") {
		return ""
	}
	prefix := uri[:len(uri)-len(p)]
	if pathProblem(prefix) != "" || strings.HasSuffix(prefix, "/") {
		return ""
	}
	// Raw bytes of 0x80 and above (a client that does not percent-encode,
	// a decoding proxy) would make the snippet non-ASCII, and XHTML pages
	// ill-formed: the same path, percent-encoded.
	return escapePath(prefix)
}
