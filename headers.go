package productfruits

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Which requests and responses may carry the snippet, and how an injected
// response's headers change: these rules are shared by injection,
// TemplateScript and the identity endpoint.

// canonicalHeader moves every field of h stored under a key that is not
// in canonical form (a handler writing h["cache-control"] straight into
// the map) to its canonical key, so that the middleware finds, edits and
// removes each field under any spelling, as caches match field names in
// any case (RFC 9110 §5.1). Values are copied into a new slice, never
// appended in place. Keys net/http would not canonicalize stay as they are.
func canonicalHeader(h http.Header) {
	for k, v := range h {
		if isCanonicalKey(k) {
			continue
		}
		ck := http.CanonicalHeaderKey(k)
		if ck == k {
			continue
		}
		delete(h, k)
		if old := h[ck]; len(old) > 0 {
			h[ck] = slices.Concat(old, v)
		} else {
			h[ck] = v
		}
	}
}

// isCanonicalKey reports a key already in canonical form: each letter
// upper case at the start and after '-', lower case elsewhere. It is the
// common case, told without a call.
func isCanonicalKey(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

// injectableRequest reports whether the response to r may carry the
// snippet at all. Range responses are byte ranges of the original page;
// htmx requests (HX-Request) and Turbo Frame requests expect fragments
// they splice into a page that already runs the snippet, except htmx's
// boosted navigations (HX-Boosted), which load whole pages. HEAD is
// injectable so that its headers match those of the GET it describes.
func injectableRequest(r *http.Request) bool {
	// net/http stores request fields under canonical keys.
	h := r.Header
	if len(h["Hx-Request"]) > 0 && len(h["Hx-Boosted"]) == 0 {
		return false
	}
	return len(h["Range"]) == 0 && len(h["Turbo-Frame"]) == 0
}

func injectableStatus(code int) bool {
	return code >= 200 && code < 300 && code != http.StatusNoContent && code != http.StatusPartialContent
}

// uncompressed reports whether the body is the page itself (no
// Content-Encoding but "identity"): spliced
// into a compressed body, the snippet would corrupt it.
func uncompressed(h http.Header) bool {
	for _, v := range h["Content-Encoding"] {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" && !strings.EqualFold(tok, "identity") {
				return false
			}
		}
	}
	return true
}

// isAttachment reports a download: the bytes are a file for the user's
// disk, not a page that runs scripts.
func isAttachment(h http.Header) bool {
	v := ""
	if vs := h["Content-Disposition"]; len(vs) > 0 {
		v = vs[0]
	}
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.EqualFold(strings.TrimSpace(v), "attachment")
}

// isXHTMLType reports a page browsers parse as XML.
func isXHTMLType(v string) bool {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.EqualFold(strings.TrimSpace(v), "application/xhtml+xml")
}

func isHTMLType(v string) bool {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimSpace(v)
	return strings.EqualFold(v, "text/html") || strings.EqualFold(v, "application/xhtml+xml")
}

// injectedHeaders edits h for a page that carries one user's snippet, or
// for an anonymous page (anonymous) that carries the anonymous script.
// sniffed, when set, is the Content-Type net/http would have sniffed; grow
// is the snippet's length, or -1 when the final length is not known yet;
// ttl is the HMAC's lifetime, 0 when it does not expire.
// Values it sets go into hv's room (see headerValues).
func injectedHeaders(h http.Header, hv *headerValues, sniffed string, grow int, anonymous bool, ttl time.Duration) {
	if sniffed != "" {
		// Say what net/http would have sniffed: the snippet may land
		// inside the first 512 bytes it would otherwise look at.
		h["Content-Type"] = []string{sniffed}
	}
	if anonymous {
		anonymousValidators(h)
	} else {
		privateHeader(h, hv, ttl, injectedPage)
	}
	if cls := h["Content-Length"]; len(cls) > 0 {
		n, err := strconv.ParseInt(strings.TrimSpace(cls[0]), 10, 64)
		if grow >= 0 && err == nil && n >= 0 {
			h["Content-Length"] = []string{strconv.FormatInt(n+int64(grow), 10)}
		} else {
			delete(h, "Content-Length")
		}
	}
}

// describesBody reports the fields that describe the handler's body (its
// digests, its byte ranges), not the injected one.
func describesBody(k string) bool {
	switch k {
	case "Accept-Ranges", "Content-Md5", "Digest", "Content-Digest", "Repr-Digest":
		return true
	}
	return false
}

// anonymousValidators edits the validators of an anonymous page with the
// anonymous script in it. That script is the same for every visitor, so
// the page keeps a weak ETag (good for revalidation, never for ranges)
// and its Last-Modified.
func anonymousValidators(h http.Header) {
	for k, v := range h {
		switch {
		case describesBody(k):
			delete(h, k)
		case k != "Etag":
		case len(v) == 1 && strings.HasPrefix(v[0], `"`):
			h[k] = []string{"W/" + v[0]}
		case len(v) != 1 || !strings.HasPrefix(v[0], "W/"):
			delete(h, k)
		}
	}
}

// headerValues is room for the Cache-Control and Vary values the
// middleware sets on a response, kept in the request's state so that
// setting them costs no allocation of its own. Each value is a slice of
// one element with no room to grow: an append elsewhere copies it, and a
// write in place changes this response's value alone. A nil
// *headerValues allocates each value instead.
type headerValues [2]string

const (
	cacheControlValue = iota
	varyValue
)

// one returns the one-element value slice of v, in room i unless that
// is taken already (by a value that may still be in use: it is never
// written twice).
func (hv *headerValues) one(i int, v string) []string {
	if hv == nil || hv[i] != "" || v == "" {
		return []string{v}
	}
	hv[i] = v
	return hv[i : i+1 : i+1]
}

// sharedCacheField reports the response fields that tell one kind of shared
// cache how long to keep a response, over Cache-Control: RFC 9213's
// targeted field and the vendors' own. On a response carrying one user's
// identity they go, so that every cache falls back to Cache-Control's
// private (or no-store); Expires goes too, for caches that know nothing
// newer. k is a canonical key.
func sharedCacheField(k string) bool {
	switch k {
	case "Cdn-Cache-Control", // RFC 9213
		"Cloudflare-Cdn-Cache-Control",
		"Vercel-Cdn-Cache-Control",
		"Netlify-Cdn-Cache-Control",
		"Surrogate-Control", // Fastly, Varnish, Akamai
		"Edge-Control",      // Akamai
		"X-Accel-Expires",   // nginx's proxy cache
		"Expires":
		return true
	}
	return false
}

// privacy is what a response carrying one user's identity is, for
// privateHeader.
type privacy uint8

const (
	// placedPage is a page with the snippet placed by TemplateScript or
	// Script: Cache-Control private, max-age bounded by the TTL.
	placedPage privacy = iota
	// injectedPage is a placedPage whose body the middleware changed:
	// its validators and digests go too.
	injectedPage
	// identityAnswer is the identity endpoint's answer, a fresh signature
	// each time: no-store and no validators.
	identityAnswer
)

// privateHeader is every edit that keeps a response carrying one user's
// signed identity from being stored by a shared cache or shown to another
// user: the shared caches' own fields (sharedCacheField) go, Cache-Control
// becomes private (no-store for the endpoint), Vary names Cookie. With a
// TTL the browser's own cache may not show a page after its HMAC expired:
// max-age is bounded by the TTL and stale-* are dropped. Values it sets go
// into hv's room.
func privateHeader(h http.Header, hv *headerValues, ttl time.Duration, p privacy) {
	for k := range h {
		switch {
		case sharedCacheField(k):
		case p != placedPage && (k == "Etag" || k == "Last-Modified"):
		case p == injectedPage && describesBody(k):
		default:
			continue
		}
		delete(h, k)
	}
	if p == identityAnswer {
		h["Cache-Control"] = []string{"no-store"}
	} else {
		privateCacheControl(h, hv, maxAgeOf(ttl))
	}
	varyCookie(h, hv)
}

// keepPrivate applies privateHeader to h, the response's header just
// before it goes, when the response carries a user's snippet it did not
// get from injection (carries): placed by TemplateScript or Script, which
// marked it when called, after which the handler may have set its own
// caching.
func (st *requestState) keepPrivate(h http.Header, carries bool) {
	if !carries {
		return
	}
	canonicalHeader(h)
	privateHeader(h, &st.values, st.m.ttl, placedPage)
}

// maxAgeOf is the max-age that bounds a page's HMAC of lifetime ttl in
// the browser's cache; -1, no bound, without a TTL.
func maxAgeOf(ttl time.Duration) int64 {
	if ttl <= 0 {
		return -1
	}
	return int64(ttl / time.Second)
}

// privateCacheControl keeps shared caches from storing a page that carries
// one user's signed identity: "private" is added, "public" and "s-maxage"
// (which only shared caches obey) are dropped, everything else stays.
// maxAge, unless negative, bounds max-age and drops stale-while-revalidate
// and stale-if-error.
func privateCacheControl(h http.Header, hv *headerValues, maxAge int64) {
	vals := h["Cache-Control"]
	if hv != nil && len(vals) == 1 && &vals[0] == &hv[cacheControlValue] {
		return // the value it set, private already
	}
	if len(vals) == 0 {
		h["Cache-Control"] = hv.one(cacheControlValue, "private")
		return
	}
	var out []byte
	private := false
	for _, v := range vals {
		for v != "" {
			var d string
			d, v = nextDirective(v)
			d = strings.TrimSpace(d)
			name, _, qualified := strings.Cut(d, "=")
			name = strings.TrimSpace(name)
			switch {
			case d == "", strings.EqualFold(name, "public"), strings.EqualFold(name, "s-maxage"):
				continue
			case strings.EqualFold(name, "private"):
				if qualified {
					// private="field" still lets shared caches store the
					// page; the bare directive added below covers it.
					continue
				}
				private = true
			case maxAge < 0:
			case strings.EqualFold(name, "stale-while-revalidate"), strings.EqualFold(name, "stale-if-error"):
				continue
			case strings.EqualFold(name, "max-age"):
				_, v, _ := strings.Cut(d, "=")
				if n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(v), `"`), 10, 64); err == nil && n >= 0 && n <= maxAge {
					break
				}
				d = "max-age=" + strconv.FormatInt(maxAge, 10)
			}
			if len(out) > 0 {
				out = append(out, ", "...)
			}
			out = append(out, d...)
		}
	}
	if !private {
		if len(out) > 0 {
			out = append(out, ", "...)
		}
		out = append(out, "private"...)
	}
	h["Cache-Control"] = hv.one(cacheControlValue, string(out))
}

// nextDirective splits off the first comma-separated Cache-Control
// directive, keeping commas inside quoted strings such as no-cache="a, b".
func nextDirective(v string) (string, string) {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return v[:i], v[i+1:]
		}
	}
	return v, ""
}

// varyCookie makes caches key the page on the cookie that identifies its
// user, merged into the existing Vary so no field appears twice.
func varyCookie(h http.Header, hv *headerValues) {
	vals := h["Vary"]
	for _, v := range vals {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.TrimSpace(tok); tok == "*" || strings.EqualFold(tok, "Cookie") {
				return
			}
		}
	}
	// Never written in place: the slice may be shared with the handler or
	// other middleware (rs/cors puts one package-level slice in every
	// response).
	n := len(vals)
	switch {
	case n == 0:
		h["Vary"] = hv.one(varyValue, "Cookie")
	case strings.TrimSpace(vals[n-1]) != "":
		h["Vary"] = append(vals[:n-1:n-1], vals[n-1]+", Cookie")
	default:
		h["Vary"] = append(vals[:n-1:n-1], "Cookie")
	}
}
