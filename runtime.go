package productfruits

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"html"
	"net/http"
	"strings"
	"time"
)

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

// lifecycleSource is the browser side of the page protocol: the snippet
// pushes the page's data to this runtime, which inits, renews (fetching
// the identity endpoint before the HMAC expires), switches and destroys
// the product for the page's user, and appends the product's loader.
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
