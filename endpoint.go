package productfruits

import (
	_ "embed"
	"net/http"
	"strconv"
	"strings"
)

// IdentityHandler returns the identity endpoint as a handler of its own,
// to mount by hand where Handler does not see Config.IdentityPath: routers
// that run middleware on matched routes only (gorilla/mux, echo groups).
// A resolver or profile error gets 503 so that the runtime retries, an
// anonymous request 401 so that it stops, a user that cannot be signed or
// encoded 500. A path ending in the runtime's file name (see RuntimePath)
// gets the runtime, so one handler mounted at both paths serves a page.
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

// serveIdentity answers the identity endpoint: the current user's object
// with a fresh HMAC, for pages that renew an expiring HMAC without a
// reload. Whom it signs for comes only from Config.Username, never from
// the query, body or headers. Content-Language names the language the
// request's page would get (Config.LanguageFunc), which the runtime uses
// when the answer is another user than the page's.
func (m *Middleware) serveIdentity(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	canonicalHeader(h) // an outer middleware's fields under any spelling
	privateHeader(h, nil, 0, identityAnswer)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "application/json")
	// No other origin may embed or read it, whatever a CORS layer outside
	// reflects.
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
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
