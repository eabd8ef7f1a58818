package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pfverify/productfruits"
)

// The benchmark's two origins: the app (pages, its static files, the
// middleware's runtime) and the product's (the stand-in loader and the
// HMAC check its loader makes). Both are HTTPS with HTTP/2 on loopback;
// the product's answers every request loaderDelay later, as a server
// further away would.

const (
	workspace   = "bench_ws"
	secret      = "SecretkeyFromWorkspaceSettings"
	username    = "alice@example.com"
	loaderDelay = 40 * time.Millisecond
)

//go:embed standin.js
var standInHead string

// newCert returns a self-signed certificate for 127.0.0.1 and localhost,
// and the base64 SHA-256 of its public key, which Chromium's
// --ignore-certificate-errors-spki-list takes as trusted: unlike
// --ignore-certificate-errors, it leaves the HTTP cache on.
func newCert() (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "browserbench"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, base64.StdEncoding.EncodeToString(spki[:]), nil
}

// startTLS serves h over HTTPS with HTTP/2.
func startTLS(h http.Handler, cert tls.Certificate) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	s.EnableHTTP2 = true
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.StartTLS()
	return s
}

// product is the product's origin: the stand-in loader and the check of
// the HMAC. It counts what it served, for the checks of each visit.
type product struct {
	signer    *productfruits.Signer
	script    []byte
	etag      string
	cache     string // the loader's Cache-Control
	fetches   atomic.Int64
	verified  atomic.Int64
	rejected  atomic.Int64
	protocols atomic.Value // the last loader request's protocol
}

// newProduct builds the stand-in loader, padded to about size bytes of
// JavaScript the browser parses (functions never called, as most of a
// real loader is until used).
func newProduct(signer *productfruits.Signer, cache string, size int) *product {
	var b bytes.Buffer
	b.WriteString(standInHead)
	b.WriteString("(function () {\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "function pad%d(a, b) { var x = a * %d + b; if (x > %d) { return [x, 'pad%d', { k: x >>> 1 }]; } return x ^ %d; }\n", i, i, i*7, i, i)
	}
	b.WriteString("})();\n")
	sum := sha256.Sum256(b.Bytes())
	return &product{signer: signer, script: b.Bytes(), cache: cache, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:9]) + `"`}
}

func (p *product) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(loaderDelay)
	h := w.Header()
	h.Set("Timing-Allow-Origin", "*")
	switch r.URL.Path {
	case "/static/script.js":
		p.fetches.Add(1)
		p.protocols.Store(r.Proto)
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", p.cache)
		h.Set("ETag", p.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(p.script))
	case "/verify":
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		var req struct {
			Workspace string             `json:"workspace"`
			User      productfruits.User `json:"user"`
		}
		res := struct {
			Verified bool   `json:"verified"`
			Error    string `json:"error,omitempty"`
		}{}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		switch err := json.Unmarshal(body, &req); {
		case err != nil:
			res.Error = err.Error()
		case req.Workspace != workspace:
			res.Error = "unknown workspace " + req.Workspace
		case req.User.HMAC == nil:
			res.Error = "no hmac"
		default:
			if err := p.signer.Verify(req.User.Username, *req.User.HMAC, time.Now()); err != nil {
				res.Error = err.Error()
			} else {
				res.Verified = true
			}
		}
		if res.Verified {
			p.verified.Add(1)
		} else {
			p.rejected.Add(1)
		}
		json.NewEncoder(w).Encode(res)
	default:
		http.NotFound(w, r)
	}
}

// counts is what the product's origin saw.
type counts struct{ fetches, verified, rejected int64 }

func (p *product) counts() counts {
	return counts{p.fetches.Load(), p.verified.Load(), p.rejected.Load()}
}

func (c counts) sub(d counts) counts {
	return counts{c.fetches - d.fetches, c.verified - d.verified, c.rejected - d.rejected}
}

// The app's page: a head of about 30 KiB (metadata, a render-blocking
// stylesheet, a parser-blocking script and inline critical CSS) and a
// short body. The snippet goes where the middleware inserts it; the
// official variant's snippet is put at the same place.
var (
	appCSS    = strings.Repeat(".c{color:#123;margin:0 auto;padding:4px 8px;border:1px solid #eee}\n", 60<<10/67)
	appJS     = "window.__app=1;\n" + strings.Repeat("function appFn(a){return a+1}\n", 40<<10/30)
	inlineCSS = strings.Repeat(".crit{display:flex;align-items:center;justify-content:space-between}\n", 26<<10/70)
	bodyHTML  = strings.Repeat("<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.</p>\n", 100)
)

// basePage returns the page without any snippet, its scripts carrying
// nonce when it is not "". Every variant serves the same page.
func basePage(nonce string) string {
	const title = "Reports"
	na := ""
	if nonce != "" {
		na = ` nonce="` + nonce + `"`
	}
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>` + title + `</title>` +
		`<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">` +
		`<link rel="stylesheet" href="/static/app.css"><script src="/static/app.js"` + na + `></script>` +
		`<style>` + inlineCSS + `</style></head><body><main><h1>` + title + `</h1>` + bodyHTML + `</main>` +
		`<script src="/static/turbo-lite.js"` + na + `></script></body></html>`
}

// officialSnippet is the product's own install snippet: an inline script
// that creates the loader's <script async> and the init with the signed
// user object (REFERENCE.md, "The browser side").
func officialSnippet(loader string, user []byte) string {
	return `<script>
(function (w, d, u) {
w.$productFruits = w.$productFruits || [];
w.productFruits = w.productFruits || {}; w.productFruits.scrV = '2';
var a = d.getElementsByTagName('head')[0]; var r = d.createElement('script'); r.async = 1; r.src = u; a.appendChild(r);
})(window, document, ` + strconv.Quote(loader) + `);
window.$productFruits.push(['init', ` + strconv.Quote(workspace) + `, 'en', ` + string(user) + `]);
</script>`
}

// turboLite is a Turbo Drive-style visit: fetch the next page, merge its
// head as Turbo does (new links first, then new scripts recreated so that
// they run; elements compared without their nonce), swap the body.
const turboLite = `window.__visit = function (url) {
  window.__bench.t0 = performance.now();
  window.__bench.readyAt = 0;
  function key(e) { var c = e.cloneNode(true); c.removeAttribute('nonce'); return c.outerHTML; }
  return fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } }).then(function (r) { return r.text(); }).then(function (html) {
    var doc = new DOMParser().parseFromString(html, 'text/html');
    var have = {};
    Array.prototype.forEach.call(document.head.children, function (e) { have[key(e)] = true; });
    var fresh = Array.prototype.filter.call(doc.head.children, function (e) { return !have[key(e)]; });
    fresh.filter(function (e) { return e.tagName !== 'SCRIPT'; }).forEach(function (e) { document.head.appendChild(document.importNode(e, true)); });
    fresh.filter(function (e) { return e.tagName === 'SCRIPT'; }).forEach(function (e) {
      var s = document.createElement('script');
      Array.prototype.forEach.call(e.attributes, function (a) { s.setAttribute(a.name, a.value); });
      s.textContent = e.textContent;
      document.head.appendChild(s);
    });
    document.body.replaceWith(document.importNode(doc.body, true));
    history.pushState({}, '', url);
  });
};
`

// app is the app's origin: the official variant's pages by hand, the
// library's through its middleware.
type app struct {
	loader  string
	signer  *productfruits.Signer
	pf      *productfruits.Middleware
	insertA int // where the middleware inserts into basePage
	mux     *http.ServeMux
}

func newApp(loader string, signer *productfruits.Signer) (*app, error) {
	a := &app{loader: loader, signer: signer, mux: http.NewServeMux()}
	cfg := productfruits.Config{
		WorkspaceCode: workspace,
		Secret:        productfruits.NewSecret(secret),
		Language:      "en",
		ScriptURL:     loader,
		Inject:        true,
		Username: func(r *http.Request) (string, error) {
			if strings.HasPrefix(r.URL.Path, "/anon/") {
				return "", nil
			}
			return username, nil
		},
	}
	pf, err := productfruits.New(cfg)
	if err != nil {
		return nil, err
	}
	a.pf = pf
	cfg.NoPreload = true
	pfNoPreload, err := productfruits.New(cfg)
	if err != nil {
		return nil, err
	}
	static := func(body, typ string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", typ)
			w.Header().Set("Cache-Control", "public, max-age=3600")
			io.WriteString(w, body)
		}
	}
	a.mux.Handle("/static/app.css", static(appCSS, "text/css"))
	a.mux.Handle("/static/app.js", static(appJS, "text/javascript"))
	a.mux.Handle("/static/turbo-lite.js", static(turboLite, "text/javascript"))
	a.mux.HandleFunc("/official", a.official)
	a.mux.HandleFunc("/anon/official", func(w http.ResponseWriter, r *http.Request) { writePage(w, basePage("")) })
	a.mux.HandleFunc("/control/unused-preload", func(w http.ResponseWriter, r *http.Request) {
		writePage(w, strings.Replace(basePage(""), "</head>", `<link rel="preload" as="script" href="`+html.EscapeString(loader)+`"></head>`, 1))
	})
	lib := http.NewServeMux()
	lib.HandleFunc("/library", a.library)
	lib.HandleFunc("/anon/library", a.library)
	a.mux.Handle("/library", pf.Handler(lib))
	a.mux.Handle("/anon/library", pf.Handler(lib))
	a.mux.Handle("/productfruits/", pf.Handler(lib))
	a.mux.Handle("/nopreload", pfNoPreload.Handler(lib))
	a.mux.Handle("/anon/nopreload", pfNoPreload.Handler(lib))
	lib.HandleFunc("/nopreload", a.library)
	lib.HandleFunc("/anon/nopreload", a.library)
	return a, a.findInsertion()
}

func writePage(w http.ResponseWriter, page string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, page)
}

// library serves basePage for the middleware to inject into; ?csp= sets a
// policy with a fresh nonce: nonce (strict), strict-dynamic, or tt
// (Trusted Types required, no policy allowed).
func (a *app) library(w http.ResponseWriter, r *http.Request) {
	nonce := ""
	if mode := r.URL.Query().Get("csp"); mode != "" {
		var b [16]byte
		rand.Read(b[:])
		nonce = base64.StdEncoding.EncodeToString(b[:])
		policy := "script-src 'nonce-" + nonce + "'; object-src 'none'; base-uri 'none'"
		switch mode {
		case "strict-dynamic":
			policy = "script-src 'nonce-" + nonce + "' 'strict-dynamic' https: 'unsafe-inline'; object-src 'none'; base-uri 'none'"
		case "tt":
			policy += "; require-trusted-types-for 'script'; trusted-types 'none'"
		}
		w.Header().Set("Content-Security-Policy", policy)
	}
	writePage(w, basePage(nonce))
}

// official serves basePage with the product's own snippet where the
// middleware would have put its own.
func (a *app) official(w http.ResponseWriter, r *http.Request) {
	h, err := a.signer.Sign(username, time.Time{})
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	user, _ := json.Marshal(productfruits.User{Username: username, HMAC: &h})
	page := basePage("")
	writePage(w, page[:a.insertA]+officialSnippet(a.loader, user)+page[a.insertA:])
}

// findInsertion finds where the middleware inserts its snippet into
// basePage: the official variant's snippet goes there too.
func (a *app) findInsertion() error {
	rec := httptest.NewRecorder()
	a.mux.ServeHTTP(rec, httptest.NewRequest("GET", "/library", nil))
	got, base := rec.Body.String(), basePage("")
	i := 0
	for i < len(base) && i < len(got) && got[i] == base[i] {
		i++
	}
	// The common prefix may end inside a tag (the preload and the page's
	// stylesheet both start with <link rel=").
	i = strings.LastIndexByte(got[:i+1], '<')
	if i < 0 || !strings.HasPrefix(got[i:], `<link rel="preload" as="script"`) || got[:i]+got[len(got)-(len(base)-i):] != base {
		return fmt.Errorf("the middleware did not inject its snippet as expected: %.300q", got[max(i, 0):])
	}
	a.insertA = i
	return nil
}
