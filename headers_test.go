package productfruits

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInjectableRequest(t *testing.T) {
	const page = "<html><head></head><body></body></html>"
	tests := []struct {
		name   string
		header map[string]string
		want   bool
	}{
		{"plain GET", nil, true},
		{"Range", map[string]string{"Range": "bytes=0-10"}, false},
		{"htmx", map[string]string{"HX-Request": "true"}, false},
		{"htmx boosted navigation", map[string]string{"HX-Request": "true", "HX-Boosted": "true"}, true},
		{"Turbo frame", map[string]string{"Turbo-Frame": "main"}, false},
	}
	m := newTestMiddleware(t, injectConfig)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			assert.Equal(t, tt.want, injectableRequest(r))
			got := serveRec(m, respSpec{header: htmlHeader(), body: page}.handler(), r)
			_, _, body := got.result()
			assert.Equal(t, tt.want, strings.Contains(body, "data-productfruits"))
		})
	}
}

func TestInjectableResponse(t *testing.T) {
	const page = "<!DOCTYPE html><html><head><title>x</title></head><body></body></html>"
	const injected = "<!DOCTYPE html><html><head><title>x</title>@@</head><body></body></html>"
	ct := func(v ...string) map[string][]string { return map[string][]string{"Content-Type": v} }
	with := func(h map[string][]string, k string, v ...string) map[string][]string {
		h[k] = v
		return h
	}
	tests := []struct {
		name   string
		method string
		header map[string][]string
		status int
		want   string
	}{
		{"text/html", "", ct("text/html"), 0, injected},
		{"parameters and case", "", ct("TEXT/HTML ; Charset=UTF-8"), 0, injected},
		{"xhtml", "", ct("application/xhtml+xml; charset=utf-8"), 0, injected},
		{"sniffed", "", nil, 0, injected},
		{"text/plain", "", ct("text/plain"), 0, page},
		{"json", "", ct("application/json"), 0, page},
		{"empty Content-Type stops sniffing", "", ct(), 0, page},
		{"event stream", "", ct("text/event-stream"), 0, page},
		{"gzip", "", with(ct("text/html"), "Content-Encoding", "gzip"), 0, page},
		{"br among identity", "", with(ct("text/html"), "Content-Encoding", "identity, br"), 0, page},
		{"identity encoding", "", with(ct("text/html"), "Content-Encoding", "identity"), 0, injected},
		{"attachment", "", with(ct("text/html"), "Content-Disposition", "Attachment; filename=page.html"), 0, page},
		{"inline disposition", "", with(ct("text/html"), "Content-Disposition", "inline"), 0, injected},
		{"200", "", ct("text/html"), 200, injected},
		{"201", "", ct("text/html"), 201, injected},
		{"299", "", ct("text/html"), 299, injected},
		{"204", "", ct("text/html"), 204, page},
		{"206", "", ct("text/html"), 206, page},
		{"301", "", ct("text/html"), 301, page},
		{"404", "", ct("text/html"), 404, page},
		{"500", "", ct("text/html"), 500, page},
		{"POST", http.MethodPost, ct("text/html"), 0, injected},
		{"with Content-Length", "", with(ct("text/html"), "Content-Length", strconv.Itoa(len(page))), 0, injected},
	}
	m := newTestMiddleware(t, injectConfig)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			checkInjection(t, m, method, respSpec{header: tt.header, status: tt.status, body: page}, tt.want)
		})
	}
}

func TestInjectedHeaders(t *testing.T) {
	const page = "<html><head></head><body></body></html>"
	tests := []struct {
		name string
		in   map[string][]string
		want map[string][]string // nil value: the header must be absent
	}{
		{"defaults", nil, map[string][]string{
			"Cache-Control": {"private"}, "Vary": {"Cookie"}, "Content-Type": {"text/html"},
		}},
		{"validators removed", map[string][]string{
			"Etag": {`"abc"`}, "Last-Modified": {"Mon, 02 Jan 2006 15:04:05 GMT"}, "Accept-Ranges": {"bytes"}, "Content-Md5": {"x"},
		}, map[string][]string{"Etag": nil, "Last-Modified": nil, "Accept-Ranges": nil, "Content-Md5": nil}},
		{"Content-Length grows", map[string][]string{"Content-Length": {strconv.Itoa(len(page))}},
			map[string][]string{"Content-Length": {"@len"}}},
		{"bad Content-Length removed", map[string][]string{"Content-Length": {"lots"}},
			map[string][]string{"Content-Length": nil}},
		{"public becomes private", map[string][]string{"Cache-Control": {"public, max-age=60"}},
			map[string][]string{"Cache-Control": {"max-age=60, private"}}},
		{"s-maxage dropped", map[string][]string{"Cache-Control": {"S-MaxAge=600, max-age=10", "public"}},
			map[string][]string{"Cache-Control": {"max-age=10, private"}}},
		{"no-store stays", map[string][]string{"Cache-Control": {"no-store"}},
			map[string][]string{"Cache-Control": {"no-store, private"}}},
		{"private kept once", map[string][]string{"Cache-Control": {"Private, max-age=5"}},
			map[string][]string{"Cache-Control": {"Private, max-age=5"}}},
		{"qualified private made whole", map[string][]string{"Cache-Control": {`private="Set-Cookie, X", max-age=5`}},
			map[string][]string{"Cache-Control": {"max-age=5, private"}}},
		{"quoted commas kept", map[string][]string{"Cache-Control": {`no-cache="a, b", public`}},
			map[string][]string{"Cache-Control": {`no-cache="a, b", private`}}},
		{"Vary merged", map[string][]string{"Vary": {"Accept-Encoding"}},
			map[string][]string{"Vary": {"Accept-Encoding, Cookie"}}},
		{"Vary merged into last line", map[string][]string{"Vary": {"Accept-Encoding", "Accept-Language"}},
			map[string][]string{"Vary": {"Accept-Encoding", "Accept-Language, Cookie"}}},
		{"Vary cookie not duplicated", map[string][]string{"Vary": {"accept, cookie"}},
			map[string][]string{"Vary": {"accept, cookie"}}},
		{"Vary * kept", map[string][]string{"Vary": {"*"}}, map[string][]string{"Vary": {"*"}}},
		{"other headers kept", map[string][]string{"X-Frame-Options": {"DENY"}, "Set-Cookie": {"a=b"}},
			map[string][]string{"X-Frame-Options": {"DENY"}, "Set-Cookie": {"a=b"}}},
	}
	m := newTestMiddleware(t, injectConfig)
	snip := snippetFor(t, m, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := htmlHeader()
			h["Content-Type"] = []string{"text/html"}
			for k, v := range tt.in {
				h[k] = v
			}
			got := serveRec(m, respSpec{header: h, body: page}.handler(), httptest.NewRequest("GET", "/", nil))
			status, header, body := got.result()
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, strings.Replace(page, "</head>", snip+"</head>", 1), body)
			for k, v := range tt.want {
				if v == nil {
					assert.NotContains(t, header, k)
					continue
				}
				if len(v) == 1 && v[0] == "@len" {
					v = []string{strconv.Itoa(len(body))}
				}
				assert.Equal(t, v, header[k], k)
			}
		})
	}
}

func TestCacheControlHelpers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "private"},
		{"public", "private"},
		{"max-age=0, must-revalidate", "max-age=0, must-revalidate, private"},
		{" , ,public,, ", "private"},
		{`no-cache="x,\"y, z", public`, `no-cache="x,\"y, z", private`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h := http.Header{}
			if tt.in != "" {
				h.Set("Cache-Control", tt.in)
			}
			privateCacheControl(h, nil, -1)
			assert.Equal(t, tt.want, h.Get("Cache-Control"))
		})
	}
}

func TestInjectedHeadersWithTTL(t *testing.T) {
	const page = "<html><head></head><body></body></html>"
	m := newTestMiddleware(t, func(c *Config) {
		injectConfig(c)
		c.TTL, c.IdentityPath = 10*time.Minute, DefaultIdentityPath
	})
	tests := []struct {
		name, cacheControl, want string
	}{
		{"max-age bounded by the TTL", "public, max-age=3600, immutable", "max-age=600, immutable, private"},
		{"shorter max-age kept", "max-age=60", "max-age=60, private"},
		{"stale extensions dropped", "max-age=60, stale-while-revalidate=600, Stale-If-Error=86400", "max-age=60, private"},
		{"no-store kept", "no-store", "no-store, private"},
		{"nothing to bound", "", "private"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := htmlHeader()
			h["Expires"] = []string{"Thu, 01 Dec 2099 16:00:00 GMT"}
			if tt.cacheControl != "" {
				h["Cache-Control"] = []string{tt.cacheControl}
			}
			_, header, body := serveRec(m, respSpec{header: h, body: page}.handler(), httptest.NewRequest("GET", "/", nil)).result()
			require.Contains(t, body, pushData)
			assert.Equal(t, tt.want, header.Get("Cache-Control"))
			assert.NotContains(t, header, "Expires", "Expires could outlive the bound")
		})
	}
}

func TestAnonymousPageHeaders(t *testing.T) {
	const page = "<html><head><title>t</title></head><body></body></html>"
	m := newTestMiddleware(t, func(c *Config) {
		injectConfig(c)
		c.Username = func(*http.Request) (string, error) { return "", nil }
	})
	h := htmlHeader()
	h["Etag"] = []string{`"v1"`}
	h["Last-Modified"] = []string{"Mon, 02 Jan 2006 15:04:05 GMT"}
	h["Cache-Control"] = []string{"public, max-age=600"}
	h["Content-Length"] = []string{strconv.Itoa(len(page))}
	h["Accept-Ranges"] = []string{"bytes"}
	status, header, body := serveRec(m, respSpec{header: h, body: page}.handler(), httptest.NewRequest("GET", "/", nil)).result()
	require.Equal(t, http.StatusOK, status)
	script := `<script data-productfruits="anonymous">` + anonymousScript + `</script>`
	assert.Equal(t, strings.Replace(page, "</head>", script+"</head>", 1), body)
	assert.Equal(t, strconv.Itoa(len(body)), header.Get("Content-Length"))
	assert.Equal(t, "public, max-age=600", header.Get("Cache-Control"), "the same bytes for everyone: still cacheable")
	assert.Empty(t, header.Get("Vary"))
	assert.Equal(t, `W/"v1"`, header.Get("Etag"), "good for revalidation, never for ranges")
	assert.Equal(t, "Mon, 02 Jan 2006 15:04:05 GMT", header.Get("Last-Modified"))
	assert.NotContains(t, header, "Accept-Ranges")

	t.Run("a resolver failure leaves the page as written", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) {
			injectConfig(c)
			c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			c.Username = func(*http.Request) (string, error) { return "", errors.New("store down") }
		})
		_, header, body := serveRec(m, respSpec{header: htmlHeader(), body: page}.handler(), httptest.NewRequest("GET", "/", nil)).result()
		assert.Equal(t, page, body)
		assert.Empty(t, header.Get("Cache-Control"))
	})
}

// TestSharedHeaderSlicesNeverWritten serves many pages whose Vary and
// Cache-Control slices are one shared package-level value, as rs/cors
// does with Vary: the edits must copy, never write into it.
func TestSharedHeaderSlicesNeverWritten(t *testing.T) {
	const page = "<html><head></head><body></body></html>"
	vary := []string{"Origin", ""}[:1]
	cacheControl := []string{"public, max-age=60"}
	m := newTestMiddleware(t, func(c *Config) {
		injectConfig(c)
		c.TTL, c.IdentityPath = time.Second, DefaultIdentityPath
	})
	spec := respSpec{header: map[string][]string{"Content-Type": {"text/html"}, "Vary": vary, "Cache-Control": cacheControl}, body: page}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				_, header, _ := serveRec(m, spec.handler(), httptest.NewRequest("GET", "/", nil)).result()
				assert.Equal(t, "Origin, Cookie", header.Get("Vary"))
				assert.Equal(t, "max-age=1, private", header.Get("Cache-Control"))
			}
		})
	}
	wg.Wait()
	assert.Equal(t, []string{"Origin"}, vary)
	assert.Equal(t, "", vary[:2][1], "nothing appended into the spare capacity")
	assert.Equal(t, []string{"public, max-age=60"}, cacheControl)
}

func TestSharedCacheFieldsDropped(t *testing.T) {
	const page = "<html><head></head><body></body></html>"
	targeted := map[string][]string{
		"Cdn-Cache-Control":            {"max-age=600"},
		"Cloudflare-Cdn-Cache-Control": {"max-age=600"},
		"Vercel-Cdn-Cache-Control":     {"max-age=600"},
		"Netlify-Cdn-Cache-Control":    {"public, max-age=600"},
		"Surrogate-Control":            {"max-age=600"},
		"Edge-Control":                 {"cache-maxage=600s"},
		"X-Accel-Expires":              {"600"},
		"Expires":                      {"Thu, 01 Dec 2099 16:00:00 GMT"},
	}
	withTargeted := func() map[string][]string {
		h := htmlHeader()
		for k, v := range targeted {
			h[k] = v
		}
		return h
	}
	t.Run("a user's page", func(t *testing.T) {
		m := newTestMiddleware(t, injectConfig)
		_, header, body := serveRec(m, respSpec{header: withTargeted(), body: page}.handler(), httptest.NewRequest("GET", "/", nil)).result()
		require.Contains(t, body, pushData)
		for k := range targeted {
			assert.NotContains(t, header, k)
		}
		assert.Equal(t, "private", header.Get("Cache-Control"))
	})
	t.Run("an anonymous page keeps them", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) {
			injectConfig(c)
			c.Username = func(*http.Request) (string, error) { return "", nil }
		})
		_, header, _ := serveRec(m, respSpec{header: withTargeted(), body: page}.handler(), httptest.NewRequest("GET", "/", nil)).result()
		for k, v := range targeted {
			assert.Equal(t, v, header[k], k)
		}
	})
	t.Run("the identity endpoint", func(t *testing.T) {
		m := newTestMiddleware(t, nil)
		outer := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range targeted {
					w.Header()[k] = v
				}
				next.ServeHTTP(w, r)
			})
		}
		rec := httptest.NewRecorder()
		outer(withUser("alice", m.Handler(http.NotFoundHandler()))).ServeHTTP(rec, httptest.NewRequest("GET", DefaultIdentityPath, nil))
		require.Equal(t, http.StatusOK, rec.Code)
		for k := range targeted {
			assert.NotContains(t, rec.Header(), k)
		}
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	})
}

// TestHeaderValuesRoom: the state's room for header values is used once
// per value: a value handed out is never written again, and a slice from
// it cannot grow into the next one.
func TestHeaderValuesRoom(t *testing.T) {
	var hv headerValues
	h := http.Header{}
	privateHeader(h, &hv, 0, placedPage)
	cc, vary := h["Cache-Control"], h["Vary"]
	assert.Equal(t, []string{"private"}, cc)
	assert.Equal(t, []string{"Cookie"}, vary)
	assert.Equal(t, 1, cap(cc), "an append elsewhere copies")

	h2 := http.Header{}
	privateHeader(h2, &hv, time.Minute, placedPage) // the room is taken: new slices
	assert.Equal(t, []string{"private"}, h2["Cache-Control"])
	h2["Cache-Control"][0] = "changed in place"
	assert.Equal(t, "private", cc[0])

	h["Vary"] = append(h["Vary"], "Accept")
	assert.Equal(t, "Cookie", hv[varyValue])
	assert.Equal(t, "private", hv[cacheControlValue])
}

// TestCanonicalHeader: fields under any spelling end under the canonical
// key, merged without writing a shared slice in place.
func TestCanonicalHeader(t *testing.T) {
	shared := make([]string, 1, 4)
	shared[0] = "Origin"
	h := http.Header{
		"cache-control":     {"public, s-maxage=600"},
		"Surrogate-control": {"max-age=600"},
		"x-accel-expires":   {"600"},
		"Vary":              shared,
		"vary":              {"Accept-Encoding"},
		"Content-Type":      {"text/html"},
		"bad key":           {"stays"},
	}
	canonicalHeader(h)
	assert.Equal(t, []string{"public, s-maxage=600"}, h["Cache-Control"])
	assert.Equal(t, []string{"max-age=600"}, h["Surrogate-Control"])
	assert.Equal(t, []string{"600"}, h["X-Accel-Expires"])
	assert.ElementsMatch(t, []string{"Origin", "Accept-Encoding"}, h["Vary"])
	assert.Equal(t, "Origin", shared[:2][0])
	assert.Equal(t, "", shared[:2][1], "the shared slice's spare room untouched")
	assert.Equal(t, []string{"stays"}, h["bad key"])
	for k := range h {
		assert.True(t, k == "bad key" || isCanonicalKey(k), k)
	}
}

// TestPrivateUnderAnySpelling: a logged-in page and the endpoint leave no
// cache field in any case.
func TestPrivateUnderAnySpelling(t *testing.T) {
	m := newTestMiddleware(t, func(c *Config) { c.Inject = true; c.TTL = time.Hour })
	cacheable := func(h http.Header) {
		h["cache-control"] = []string{"public, max-age=600, s-maxage=600"}
		h["surrogate-control"] = []string{"max-age=600"}
		h["x-accel-expires"] = []string{"600"}
		h["cdn-cache-control"] = []string{"max-age=600"}
		h["etag"] = []string{`"v1"`}
		h["expires"] = []string{"Thu, 01 Jan 2099 00:00:00 GMT"}
	}
	check := func(t *testing.T, h http.Header) {
		t.Helper()
		for k, v := range h {
			switch http.CanonicalHeaderKey(k) {
			case "Surrogate-Control", "X-Accel-Expires", "Cdn-Cache-Control", "Etag", "Expires":
				t.Errorf("%s: %v left on a response carrying a hash", k, v)
			case "Cache-Control":
				assert.Equal(t, "Cache-Control", k)
				assert.NotContains(t, strings.Join(v, ","), "public")
				assert.NotContains(t, strings.Join(v, ","), "s-maxage")
			}
		}
	}
	t.Run("page", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cacheable(w.Header())
			htmlPage(w, r)
		})
		got := newRecWriter()
		withUser("alice", m.Handler(h)).ServeHTTP(got, httptest.NewRequest("GET", "/", nil))
		_, header, body := got.result()
		require.Contains(t, body, "data-productfruits")
		check(t, header)
		assert.Equal(t, "max-age=600, private", header.Get("Cache-Control"))
	})
	t.Run("endpoint", func(t *testing.T) {
		outer := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				cacheable(w.Header())
				next.ServeHTTP(w, r)
			})
		}
		got := newRecWriter()
		outer(withUser("alice", m.Handler(http.NotFoundHandler()))).ServeHTTP(got, httptest.NewRequest("GET", DefaultIdentityPath, nil))
		status, header, _ := got.result()
		require.Equal(t, http.StatusOK, status)
		check(t, header)
		assert.Equal(t, "no-store", header.Get("Cache-Control"))
	})
}
