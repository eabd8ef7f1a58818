package productfruits

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

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
			snip, err := m.appendSnippet(nil, r, st, w.Header())
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

var sinkInjString string

const benchSecret = "SecretkeyFromWorkspaceSettings"

// BenchmarkInject puts the injecting middleware side by side with the
// bare handler and with one naive HMAC (goal: the middleware adds at most
// 3x a naive HMAC over bare on a 64 KiB page), and with the
// buffer-and-replace injector (goal: at most 0.5x its time on 1 MiB).
// Allocations must not grow with the page size.
func BenchmarkInject(b *testing.B) {
	user := func(*http.Request) (string, error) { return "jane.doe@example.com", nil }
	inject, err := New(Config{WorkspaceCode: "ws", Secret: benchSecret, Username: user, Inject: true})
	if err != nil {
		b.Fatal(err)
	}
	ctxOnly, err := New(Config{WorkspaceCode: "ws", Secret: benchSecret, Username: user})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("naive-hmac", func(b *testing.B) {
		b.ReportAllocs()
		key := []byte(benchSecret)
		for b.Loop() {
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte("jane.doe@example.com"))
			sinkInjString = base64.StdEncoding.EncodeToString(mac.Sum(nil))
		}
	})
	for _, size := range []int{64 << 10, 1 << 20} {
		page := benchPage(size)
		handlers := []struct {
			name string
			h    http.Handler
		}{
			{"bare", pageHandler(page)},
			{"middleware", inject.Handler(pageHandler(page))},
			{"buffer-replace", ctxOnly.Handler(bufferReplaceInjector(ctxOnly, pageHandler(page)))},
		}
		for _, hc := range handlers {
			b.Run(strconv.Itoa(size>>10)+"KiB/"+hc.name, func(b *testing.B) {
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
}
