package productfruits

import (
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
	st, err := m.resolve(r)
	if err == nil && st == nil {
		writeJSON(w, r, http.StatusUnauthorized, []byte(`{"error":"not logged in"}`))
		return
	}
	var body []byte
	if err == nil {
		if body = st.userJSON; body == nil {
			if body, err = appendUserJSON(nil, &st.user); err != nil {
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

// renewalJS keeps the HMAC fresh: it fetches the identity endpoint a fifth
// of the TTL before expiry (timed from the page's own clock, so server and
// browser clocks need not agree), again when a hidden tab comes back late,
// hands the fresh user to productFruits.identifyUser once the product is
// ready, stops on 401 and retries with backoff on network errors until the
// current HMAC would have expired.
const renewalJS = `(function(){var P=%PATH%,T=%TTL%,M=Math.min(T/5,300000),last=Date.now(),t,d=500,stop=false;` +
	`function id(u){var f=window.productFruits;if(window.productFruitsIsReady&&f&&f.identifyUser){f.identifyUser(u)}else{window.addEventListener('productfruits_ready',function(){window.productFruits.identifyUser(u)},{once:true})}}` +
	`function plan(ms){clearTimeout(t);t=setTimeout(go,Math.max(ms,0))}` +
	`function go(){if(stop)return;fetch(P,{credentials:'same-origin',cache:'no-store',headers:{Accept:'application/json'}}).then(function(r){` +
	`if(r.status===401){stop=true;return}if(!r.ok)throw new Error('status '+r.status);return r.json().then(function(u){last=Date.now();d=500;id(u);plan(T-M)})` +
	`}).catch(function(){if(!stop&&Date.now()<last+T){plan(d);d=Math.min(d*2,30000)}})}` +
	`document.addEventListener('visibilitychange',function(){if(!document.hidden&&!stop&&Date.now()>=last+T-M)plan(0)});` +
	`plan(T-M)})();`

// buildRenewal returns the renewal script for this configuration, or nil
// when HMACs do not expire or the endpoint is switched off.
func (m *Middleware) buildRenewal() []byte {
	if m.ttl <= 0 || m.identityPath == "" {
		return nil
	}
	js := strings.Replace(renewalJS, "%PATH%", string(appendJSONString(nil, m.identityPath)), 1)
	js = strings.Replace(js, "%TTL%", strconv.FormatInt(m.ttl.Milliseconds(), 10), 1)
	return []byte(js)
}
