package productfruits

import (
	"log/slog"
	"net/http"
	"strconv"
)

// IdentityHandler returns the identity endpoint as a handler of its own,
// for routers that run middleware on matched routes only (gorilla/mux,
// echo groups) or apps that mount it elsewhere. Handler already serves it
// at Config.IdentityPath; this is for mounting it by hand. A username
// resolver error is answered with 503 so that the renewal script retries,
// an anonymous request with 401 so that it stops.
func (m *Middleware) IdentityHandler() http.Handler {
	return http.HandlerFunc(m.serveIdentity)
}

// serveIdentity answers the identity endpoint: the current user's object
// with a fresh HMAC, for pages that renew an expiring HMAC without a
// reload. Whom it signs for comes only from Config.Username, never from
// the query, body or headers.
func (m *Middleware) serveIdentity(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "application/json")
	varyCookie(h)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeJSON(w, r, http.StatusMethodNotAllowed, []byte(`{"error":"method not allowed"}`))
		return
	}
	name, err := m.username(r)
	if err != nil {
		m.logger.LogAttrs(r.Context(), slog.LevelWarn, "productfruits: username resolver failed at the identity endpoint",
			slog.String("error", err.Error()))
		// 503, not 401: the renewal script retries a passing store
		// failure but gives up on a logged-out user.
		writeJSON(w, r, http.StatusServiceUnavailable, []byte(`{"error":"identity temporarily unavailable"}`))
		return
	}
	if name == "" {
		writeJSON(w, r, http.StatusUnauthorized, []byte(`{"error":"not logged in"}`))
		return
	}
	st := m.signUser(r, name)
	if st == nil {
		writeJSON(w, r, http.StatusInternalServerError, []byte(`{"error":"cannot sign the user"}`))
		return
	}
	body := st.userJSON
	if body == nil {
		if body, err = appendUserJSON(nil, &st.user); err != nil {
			m.logger.LogAttrs(r.Context(), slog.LevelWarn, "productfruits: cannot encode the user object at the identity endpoint",
				slog.String("error", err.Error()))
			writeJSON(w, r, http.StatusInternalServerError, []byte(`{"error":"cannot encode the user"}`))
			return
		}
	}
	writeJSON(w, r, http.StatusOK, body)
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
