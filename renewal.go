package productfruits

import (
	_ "embed"
	"net/http"
	"strconv"
	"strings"
)

// The renewal protocol: with a TTL every HMAC expires, so the snippet
// carries a script that fetches the identity endpoint before expiry and
// hands the fresh user object to the product. Both halves live here.

// IdentityHandler returns the identity endpoint as a handler of its own,
// for routers that run middleware on matched routes only (gorilla/mux,
// echo groups) or apps that mount it elsewhere. Handler already serves it
// at Config.IdentityPath; this is for mounting it by hand. A username
// resolver or profile hook error is answered with 503 so that the renewal
// script retries, an anonymous request with 401 so that it stops, and a
// user that cannot be signed or encoded with 500.
func (m *Middleware) IdentityHandler() http.Handler {
	return http.HandlerFunc(m.serveIdentity)
}

// serveIdentity answers the identity endpoint: the current user's object
// with a fresh HMAC, for pages that renew an expiring HMAC without a
// reload. Whom it signs for comes only from Config.Username, never from
// the query, body or headers. Content-Language names the language the
// request's page would get (Config.LanguageFunc), which the runtime uses
// when the answer is another user than the page's.
func (m *Middleware) serveIdentity(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	dropSharedCaching(h) // whatever an outer middleware set for its caches
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "application/json")
	varyCookie(h)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeJSON(w, r, http.StatusMethodNotAllowed, []byte(`{"error":"method not allowed"}`))
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
// inits, renews, switches and destroys the product for the page's user.
//
//go:embed lifecycle.js
var lifecycleSource string

// lifecycleJS is lifecycleSource without comments and indentation, as it
// goes into every page; its lines stay, so no statement joins another.
var lifecycleJS = compactJS(lifecycleSource)

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

// pushData starts every snippet's inline script: the page's data goes
// onto the runtime's queue, which the runtime acts on (lifecycle.js).
const pushData = "(window.__productfruitsGo=window.__productfruitsGo||[]).push("

// anonymousScript is what an anonymous page carries: no user, no secret,
// the same for every visitor, so the page stays cacheable. In a document
// where the product runs for someone (a Turbo or htmx visit after logout)
// it makes the runtime destroy the product.
const anonymousScript = pushData + "0)"

// buildRenewal precomputes the renewal settings of the page data object:
// where the browser fetches the endpoint when no prefix was stripped (or
// IdentityURL says), and the TTL. Nothing without a TTL.
func (m *Middleware) buildRenewal() {
	if m.ttl <= 0 {
		return
	}
	url := m.identityURL
	if url == "" {
		url = m.identityPath
	}
	m.ttlJSON = strconv.AppendInt([]byte(`,"ttl":`), m.ttl.Milliseconds(), 10)
	m.renewalJSON = append(appendJSONString([]byte(`,"identity":`), url), m.ttlJSON...)
}

// appendRenewal appends the renewal settings of the page data object for
// request r. Without a request (ScriptFor, r nil) the endpoint is at
// IdentityURL, else at IdentityPath as configured.
func (m *Middleware) appendRenewal(dst []byte, r *http.Request) []byte {
	if m.ttl <= 0 {
		return dst
	}
	if m.identityURL == "" && r != nil {
		if prefix := strippedPrefix(r); prefix != "" {
			dst = append(dst, `,"identity":`...)
			dst = appendJSONString(dst, prefix+m.identityPath)
			return append(dst, m.ttlJSON...)
		}
	}
	return append(dst, m.renewalJSON...)
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
	return prefix
}
