package productfruits

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInjectWriteAfterReturn plays a framework that keeps the writer and
// writes after the handler returned (echo.WrapMiddleware does, for a
// handler's error): the write reaches the writer beneath, as it would
// without the middleware, and never the next request, which may own the
// pooled writer by then.
func TestInjectWriteAfterReturn(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	var kept http.ResponseWriter
	first := serveRec(m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kept = w // writes nothing: the framework answers after the handler returned
	}), httptest.NewRequest("GET", "/", nil))
	second := newRecWriter()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<html><head></head><body>")
		kept.Header().Set("X-Late", "1")
		kept.WriteHeader(http.StatusUnauthorized)
		n, err := io.WriteString(kept, "late error page")
		assert.Equal(t, len("late error page"), n)
		assert.NoError(t, err)
		_, err = kept.(io.ReaderFrom).ReadFrom(strings.NewReader("!"))
		assert.NoError(t, err)
		_, _ = io.WriteString(w, "second")
	})).ServeHTTP(second, httptest.NewRequest("GET", "/", nil))
	_, _, body := second.result()
	assert.NotContains(t, body, "late error page")
	assert.True(t, strings.HasSuffix(body, "<body>second"))
	assert.Empty(t, second.header.Get("X-Late"))
	status, header, body := first.result()
	assert.Equal(t, http.StatusUnauthorized, status, "the late answer is the first response's, as without the middleware")
	assert.Equal(t, "1", header.Get("X-Late"))
	assert.Equal(t, "late error page!", body)
}

// TestInjectHijackOffered: Hijack is offered exactly when the writer
// beneath can hijack (http.TimeoutHandler's cannot).
func TestInjectHijackOffered(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	var offered bool
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, offered = w.(http.Hijacker)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	res.Body.Close()
	assert.True(t, offered, "net/http's writer hijacks")

	srv2 := httptest.NewServer(http.TimeoutHandler(h, time.Minute, "timeout"))
	defer srv2.Close()
	res, err = srv2.Client().Get(srv2.URL)
	require.NoError(t, err)
	res.Body.Close()
	assert.False(t, offered, "http.TimeoutHandler's writer does not")
}

// TestLateWritesHammered: goroutines the handlers leave writing, racing
// their return, while other users' requests come and go. Under -race this
// must report nothing; no call may panic, and no response may carry bytes
// written for another request.
func TestLateWritesHammered(t *testing.T) {
	for _, inject := range []bool{true, false} {
		t.Run(fmt.Sprintf("inject=%v", inject), func(t *testing.T) {
			m := newTestMiddleware(t, func(c *Config) { c.Inject = inject })
			var wg sync.WaitGroup
			app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				user, _ := FromContext(r.Context())
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = io.WriteString(w, "<!doctype html><html><head><title>t</title></head><body>page of "+user.Username+"|")
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 200 {
						_, _ = io.WriteString(w, "LATE-"+user.Username)
						w.Header().Set("X-Late", user.Username)
						if f, ok := w.(http.Flusher); ok {
							f.Flush()
						}
					}
				}()
			})
			srv := httptest.NewServer(cookieUser(m.Handler(app)))
			defer srv.Close()
			var clients sync.WaitGroup
			for i := range 8 {
				clients.Add(1)
				go func() {
					defer clients.Done()
					user := []string{"alice", "bob"}[i%2]
					for range 25 {
						req, _ := http.NewRequest("GET", srv.URL+"/", nil)
						req.AddCookie(&http.Cookie{Name: "user", Value: user})
						res, err := srv.Client().Do(req)
						if err != nil {
							continue // a late write may break the connection it wrote to
						}
						body, _ := io.ReadAll(res.Body)
						res.Body.Close()
						other := map[string]string{"alice": "bob", "bob": "alice"}[user]
						assert.NotContains(t, string(body), "LATE-"+other, "a late write reached another user's response")
						assert.NotContains(t, string(body), "page of "+other)
					}
				}()
			}
			clients.Wait()
			wg.Wait()
		})
	}
}

// TestSelfPlacedSnippetStaysPrivate: a page that placed the user's snippet
// with TemplateScript leaves private, whatever caching the handler set
// after the call; an anonymous page and a page without the snippet keep
// theirs.
func TestSelfPlacedSnippetStaysPrivate(t *testing.T) {
	page := func(place bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := ""
			if place {
				s = string(TemplateScript(r))
			}
			w.Header().Set("Cache-Control", "public, max-age=600")
			w.Header()["surrogate-control"] = []string{"max-age=600"}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<!doctype html><html><head>"+s+"</head><body>x</body></html>")
		})
	}
	for _, inject := range []bool{false, true} {
		m := newTestMiddleware(t, func(c *Config) { c.Inject = inject; c.TTL = time.Hour })
		for _, tt := range []struct {
			name    string
			user    string
			place   bool
			private bool
		}{
			{"a user's snippet placed by the page", "alice", true, true},
			{"anonymous", "", true, false},
		} {
			t.Run(fmt.Sprintf("inject=%v/%s", inject, tt.name), func(t *testing.T) {
				got := newRecWriter()
				withUser(tt.user, m.Handler(page(tt.place))).ServeHTTP(got, httptest.NewRequest("GET", "/", nil))
				_, header, body := got.result()
				require.Contains(t, body, "data-productfruits")
				if tt.private {
					assert.Equal(t, "max-age=600, private", header.Get("Cache-Control"))
					assert.Equal(t, "Cookie", header.Get("Vary"))
					assert.Empty(t, header.Values("Surrogate-Control"))
				} else {
					assert.Equal(t, "public, max-age=600", header.Get("Cache-Control"))
				}
			})
		}
	}
	t.Run("no snippet: headers as written", func(t *testing.T) {
		m := newTestMiddleware(t, nil)
		got := newRecWriter()
		withUser("alice", m.Handler(page(false))).ServeHTTP(got, httptest.NewRequest("GET", "/", nil))
		_, header, _ := got.result()
		assert.Equal(t, "public, max-age=600", header.Get("Cache-Control"))
		assert.Equal(t, []string{"max-age=600"}, header["surrogate-control"])
	})
}

func TestInjectUnwrap(t *testing.T) {
	m := newTestMiddleware(t, injectConfig)
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := w.(interface{ Unwrap() http.ResponseWriter })
		assert.True(t, ok)
		rc := http.NewResponseController(w)
		assert.NoError(t, rc.SetWriteDeadline(time.Now().Add(time.Minute)))
		assert.NoError(t, rc.EnableFullDuplex())
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><head></head>")
	})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	b := readBody(t, resp, err)
	assert.Contains(t, b, "data-productfruits")
}
