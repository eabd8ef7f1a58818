package productfruits

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pfverify/productfruits/internal/htmlscan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readerFromRec is a recWriter that also has the sendfile-style fast path.
type readerFromRec struct{ *recWriter }

func (rw readerFromRec) ReadFrom(src io.Reader) (int64, error) {
	rw.readFroms++
	return rw.body.ReadFrom(src)
}

func TestInjectUntouchedBodies(t *testing.T) {
	const doc = "<!doctype html>"
	tests := []struct{ name, body string }{
		{"empty", ""},
		{"fragment", "<div>hello</div></head>"},
		{"text first", "hello <html><head></head>"},
		{"body first", "<body></head>"},
		{"end tag first", "</head><html><head></head>"},
		{"<htmlx>", "<htmlx><head></head>"},
		{"<header>", "<header></header></head>"},
		{"xml declaration", "<?xml version=\"1.0\"?><html><head></head>"},
		{"CDATA first", "<![CDATA[x]]><html><head></head>"},
		{"BOM not first", " \xef\xbb\xbf<html><head></head>"},
		{"broken BOM", "\xef\xbb<html><head></head>"},
		{"<!doc only", "<!doc><html><head></head>"},
		{"no insertion point", doc + "<html><head><title>x</title>\n"},
		{"unfinished </head", doc + "<head></head"},
		{"unfinished <body", doc + "<head><body"},
		{"only in comment", doc + "<head><!-- </head> <body>"},
		{"only in script", doc + "<head><script></head><body>"},
		{"only in attribute", doc + "<head><meta content=\"</head><body>"},
		{"plaintext in a template", doc + "<head><template><plaintext></head><body>"},
		{"already has snippet marker", doc + "<head><script data-productfruits>x</script></head>"},
		{"marker upper case", doc + "<head><SCRIPT Data-ProductFruits=\"\"></SCRIPT></head>"},
		{"already has loader src", doc + "<head><script async src=\"https://app.productfruits.com/static/script.js\"></script></head>"},
		{"loader src with spaces", doc + "<head><script src=' https://app.productfruits.com/static/script.js '></script></head>"},
		{"loader src unquoted", doc + "<head><script src=https://app.productfruits.com/static/script.js></script></head>"},
		{"loader global in script", doc + "<head><script>window.$productFruits = window.$productFruits || [];</script></head>"},
		{"loader global split by $", doc + "<head><script>$$productFruits</script></head>"},
		{"loader global in escaped script", doc + "<head><script><!-- $productFruits --></script></head>"},
	}
	m := newTestMiddleware(t, injectConfig)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkInjection(t, m, http.MethodGet, respSpec{header: htmlHeader(), body: tt.body}, tt.body)
		})
	}
}

func TestInjectScriptURLEscaped(t *testing.T) {
	const url = "https://cdn.example.com/pf.js?a=1&b=2"
	m := newTestMiddleware(t, func(c *Config) {
		injectConfig(c)
		c.ScriptURL = url
	})
	for _, src := range []string{url, "https://cdn.example.com/pf.js?a=1&amp;b=2"} {
		t.Run(src, func(t *testing.T) {
			body := "<html><head><script src=\"" + src + "\"></script></head>"
			checkInjection(t, m, http.MethodGet, respSpec{header: htmlHeader(), body: body}, body)
		})
	}
	t.Run("default URL is not ours", func(t *testing.T) {
		body := "<html><head><script src=\"" + DefaultScriptURL + "\"></script></head>"
		checkInjection(t, m, http.MethodGet, respSpec{header: htmlHeader(), body: body},
			strings.Replace(body, "</head>", "@@</head>", 1))
	})
}

func TestInjectSniffedBOMIsText(t *testing.T) {
	// net/http sniffs a BOM as text/plain, so the browser would not run it.
	m := newTestMiddleware(t, injectConfig)
	page := "\xef\xbb\xbf<html><head></head>"
	checkInjection(t, m, http.MethodGet, respSpec{body: page}, page)
	got := serveRec(m, respSpec{body: "<html><head></head>"}.handler(), httptest.NewRequest("GET", "/", nil))
	_, h, _ := got.result()
	assert.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"), "the sniffed type is made explicit")
}

func TestInjectNonceFromCSP(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	h := map[string][]string{
		"Content-Type":            {"text/html"},
		"Content-Security-Policy": {"default-src 'self'; script-src 'nonce-abc123' 'strict-dynamic'"},
	}
	snip := snippetFor(t, m, h)
	require.Contains(t, snip, `nonce="abc123"`)
	checkInjection(t, m, http.MethodGet, respSpec{header: h, body: "<html><head></head>"}, "<html><head>@@</head>")
}

func TestInjectStatusHandling(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	page := "<html><head></head>"
	t.Run("second WriteHeader ignored", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, page)
			w.WriteHeader(http.StatusBadGateway)
		})
		got := serveRec(m, h, httptest.NewRequest("GET", "/", nil))
		status, _, body := got.result()
		assert.Equal(t, http.StatusCreated, status)
		assert.Zero(t, got.calls, "no superfluous WriteHeader reaches the underlying writer")
		assert.Contains(t, body, "data-productfruits")
	})
	t.Run("no log spam from a real server", func(t *testing.T) {
		var logs logBuffer
		srv := httptest.NewUnstartedServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "plain")
			w.WriteHeader(http.StatusOK)
		})))
		srv.Config.ErrorLog = log.New(&logs, "", 0)
		srv.Start()
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		assert.Empty(t, logs.String())
	})
	t.Run("Write before WriteHeader means 200", func(t *testing.T) {
		got := serveRec(m, respSpec{header: htmlHeader(), body: page}.handler(), httptest.NewRequest("GET", "/", nil))
		status, _, body := got.result()
		assert.Equal(t, http.StatusOK, status)
		assert.Contains(t, body, "data-productfruits")
	})
	t.Run("nothing written", func(t *testing.T) {
		got := serveRec(m, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), httptest.NewRequest("GET", "/", nil))
		assert.Zero(t, got.status, "net/http answers as it would without the middleware")
	})
	t.Run("interim responses pass through", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, page)
		})
		got := serveRec(m, h, httptest.NewRequest("GET", "/", nil))
		status, _, body := got.result()
		assert.Equal(t, []int{http.StatusEarlyHints}, got.interim)
		assert.Equal(t, http.StatusOK, status)
		assert.Contains(t, body, "data-productfruits")
	})
	t.Run("invalid code panics in the handler as without the middleware", func(t *testing.T) {
		srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			assert.Panics(t, func() { w.WriteHeader(42) })
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, page)
		})))
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL)
		b := readBody(t, resp, err)
		assert.Contains(t, b, "data-productfruits")
	})
}

func TestInjectInterimOverHTTP(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><head></head><body>hi</body></html>")
	})))
	defer srv.Close()
	var interim []int
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
			interim = append(interim, code)
			return nil
		},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	b := readBody(t, resp, err)
	assert.Equal(t, []int{http.StatusEarlyHints}, interim)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "<html><head>"+snippetFor(t, m, nil)+"</head><body>hi</body></html>", b)
}

func TestInjectHEAD(t *testing.T) {
	const page = "<html><head></head><body></body></html>"
	m := newTestMiddleware(t, injectConfig)
	t.Run("HTML page loses its un-injected length", func(t *testing.T) {
		h := map[string][]string{"Content-Type": {"text/html"}, "Content-Length": {strconv.Itoa(len(page))}, "Etag": {`"x"`}}
		got := serveRec(m, respSpec{header: h}.handler(), httptest.NewRequest(http.MethodHead, "/", nil))
		status, header, body := got.result()
		assert.Equal(t, http.StatusOK, status)
		assert.Empty(t, body)
		assert.NotContains(t, header, "Content-Length")
		assert.NotContains(t, header, "Etag")
		assert.Equal(t, "private", header.Get("Cache-Control"))
		assert.Equal(t, "Cookie", header.Get("Vary"))
	})
	t.Run("body written anyway stays untouched", func(t *testing.T) {
		got := serveRec(m, respSpec{header: htmlHeader(), body: page}.handler(), httptest.NewRequest(http.MethodHead, "/", nil))
		_, header, body := got.result()
		assert.Equal(t, page, body)
		assert.Equal(t, "private", header.Get("Cache-Control"))
	})
	t.Run("sniffed HTML", func(t *testing.T) {
		got := serveRec(m, respSpec{body: page}.handler(), httptest.NewRequest(http.MethodHead, "/", nil))
		_, header, body := got.result()
		assert.Equal(t, page, body)
		assert.Equal(t, "private", header.Get("Cache-Control"))
	})
	t.Run("non-HTML untouched", func(t *testing.T) {
		h := map[string][]string{"Content-Type": {"text/plain"}, "Content-Length": {"10"}}
		checkInjection(t, m, http.MethodHead, respSpec{header: h}, "")
	})
	t.Run("no body, no type: untouched", func(t *testing.T) {
		checkInjection(t, m, http.MethodHead, respSpec{status: 200}, "")
	})
	t.Run("over HTTP", func(t *testing.T) {
		srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, "index.html", time.Unix(1e9, 0), strings.NewReader(page))
		})))
		defer srv.Close()
		resp, err := srv.Client().Head(srv.URL)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, int64(-1), resp.ContentLength)
		assert.Empty(t, resp.Header.Get("Last-Modified"))
	})
}

func TestInjectTemplateScriptClaimed(t *testing.T) {
	// A page whose handler already took the snippet through TemplateScript
	// (here without placing it) must not get a second one.
	m := newTestMiddleware(t, injectConfig)
	const page = "<html><head></head><body></body></html>"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NotEmpty(t, TemplateScript(r))
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, page)
	})
	got := serveRec(m, h, httptest.NewRequest("GET", "/", nil))
	_, header, body := got.result()
	assert.Equal(t, page, body)
	assert.Equal(t, "text/html", header.Get("Content-Type"))
	// The handler took the snippet, so the page is treated as carrying it.
	assert.Equal(t, "private", header.Get("Cache-Control"), "TemplateScript marks its page private")

	t.Run("injected snippet claims TemplateScript", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, page)
			assert.Empty(t, TemplateScript(r))
		})
		got := serveRec(m, h, httptest.NewRequest("GET", "/", nil))
		_, _, body := got.result()
		assert.Equal(t, 1, strings.Count(body, snippetFor(t, m, nil)))
	})
}

// TestWriterModes walks the writer through the transitions its modes
// document, one event at a time.
func TestWriterModes(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	type event func(*injectWriter)
	status := func(code int) event { return func(w *injectWriter) { w.writeHeader(code) } }
	write := func(s string) event { return func(w *injectWriter) { _, _ = w.write([]byte(s)) } }
	flush := func(w *injectWriter) { _ = w.flush() }
	finish := func(w *injectWriter) { w.finish() }
	const html, bare = "text/html; charset=utf-8", "text/html"
	for _, tt := range []struct {
		name   string
		head   bool
		ct     string // none when empty
		events []event
		want   []writerMode // after each event
	}{
		{"a page", false, html, []event{status(200), write("<html><head>"), write("</head>")},
			[]writerMode{modeScan, modeScan, modePass}},
		{"the first write sets the status", false, html, []event{write("<html><head>"), write("</head>")},
			[]writerMode{modeScan, modePass}},
		{"interim status", false, html, []event{status(103), status(200)},
			[]writerMode{modeStatus, modeScan}},
		{"not injectable", false, html, []event{status(404), write("<html><head></head>")},
			[]writerMode{modePass, modePass}},
		{"not HTML", false, "text/plain", []event{status(200)}, []writerMode{modePass}},
		{"no insertion point", false, html, []event{status(200), write("<html><head><title>"), finish},
			[]writerMode{modeScan, modeScan, modePass}},
		{"untyped, sniffed as HTML", false, "", []event{status(200), write("<html><head></head>")},
			[]writerMode{modeSniff, modePass}},
		{"untyped, flushed", false, "", []event{status(200), write("<html><head><title>"), flush, write("</title></head>")},
			[]writerMode{modeSniff, modeSniff, modeFlushed, modePass}},
		{"no charset: waits for the prescan window", false, bare,
			[]event{status(200), write("<html><head></head>"), write("<body>"), write(strings.Repeat("x", prescanLen))},
			[]writerMode{modeScan, modeWait, modeWait, modePass}},
		{"waiting, flushed", false, bare, []event{status(200), write("<html><head></head>"), flush},
			[]writerMode{modeScan, modeWait, modePass}},
		{"waiting, ended", false, bare, []event{status(200), write("<html><head></head>"), finish},
			[]writerMode{modeScan, modeWait, modePass}},
		{"flushed, then waiting", false, bare,
			[]event{status(200), write("<html><head><title>"), flush, write("</title></head>"), finish},
			[]writerMode{modeScan, modeScan, modeFlushed, modeFlushedWait, modePass}},
		{"HEAD of a page", true, html, []event{status(200)}, []writerMode{modePass}},
		{"HEAD, untyped", true, "", []event{status(200), write("<html>"), finish},
			[]writerMode{modeSniffHead, modeSniffHead, modePass}},
		{"HEAD, untyped, flushed", true, "", []event{status(200), write("<html>"), flush},
			[]writerMode{modeSniffHead, modeSniffHead, modePass}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodGet
			if tt.head {
				method = http.MethodHead
			}
			var got []writerMode
			serveRec(m, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				if tt.ct != "" {
					rw.Header().Set("Content-Type", tt.ct)
				}
				w := handleOf(rw).w
				for _, e := range tt.events {
					e(w)
					got = append(got, w.mode)
				}
			}), httptest.NewRequest(method, "/", nil))
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestInjectLookAhead(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	head := func(n int) string {
		return "<html><head><script>" + strings.Repeat("x", n) + "</script>"
	}
	t.Run("within", func(t *testing.T) {
		body := head(lookAhead-100) + "</head><body>"
		got := serveRec(m, respSpec{header: htmlHeader(), body: body, cuts: []int{100, 5000, 70000}}.handler(), httptest.NewRequest("GET", "/", nil))
		_, _, out := got.result()
		assert.Equal(t, len(body)+len(snippetFor(t, m, nil)), len(out))
	})
	t.Run("beyond: at the last point known to be in the head", func(t *testing.T) {
		body := head(lookAhead) + "</head><body>"
		h := map[string][]string{"Content-Type": {"text/html"}, "Content-Length": {strconv.Itoa(len(body))}}
		var maxHeld int
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range h {
				w.Header()[k] = v
			}
			for i := 0; i < len(body); i += 1000 {
				_, _ = io.WriteString(w, body[i:min(i+1000, len(body))])
				if h := handleOf(w); h != nil {
					maxHeld = max(maxHeld, h.w.held.Len())
				}
			}
		})
		got := serveRec(m, handler, httptest.NewRequest("GET", "/", nil))
		_, header, out := got.result()
		snip := snippetFor(t, m, nil)
		at := len("<html><head>")
		assert.Equal(t, body[:at]+snip+body[at:], out)
		assert.Equal(t, strconv.Itoa(len(body)+len(snip)), header.Get("Content-Length"))
		assert.Equal(t, "private", header.Get("Cache-Control"))
		assert.LessOrEqual(t, maxHeld, lookAhead)
	})
	t.Run("one huge write", func(t *testing.T) {
		body := head(lookAhead) + "</head><body>"
		checkNoCopy := respSpec{header: htmlHeader(), body: body}
		got := serveRec(m, checkNoCopy.handler(), httptest.NewRequest("GET", "/", nil))
		_, _, out := got.result()
		at := len("<html><head>")
		assert.Equal(t, body[:at]+snippetFor(t, m, nil)+body[at:], out)
	})
	t.Run("beyond, with no point known to be in the head: untouched, one WARN", func(t *testing.T) {
		var logs logBuffer
		m := newTestMiddleware(t, func(c *Config) {
			injectConfig(c)
			c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
		body := "<!doctype html><!--" + strings.Repeat("x", lookAhead) + "--><html><head></head><body>"
		for range 3 {
			got := serveRec(m, respSpec{header: htmlHeader(), body: body, cuts: []int{1000, 9000}}.handler(), httptest.NewRequest("GET", "/", nil))
			_, _, out := got.result()
			assert.Equal(t, body, out)
		}
		assert.Contains(t, logs.String(), "look-ahead")
		assert.Equal(t, 1, strings.Count(logs.String(), "\n"), "one line per Middleware, not per page: %s", logs.String())
	})
}

func TestInjectStreaming(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	snip := snippetFor(t, m, nil)
	t.Run("writes after the insertion point are not copied", func(t *testing.T) {
		chunks := [][]byte{[]byte("<html><head><title>x</ti"), []byte("tle></head><body>"), []byte("<p>one</p>"), []byte("<p>two</p>")}
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// With a charset the prescan window does not matter: the
			// decision is made at </head>.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			for _, c := range chunks {
				_, _ = w.Write(c)
			}
		})
		got := serveRec(m, handler, httptest.NewRequest("GET", "/", nil))
		_, _, body := got.result()
		assert.Equal(t, "<html><head><title>x</title>"+snip+"</head><body><p>one</p><p>two</p>", body)
		last := got.writes[len(got.writes)-2:]
		assert.Same(t, &chunks[2][0], &last[0][0])
		assert.Same(t, &chunks[3][0], &last[1][0])
	})
	t.Run("a small write with the insertion point goes on as one write", func(t *testing.T) {
		// Servers buffer in 2-4 KiB: one write keeps the writes after it
		// aligned with the buffer. A large one is not copied.
		for _, size := range []int{4 << 10, maxCoalesce, maxCoalesce + 1, 64 << 10} {
			page := []byte("<html><head><title>x</title></head><body>" + strings.Repeat("x", size-41))
			require.Len(t, page, size)
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = w.Write(page)
				_, _ = w.Write(page[len(page)-10:])
			})
			got := serveRec(m, handler, httptest.NewRequest("GET", "/", nil))
			_, header, body := got.result()
			want := strings.Replace(string(page), "</head>", snip+"</head>", 1) + string(page[len(page)-10:])
			assert.Equal(t, want, body)
			assert.Equal(t, "private", header.Get("Cache-Control"))
			if size <= maxCoalesce {
				require.Len(t, got.writes, 2, "size %d", size)
			} else {
				require.Len(t, got.writes, 4, "size %d", size)
				assert.Same(t, &page[len(page)-1], &got.writes[2][len(got.writes[2])-1], "the page's own bytes, not a copy")
			}
		}
	})
	t.Run("Content-Length grows by the snippet", func(t *testing.T) {
		page := "<html><head></head><body>x"
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Length", strconv.Itoa(len(page)))
			_, _ = io.WriteString(w, page)
		})
		got := serveRec(m, handler, httptest.NewRequest("GET", "/", nil))
		_, header, body := got.result()
		assert.Equal(t, strconv.Itoa(len(page)+len(snip)), header.Get("Content-Length"))
		assert.Len(t, body, len(page)+len(snip))
	})
	t.Run("memory stays small on a large page", func(t *testing.T) {
		var maxHeld int
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html><head><title>big</title></head><body>")
			chunk := bytes.Repeat([]byte("<p>lorem ipsum</p>\n"), 200)
			for range 300 {
				_, _ = w.Write(chunk)
				maxHeld = max(maxHeld, handleOf(w).w.held.Len())
			}
		})
		got := serveRec(m, handler, httptest.NewRequest("GET", "/", nil))
		assert.Contains(t, got.body.String(), snip+"</head>")
		assert.Zero(t, maxHeld, "nothing held after the decision")
	})
}

func TestInjectFlush(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	snip := snippetFor(t, m, nil)
	for _, via := range []string{"Flusher", "ResponseController"} {
		flush := func(w http.ResponseWriter) {
			if via == "Flusher" {
				w.(http.Flusher).Flush()
				return
			}
			require.NoError(t, http.NewResponseController(w).Flush())
		}
		t.Run(via+" before the decision", func(t *testing.T) {
			var rw *recWriter
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Header().Set("Content-Length", "1000")
				w.Header().Set("Cache-Control", "public")
				_, _ = io.WriteString(w, "<!doctype html><html><head><title>x</title></he")
				flush(w)
				assert.Equal(t, 1, rw.flushes)
				assert.Equal(t, http.StatusOK, rw.status)
				assert.NotContains(t, rw.sent, "Content-Length", "length unknown once headers go out early")
				assert.Equal(t, "private", rw.sent.Get("Cache-Control"))
				assert.Equal(t, "<!doctype html><html><head><title>x</title>", rw.body.String(), "the unfinished tag is held back")
				_, _ = io.WriteString(w, "ad><body>")
				flush(w)
				assert.Equal(t, "<!doctype html><html><head><title>x</title>"+snip+"</head><body>", rw.body.String())
				assert.Equal(t, 2, rw.flushes)
			})
			rw = newRecWriter()
			m.Handler(handler).ServeHTTP(rw, httptest.NewRequest("GET", "/", nil))
		})
		t.Run(via+" mid-tag, then no insertion point", func(t *testing.T) {
			var rw *recWriter
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, "<html><head><title")
				flush(w)
				assert.Equal(t, "<html><head>", rw.body.String())
				_, _ = io.WriteString(w, ">x</title>\n")
			})
			rw = newRecWriter()
			m.Handler(handler).ServeHTTP(rw, httptest.NewRequest("GET", "/", nil))
			assert.Equal(t, "<html><head><title>x</title>\n", rw.body.String())
		})
		t.Run(via+" in a script, then the insertion point", func(t *testing.T) {
			var rw *recWriter
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, "<html><head><script>a</scr")
				flush(w)
				_, _ = io.WriteString(w, "ipt><!--x-")
				flush(w)
				_, _ = io.WriteString(w, "-></he")
				flush(w)
				_, _ = io.WriteString(w, "ad>")
			})
			rw = newRecWriter()
			m.Handler(handler).ServeHTTP(rw, httptest.NewRequest("GET", "/", nil))
			assert.Equal(t, "<html><head><script>a</script><!--x-->"+snip+"</head>", rw.body.String())
		})
		t.Run(via+" with nothing written and no type", func(t *testing.T) {
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				flush(w)
				_, _ = io.WriteString(w, "<html><head></head>")
			})
			bare := serveRec(nil, handler, httptest.NewRequest("GET", "/", nil))
			got := serveRec(m, handler, httptest.NewRequest("GET", "/", nil))
			assert.Equal(t, bare.body.String(), got.body.String())
			assert.Equal(t, bare.sent, got.sent)
		})
		t.Run(via+" after the decision", func(t *testing.T) {
			var rw *recWriter
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				_, _ = io.WriteString(w, "a")
				flush(w)
				assert.Equal(t, "a", rw.body.String())
				assert.Equal(t, 1, rw.flushes)
			})
			rw = newRecWriter()
			m.Handler(handler).ServeHTTP(rw, httptest.NewRequest("GET", "/", nil))
		})
	}
}

func TestInjectEventStream(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	next := make(chan struct{})
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			_, _ = fmt.Fprintf(w, "data: %d\n\n", i)
			require.NoError(t, http.NewResponseController(w).Flush())
			<-next
		}
	})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("data: %d\n", i), line)
		_, _ = br.ReadString('\n')
		next <- struct{}{}
	}
}

func TestInjectReaderFrom(t *testing.T) {
	const page = "<!doctype html><html><head><title>files</title></head><body>" +
		"<p>served from a file</p></body></html>"
	m := newTestMiddleware(t, injectConfig)
	snip := snippetFor(t, m, nil)
	want := strings.Replace(page, "</head>", snip+"</head>", 1)
	mod := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("FileServer", func(t *testing.T) {
		fsys := fstest.MapFS{"index.html": {Data: []byte(page), ModTime: mod}, "page.html": {Data: []byte(page), ModTime: mod}}
		srv := httptest.NewServer(m.Handler(http.FileServerFS(fsys)))
		defer srv.Close()
		for _, path := range []string{"/", "/page.html"} {
			resp, err := srv.Client().Get(srv.URL + path)
			b := readBody(t, resp, err)
			assert.Equal(t, want, b, path)
			assert.Equal(t, int64(len(want)), resp.ContentLength, path)
			assert.Empty(t, resp.Header.Get("Last-Modified"), path)
			assert.Empty(t, resp.Header.Get("Accept-Ranges"), path)
		}
	})
	t.Run("ServeContent", func(t *testing.T) {
		srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Etag", `"v1"`)
			http.ServeContent(w, r, "page.html", mod, strings.NewReader(page))
		})))
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL)
		b := readBody(t, resp, err)
		assert.Equal(t, want, b)
		assert.Equal(t, int64(len(want)), resp.ContentLength)
		assert.Empty(t, resp.Header.Get("Etag"))
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))

		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Range", "bytes=0-4")
		resp, err = srv.Client().Do(req)
		b = readBody(t, resp, err)
		assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
		assert.Equal(t, page[:5], b, "a range of the original page")
	})
	t.Run("fast path after the insertion point", func(t *testing.T) {
		rw := readerFromRec{newRecWriter()}
		big := page + strings.Repeat("<p>more</p>", 10000)
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.Copy(w, onlyReader{strings.NewReader(big)})
		}))
		h.ServeHTTP(rw, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, strings.Replace(big, "</head>", snip+"</head>", 1), rw.body.String())
		assert.Equal(t, 1, rw.readFroms, "the rest went through the underlying ReadFrom")
	})
	t.Run("fast path when passing through", func(t *testing.T) {
		big := strings.Repeat("0123456789", 1000)
		for _, status := range []int{0, http.StatusOK} {
			rw := readerFromRec{newRecWriter()}
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/octet-stream")
				if status != 0 {
					w.WriteHeader(status)
				}
				_, _ = io.Copy(w, onlyReader{strings.NewReader(big)})
			}))
			h.ServeHTTP(rw, httptest.NewRequest("GET", "/", nil))
			assert.Equal(t, big, rw.body.String())
			assert.Equal(t, 1, rw.readFroms)
			if status != 0 {
				assert.Empty(t, rw.writes, "decided before the copy: all of it took the fast path")
			} else {
				require.Len(t, rw.writes, 1)
				assert.LessOrEqual(t, len(rw.writes[0]), sniffLen, "at most a sniff's worth copied")
			}
		}
	})
}

// onlyReader hides strings.Reader's WriteTo, which io.Copy would prefer
// over the writer's ReadFrom.
type onlyReader struct{ io.Reader }

func TestInjectHijack(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
		_ = brw.Flush()
		line, err := brw.ReadString('\n')
		if assert.NoError(t, err) {
			_, _ = brw.WriteString("echo " + line)
			_ = brw.Flush()
		}
		_, err = w.Write([]byte("late"))
		assert.ErrorIs(t, err, http.ErrHijacked)
	})))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, "websocket", resp.Header.Get("Upgrade"))
	_, err = io.WriteString(conn, "hello\n")
	require.NoError(t, err)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "echo hello\n", line)
}

func TestInjectTrailers(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	for _, page := range []string{"<html><head><p>no insertion point", "<html><head></head><body>"} {
		t.Run(page, func(t *testing.T) {
			srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Trailer", "Server-Timing")
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, page)
				w.Header().Set("Server-Timing", "db;dur=53")
			})))
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			readBody(t, resp, err)
			assert.Empty(t, resp.Header.Get("Server-Timing"), "a trailer set after WriteHeader is no header")
			assert.Equal(t, "db;dur=53", resp.Trailer.Get("Server-Timing"))
		})
	}
}

func TestInjectPanicKeepsWriterOutOfPool(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	for _, val := range []any{http.ErrAbortHandler, "boom"} {
		t.Run(fmt.Sprint(val), func(t *testing.T) {
			var dirty *injectWriter
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				dirty = handleOf(w).w
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, "<html><head><title>half")
				panic(val)
			}))
			rw := newRecWriter()
			assert.PanicsWithValue(t, val, func() { h.ServeHTTP(rw, httptest.NewRequest("GET", "/", nil)) })
			require.NotNil(t, dirty)
			assert.Zero(t, rw.status, "nothing of the aborted page is sent")
			for range 100 {
				w := writerPool.Get().(*injectWriter)
				require.NotSame(t, dirty, w, "a writer abandoned by a panic must not be reused")
			}
		})
	}
}

func TestInjectPoolReuseIsClean(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	snip := snippetFor(t, m, nil)
	pages := []string{
		"<html><head><script>unfinished",
		"<html><head></head><body>a</body>",
		"<!-- c <html><head>",
		"<html><head><title>b</title></head>",
	}
	for round := range 50 {
		p := pages[round%len(pages)]
		got := serveRec(m, respSpec{header: htmlHeader(), body: p}.handler(), httptest.NewRequest("GET", "/", nil))
		_, _, body := got.result()
		if strings.Contains(p, "</head>") {
			require.Equal(t, strings.Replace(p, "</head>", snip+"</head>", 1), body)
		} else {
			require.Equal(t, p, body)
		}
	}
}

func TestInjectConcurrent(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	snip := snippetFor(t, m, nil)
	srv := httptest.NewServer(m.Handler(respSpec{header: htmlHeader(), body: "<html><head></head><body>x</body></html>", cuts: []int{3, 9, 15}}.handler()))
	defer srv.Close()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				resp, err := srv.Client().Get(srv.URL)
				if !assert.NoError(t, err) {
					return
				}
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				assert.Equal(t, "<html><head>"+snip+"</head><body>x</body></html>", string(b))
			}
		})
	}
	wg.Wait()
}

// fuzzFlags are the bits of FuzzInject's flags argument.
const (
	fuzzTyped = 1 << iota // the handler sets Content-Type: text/html
	fuzzFlush             // a zero in cuts is a Flush instead of a Write
)

// FuzzInject checks, for any body and any split into writes (and
// flushes), that the page comes out as it went in with the snippet
// inserted once right before a "</head" or "<body", or not at all, and
// that without flushes the split changes nothing.
func FuzzInject(f *testing.F) {
	// The interesting seeds live in testdata/fuzz/FuzzInject.
	f.Add([]byte("<!doctype html><html><head><title>x</title></head><body></body></html>"), []byte{1, 1, 1, 1}, byte(fuzzTyped))
	f.Add([]byte("<p>fragment</p>"), []byte{3}, byte(0))
	m := newTestMiddleware(f, injectConfig)
	snips := map[bool][]byte{}
	for _, typed := range []bool{false, true} {
		h := http.Header{}
		if typed {
			h.Set("Content-Type", "text/html")
		}
		snips[typed] = []byte(snippetFor(f, m, h))
	}

	run := func(body, cuts []byte, flags byte) *recWriter {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if flags&fuzzTyped != 0 {
				w.Header().Set("Content-Type", "text/html")
			}
			rest := body
			for _, c := range cuts {
				if c == 0 && flags&fuzzFlush != 0 {
					w.(http.Flusher).Flush()
					continue
				}
				n := min(int(c), len(rest))
				_, _ = w.Write(rest[:n])
				rest = rest[n:]
			}
			_, _ = w.Write(rest)
		})
		return serveRec(m, h, httptest.NewRequest(http.MethodGet, "/", nil))
	}

	f.Fuzz(func(t *testing.T, body, cuts []byte, flags byte) {
		checkLinearScan(t, body)
		snip := snips[flags&fuzzTyped != 0]
		got := run(body, cuts, flags)
		_, _, out := got.result()
		if !insertedOnce([]byte(out), body, snip) {
			t.Fatalf("body %q came out as %q", body, out)
		}
		if flags&fuzzFlush != 0 {
			return
		}
		whole := run(body, nil, flags)
		_, wantHeader, wantOut := whole.result()
		_, gotHeader, _ := got.result()
		if out != wantOut {
			t.Fatalf("split %v changed the output of %q:\n got %q\nwant %q", cuts, body, out, wantOut)
		}
		if len(out) == len(body) {
			bare := serveRec(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if flags&fuzzTyped != 0 {
					w.Header().Set("Content-Type", "text/html")
				}
				_, _ = w.Write(body)
			}), httptest.NewRequest(http.MethodGet, "/", nil))
			_, bareHeader, _ := bare.result()
			wantHeader = bareHeader
		}
		if !maps.EqualFunc(gotHeader, wantHeader, slices.Equal) {
			t.Fatalf("headers %v, want %v", gotHeader, wantHeader)
		}
	})
}

// checkLinearScan is FuzzInject's time-per-byte check: the scanner's
// time per byte on body repeated to 32 KiB may be at most 2.5x its time
// per byte on body repeated to 8 KiB. A linear scan costs the same per
// byte at both sizes; a scan that restarts at some byte (the quadratic
// '$' search that was) costs 4x as much per byte at four times the size.
// Each time is the best of three runs, the two sizes alternating, and the
// check is taken again before it fails, so a busy machine cannot fail it:
// only a scan that is slower per byte every time does. Scans under 50 µs
// at 32 KiB pass: no quadratic path is that fast at that size.
func checkLinearScan(t *testing.T, body []byte) {
	if len(body) == 0 {
		return
	}
	const small, large, limit = 8 << 10, 32 << 10, 2.5
	long := bytes.Repeat(body, large/len(body)+1)[:large]
	short := long[:small]
	var sc htmlscan.Scanner
	scan := func(b []byte) time.Duration {
		start := time.Now()
		sc.Reset(DefaultScriptURL, DefaultScriptURL)
		sc.Scan(b)
		return time.Since(start)
	}
	var ratio float64
	for range 5 {
		bestLong, bestShort := time.Duration(1<<62), time.Duration(1<<62)
		for range 3 {
			bestLong = min(bestLong, scan(long))
			bestShort = min(bestShort, scan(short))
		}
		if bestLong < 50*time.Microsecond {
			return
		}
		ratio = float64(bestLong) / large / (float64(max(bestShort, time.Nanosecond)) / small)
		if ratio <= limit {
			return
		}
	}
	t.Fatalf("scanning %q repeated takes %.1fx the time per byte at %d bytes as at %d (limit %.1fx)", body[:min(len(body), 64)], ratio, large, small, limit)
}

// insertedOnce reports whether out is in, or in with snip inserted once
// exactly where the scanner, reading in whole, puts the insertion point.
func insertedOnce(out, in, snip []byte) bool {
	if bytes.Equal(out, in) {
		return true
	}
	var sc htmlscan.Scanner
	sc.Reset(DefaultScriptURL, DefaultScriptURL)
	if sc.Scan(in) != htmlscan.Insert {
		return false
	}
	k := sc.InsertAt()
	return bytes.Equal(out, slices.Concat(in[:k], snip, in[k:]))
}

// benchPage is a typical page: a head of about 700 bytes, then n bytes of
// body.
func benchPage(n int) []byte {
	head := `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dashboard - Example App</title>
<link rel="stylesheet" href="/static/css/app.3f2a9c.css">
<link rel="icon" href="/favicon.ico">
<script>window.APP_CONFIG = {"env":"production","release":"2026.11.24","features":["a","b","c"]};</script>
<script defer src="/static/js/vendor.81bc02.js"></script>
<script defer src="/static/js/app.c0ffee.js"></script>
<style>body{margin:0;font-family:system-ui,sans-serif}.hidden{display:none}</style>
</head>
<body>
`
	var b bytes.Buffer
	b.WriteString(head)
	row := "<div class=\"row\"><span class=\"cell\">Lorem ipsum dolor sit amet</span><a href=\"/item/42\">open</a></div>\n"
	for b.Len() < n-len("</body></html>") {
		b.WriteString(row)
	}
	b.Truncate(n - len("</body></html>"))
	b.WriteString("</body></html>")
	return b.Bytes()
}

// pageHandler writes page in 4 KiB chunks, as template engines and
// io.Copy do.
func pageHandler(page []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		for p := page; len(p) > 0; {
			n := min(len(p), 4096)
			_, _ = w.Write(p[:n])
			p = p[n:]
		}
	})
}

// discardWriter stands for the connection: it costs nothing, so the
// numbers are the handler's and the middleware's alone.
type discardWriter struct {
	h http.Header
	n int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// bufferReplaceInjector is the obvious injector the middleware is
// measured against: buffer the whole response, bytes.Replace the first
// </head>, write it all out.
func bufferReplaceInjector(m *Middleware, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		rec.HeaderMap = w.Header()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if st := stateFrom(r.Context()); st != nil && isHTMLType(w.Header().Get("Content-Type")) {
			snip, err := m.appendSnippet(nil, r, st, w.Header(), nil)
			if err != nil {
				panic(err)
			}
			body = bytes.Replace(body, []byte("</head>"), append(snip, "</head>"...), 1)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// BenchmarkInject puts the injecting middleware side by side with the
// bare handler and with one naive HMAC (goal: the middleware adds at most
// 1.75x a naive HMAC over bare on a 64 KiB page, in at most 4
// allocations), and with the buffer-and-replace injector (goal: at most
// 0.5x its time on 1 MiB). Allocations must not grow with the page size.
// 64KiB/scan+sign is the floor under the first goal.
func BenchmarkInject(b *testing.B) {
	b.Run("naive-hmac", func(b *testing.B) {
		b.ReportAllocs()
		key := []byte(vectorSecret)
		for b.Loop() {
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte("jane.doe@example.com"))
			sinkString = base64.StdEncoding.EncodeToString(mac.Sum(nil))
		}
	})
	injectors := newBenchInjectors(b)
	for _, size := range []int{64 << 10, 1 << 20} {
		injectors.run(b, strconv.Itoa(size>>10)+"KiB/", benchPage(size))
	}
	b.Run("64KiB/scan+sign", func(b *testing.B) {
		// A floor under the middleware's added time, not a way of serving
		// the page: only the two things injection cannot do without,
		// signing the user and finding the insertion point (the page in
		// the handler's 4 KiB writes, up to the piece holding it). No
		// request, context, header, writer or snippet.
		m, page := injectors.inject, benchPage(64<<10)
		b.ReportAllocs()
		var st requestState
		var sc htmlscan.Scanner
		for b.Loop() {
			st.user.Username = "jane.doe@example.com"
			if err := m.sign(&st); err != nil {
				b.Fatal(err)
			}
			sc.Reset(m.scriptURL, m.scriptAttr)
			r := htmlscan.More
			for p := page; r == htmlscan.More && len(p) > 0; p = p[min(len(p), 4096):] {
				r = sc.Scan(p[:min(len(p), 4096)])
			}
			if r != htmlscan.Insert {
				b.Fatal("no insertion point")
			}
		}
	})
}

// benchInjectors are the three ways of serving a page that the injection
// benchmarks compare: the bare handler, the middleware, and
// buffer-and-replace behind the middleware in context mode.
type benchInjectors struct{ inject, ctxOnly *Middleware }

func newBenchInjectors(b *testing.B) benchInjectors {
	user := func(*http.Request) (string, error) { return "jane.doe@example.com", nil }
	return benchInjectors{
		inject: newTestMiddleware(b, func(c *Config) {
			benchConfig(c)
			c.Username = user
			c.Inject = true
		}),
		ctxOnly: newTestMiddleware(b, func(c *Config) {
			benchConfig(c)
			c.Username = user
		}),
	}
}

// run benchmarks page served the three ways, as prefix+"bare",
// prefix+"middleware" and prefix+"buffer-replace".
func (bi benchInjectors) run(b *testing.B, prefix string, page []byte) {
	for _, hc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", pageHandler(page)},
		{"middleware", bi.inject.Handler(pageHandler(page))},
		{"buffer-replace", bi.ctxOnly.Handler(bufferReplaceInjector(bi.ctxOnly, pageHandler(page)))},
	} {
		b.Run(prefix+hc.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			w := &discardWriter{h: http.Header{}}
			hc.h.ServeHTTP(w, r)
			if hc.name != "bare" && w.n == len(page) {
				b.Fatalf("%s did not inject", hc.name)
			}
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				hc.h.ServeHTTP(w, r)
			}
		})
	}
}

// bigHeadPage is a page whose head carries kib KiB of inline data and
// code, as server-rendered Nuxt and Next pages do: half the state as JSON
// in a script element (with '<' written \u003c, as Next.js escapes it),
// half jQuery-style code with two '$' in every line of 88 bytes; then a
// 64 KiB body.
func bigHeadPage(kib int) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Shop</title>\n")
	b.WriteString(`<script id="__NEXT_DATA__" type="application/json">{"props":{"items":[`)
	for b.Len() < kib<<10/2 {
		b.WriteString(`{"id":4711,"name":"Lorem ipsum \u003cb>dolor\u003c/b> sit","price":19.99,"tags":["a","b"]},`)
	}
	b.WriteString("{}]}}</script>\n<script>\n")
	for b.Len() < kib<<10-len("</script>\n</head>\n") {
		b.WriteString("$(function(){var el=$('#cart');if(el.length>0&&!el.data('ready')){el.on('click',go);}});\n")
	}
	b.WriteString("</script>\n</head>\n")
	b.Write(benchPage(64 << 10)[len("<!DOCTYPE html>"):])
	return b.Bytes()
}

// BenchmarkInjectHead measures how injection's added time and memory grow
// with the size of the page's head, written as templates write, 4 KiB at a
// time, side by side with the bare handler and the buffer-and-replace
// injector. Goal: with a 200 KiB head the middleware adds at most 0.1x what
// buffer-and-replace adds, with at most 4 KiB allocated per request; the
// added time grows linearly with the head, with no step at any size.
func BenchmarkInjectHead(b *testing.B) {
	injectors := newBenchInjectors(b)
	for _, kib := range []int{1, 16, 60, 68, 128, 200} {
		injectors.run(b, strconv.Itoa(kib)+"KiB/", bigHeadPage(kib))
	}
}

func TestSkipInject(t *testing.T) {
	const page = "<!doctype html><html><head><title>t</title></head><body>export</body></html>"
	header := func() map[string][]string {
		return map[string][]string{"Content-Type": {"text/html"}, "Content-Length": {strconv.Itoa(len(page))},
			"Etag": {`"v1"`}, "Cache-Control": {"public, max-age=60"}}
	}
	tests := []struct {
		name   string
		user   string
		method string
		write  func(w http.ResponseWriter) // after SkipInject
	}{
		{"user page", injUser, "GET", func(w http.ResponseWriter) { _, _ = io.WriteString(w, page) }},
		{"anonymous page keeps out the anonymous script too", "", "GET", func(w http.ResponseWriter) { _, _ = io.WriteString(w, page) }},
		{"HEAD", injUser, "HEAD", func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }},
		{"Flush before the body", injUser, "GET", func(w http.ResponseWriter) {
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, page)
		}},
		{"io.Copy", injUser, "GET", func(w http.ResponseWriter) { _, _ = io.Copy(w, strings.NewReader(page)) }},
		{"bytewise", injUser, "GET", func(w http.ResponseWriter) {
			for i := range len(page) {
				_, _ = io.WriteString(w, page[i:i+1])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMiddleware(t, func(c *Config) {
				injectConfig(c)
				c.Username = func(*http.Request) (string, error) { return tt.user, nil }
			})
			handler := func(skip bool) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if skip {
						SkipInject(r)
						u, ok := FromContext(r.Context())
						assert.Equal(t, tt.user != "", ok, "the context user stays")
						assert.Equal(t, tt.user, u.Username)
						assert.Empty(t, TemplateScript(r))
					}
					maps.Copy(w.Header(), header())
					tt.write(w)
				})
			}
			bare := serveRec(nil, handler(false), httptest.NewRequest(tt.method, "/", nil))
			got := serveRec(m, handler(true), httptest.NewRequest(tt.method, "/", nil))
			bStatus, bHeader, bBody := bare.result()
			status, gotHeader, body := got.result()
			assert.Equal(t, bStatus, status)
			assert.Equal(t, bHeader, gotHeader, "headers as the handler wrote them")
			assert.Equal(t, bBody, body, "no snippet")

			// Without SkipInject the same handler's page is injected.
			injected := serveRec(m, handler(false), httptest.NewRequest(tt.method, "/", nil))
			_, h, b := injected.result()
			if tt.method == "GET" {
				assert.Contains(t, b, pushData)
			}
			assert.NotEqual(t, bHeader, h)
		})
	}

	t.Run("after TemplateScript it takes nothing back", func(t *testing.T) {
		m := newTestMiddleware(t, injectConfig)
		var s string
		serveRec(m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s = string(TemplateScript(r))
			SkipInject(r)
		}), httptest.NewRequest("GET", "/", nil))
		assert.Contains(t, s, pushData)
	})

	t.Run("a request the middleware did not see: nothing, no panic", func(t *testing.T) {
		SkipInject(httptest.NewRequest("GET", "/", nil))
	})
}

// TestInjectCompression: an encoding already set when the request reached
// the middleware belongs to an outer layer, which compresses what the
// middleware writes (gorilla/handlers and gin-contrib/gzip set it before
// calling on): the page is injected. An encoding set inside is a page
// compressed before the middleware saw it: untouched, one WARN per
// Middleware naming the fix.
func TestInjectCompression(t *testing.T) {
	page := "<!doctype html><html><head><title>t</title></head><body>x</body></html>"
	t.Run("set outside: injected", func(t *testing.T) {
		m := newTestMiddleware(t, injectConfig)
		outer := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
				next.ServeHTTP(w, r) // a real compressor would wrap w
			})
		}
		got := serveRec(nil, outer(m.Handler(respSpec{header: htmlHeader(), body: page}.handler())), httptest.NewRequest("GET", "/", nil))
		_, header, body := got.result()
		assert.Contains(t, body, snippetFor(t, m, nil))
		assert.Equal(t, "gzip", header.Get("Content-Encoding"))
	})
	t.Run("set inside: untouched, one WARN", func(t *testing.T) {
		var logs logBuffer
		m := newTestMiddleware(t, func(c *Config) {
			injectConfig(c)
			c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
		compressed := "\x1f\x8b not really gzip, but no page either"
		for range 3 {
			h := map[string][]string{"Content-Type": {"text/html"}, "Content-Encoding": {"gzip"}}
			got := serveRec(m, respSpec{header: h, body: compressed}.handler(), httptest.NewRequest("GET", "/", nil))
			_, _, body := got.result()
			assert.Equal(t, compressed, body)
		}
		require.Equal(t, 1, strings.Count(logs.String(), "\n"), logs.String())
		assert.Contains(t, logs.String(), "compress")
		assert.Contains(t, logs.String(), "inside your compression middleware")
	})
	t.Run("set inside on JSON: untouched, nothing said", func(t *testing.T) {
		var logs logBuffer
		m := newTestMiddleware(t, func(c *Config) {
			injectConfig(c)
			c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
		h := map[string][]string{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}
		serveRec(m, respSpec{header: h, body: "{}"}.handler(), httptest.NewRequest("GET", "/", nil))
		assert.Empty(t, logs.String())
	})
}
