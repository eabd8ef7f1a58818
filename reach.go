package productfruits

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Where the browser fetches the runtime and the endpoint: by default
// under Config.IdentityPath, one URL the browser caches across pages. A
// middleware scoped to a router group (chi's Route, a gorilla/mux
// subrouter, an Echo or Gin group) never sees that URL: the router answers
// 404. The page's own URL always reaches it, so the middleware asks once
// per stripped prefix whether the runtime's URL does, and where it does
// not, pages use their own URL with the query pageQuery.

// pageQuery starts the query that names the middleware's answers on any
// URL it sees: pageQuery+"identity" for the endpoint and pageQuery plus
// the runtime's file name for the runtime.
const pageQuery = "productfruits="

// identityQuery is the query value that asks any page URL for the
// endpoint's answer.
const identityQuery = "identity"

// maxReachPrefixes bounds how many stripped prefixes are remembered;
// past it, pages of a new prefix use their own URL, which always works.
const maxReachPrefixes = 64

// probeWait bounds how long a page waits for the answer to whether the
// runtime's URL reaches the middleware (once per prefix). An app whose
// outer middleware serialises requests would hold the question until
// the page is served; that page then uses its own URL.
var probeWait = 2 * time.Second

// reachability remembers, per stripped prefix, whether the runtime's own
// URL reaches the Middleware. Pages read it without a lock once it is
// known.
type reachability struct {
	known sync.Map // prefix → *reachProbe
	mu    sync.Mutex
	n     int // prefixes asked about
}

// reachProbe is the question for one prefix, asked once.
type reachProbe struct {
	done    chan struct{}
	root    bool        // set before done is closed
	settled atomic.Bool // done is closed
}

// probeKey marks the request that asks whether the runtime's URL reaches
// a Middleware; its value is a *probeMark.
type probeKey struct{}

// probeMark is set by the Middleware that the probe reaches.
type probeMark struct {
	m       *Middleware
	reached atomic.Bool
}

// rootReaches reports whether a browser request for the runtime's URL
// under prefix reaches m, by asking the server's own handler once per
// prefix. Without a server to ask (a test calling the handler directly, an
// adaptor from another server library) it reports true: the configured
// URL, as before.
func (m *Middleware) rootReaches(r *http.Request, prefix string) bool {
	rc := &m.reach
	if v, ok := rc.known.Load(prefix); ok {
		if p := v.(*reachProbe); p.settled.Load() {
			return p.root
		}
	}
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil {
		return true
	}
	rc.mu.Lock()
	v, ok := rc.known.Load(prefix)
	if !ok {
		if rc.n >= maxReachPrefixes {
			rc.mu.Unlock()
			return false
		}
		rc.n++
		v = &reachProbe{done: make(chan struct{})}
		rc.known.Store(prefix, v)
		go m.probe(srv, r, prefix, v.(*reachProbe))
	}
	rc.mu.Unlock()
	p := v.(*reachProbe)
	t := time.NewTimer(probeWait)
	defer t.Stop()
	select {
	case <-p.done:
		return p.root
	case <-t.C:
		return false
	}
}

// probe serves a GET of the runtime's URL under prefix through the
// server's own handler, as a browser's script request without cookies,
// and records whether it reached m. The request carries no cookie and
// no value of the page's request, so it acts as nobody; whatever the app
// does on the way (an access log line, a 404 page) goes to a discarded
// response.
func (m *Middleware) probe(srv *http.Server, page *http.Request, prefix string, p *reachProbe) {
	defer func() {
		p.settled.Store(true)
		close(p.done)
	}()
	defer func() {
		if recover() != nil {
			p.root = false
		}
	}()
	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	mark := &probeMark{m: m}
	ctx := context.WithValue(context.Background(), http.ServerContextKey, srv)
	if a := page.Context().Value(http.LocalAddrContextKey); a != nil {
		ctx = context.WithValue(ctx, http.LocalAddrContextKey, a)
	}
	ctx = context.WithValue(ctx, probeKey{}, mark)
	target := prefix + m.runtime.path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return
	}
	req.RequestURI, req.Host, req.RemoteAddr, req.TLS = target, page.Host, page.RemoteAddr, page.TLS
	req.Proto, req.ProtoMajor, req.ProtoMinor = page.Proto, page.ProtoMajor, page.ProtoMinor
	req.Header = http.Header{
		"Accept":         {"*/*"},
		"Sec-Fetch-Dest": {"script"},
		"Sec-Fetch-Mode": {"no-cors"},
		"Sec-Fetch-Site": {"same-origin"},
	}
	if ua := page.Header["User-Agent"]; len(ua) > 0 {
		req.Header["User-Agent"] = ua[:1:1]
	}
	h.ServeHTTP(&probeWriter{h: http.Header{}}, req)
	p.root = mark.reached.Load()
	if !p.root {
		m.logger.LogAttrs(page.Context(), slog.LevelInfo,
			"productfruits: the runtime's URL does not reach this middleware (mounted in a router group?); "+
				"pages load the runtime and the endpoint from their own URL (?"+pageQuery+"…). "+
				"Wrap the whole router with pf.Handler to let browsers cache the runtime across pages",
			slog.String("url", target))
	}
}

// probed reports whether r is the probe asking for m, and answers it.
func (m *Middleware) probed(w http.ResponseWriter, r *http.Request) bool {
	mark, ok := r.Context().Value(probeKey{}).(*probeMark)
	if !ok || mark.m != m {
		return false
	}
	mark.reached.Store(true)
	w.WriteHeader(http.StatusNoContent)
	return true
}

// probeWriter is the probe's response: kept by nobody.
type probeWriter struct {
	h    http.Header
	code int
}

func (d *probeWriter) Header() http.Header { return d.h }

func (d *probeWriter) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}

func (d *probeWriter) Write(p []byte) (int, error) { return len(p), nil }

// pageQueryAnswer serves the endpoint or the runtime when r's query asks
// for them (see pageQuery), and reports whether it did.
func (m *Middleware) pageQueryAnswer(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.RawQuery
	if len(q) <= len(pageQuery) || q[:len(pageQuery)] != pageQuery {
		return false
	}
	switch q[len(pageQuery):] {
	case identityQuery:
		m.serveIdentity(w, r)
	case m.runtime.file[1:]:
		m.serveRuntime(w, r)
	default:
		return false
	}
	return true
}

// pagePath returns the path of r's URL as the browser sent it (any
// stripped prefix included), percent-encoded to ASCII that is safe in an
// attribute and a JSON string once escaped for them.
func pagePath(r *http.Request, prefix string) string {
	p := r.RequestURI
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") {
		// An absolute-form request line, or a request built by hand.
		p = prefix + r.URL.EscapedPath()
	}
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	return escapePath(p)
}

// pathSafe marks the bytes a URL path keeps as they are (RFC 3986 pchar,
// '/' and an existing '%' escape).
var pathSafe = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/%") {
		t[c] = true
	}
	return t
}()

// escapePath percent-encodes the bytes of p that pathSafe does not keep;
// p itself, without an allocation, when there are none.
func escapePath(p string) string {
	i := 0
	for i < len(p) && pathSafe[p[i]] {
		i++
	}
	if i == len(p) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if c := p[i]; pathSafe[c] {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		}
	}
	return b.String()
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
