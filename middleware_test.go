package productfruits

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandlerContext(t *testing.T) {
	m := newTestMiddleware(t, func(c *Config) { c.TTL = time.Hour })
	var got User
	var ok bool
	app := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok = FromContext(r.Context())
		_, _ = io.WriteString(w, "<!doctype html><p>hi</p>")
	}))

	t.Run("signed user with fresh expiration", func(t *testing.T) {
		rec := httptest.NewRecorder()
		withUser("Žluťoučký kůň", app).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		require.True(t, ok)
		assert.Equal(t, "Žluťoučký kůň", got.Username)
		require.NotNil(t, got.HMAC)
		assert.Equal(t, "2026-11-24T15:00:00.000Z", got.HMAC.Expiration)
		assert.NoError(t, m.Signer().Verify(got.Username, *got.HMAC, fixedNow))
		assert.Equal(t, "<!doctype html><p>hi</p>", rec.Body.String(), "context mode never touches the page")
	})

	t.Run("anonymous passes through", func(t *testing.T) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		withUser("", app).ServeHTTP(rec, req)
		assert.False(t, ok)
		assert.Equal(t, "<!doctype html><p>hi</p>", rec.Body.String())
	})

	t.Run("FromContext without middleware", func(t *testing.T) {
		u, ok := FromContext(context.Background())
		assert.False(t, ok)
		assert.Zero(t, u)
	})

	t.Run("FromContext returns a copy of the hmac", func(t *testing.T) {
		app := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, _ := FromContext(r.Context())
			u.HMAC.Hash = "tampered"
			u2, _ := FromContext(r.Context())
			assert.NotEqual(t, "tampered", u2.HMAC.Hash)
		}))
		withUser("a", app).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	})
}

func TestHandlerFailuresPassThrough(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Config)
		user    string
		wantLog string
	}{
		{"resolver error", func(c *Config) {
			c.Username = func(*http.Request) (string, error) { return "", errors.New("store down") }
		}, "", "store down"},
		{"profile error", func(c *Config) {
			c.Profile = func(*http.Request, string) (User, error) { return User{}, errors.New("db timeout") }
		}, "alice", "db timeout"},
		{"invalid UTF-8 username", nil, "bad\xffname", "not valid UTF-8"},
		{"resolver honours the request context", func(c *Config) {
			c.Username = func(r *http.Request) (string, error) {
				ctx, cancel := context.WithTimeout(r.Context(), time.Millisecond)
				defer cancel()
				<-ctx.Done()
				return "", ctx.Err()
			}
		}, "", "deadline exceeded"},
		{"unencodable props", func(c *Config) {
			c.Inject = true
			c.Profile = func(*http.Request, string) (User, error) {
				return User{Props: map[string]any{"f": func() {}}}, nil
			}
		}, "alice", "cannot encode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			m := newTestMiddleware(t, func(c *Config) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
				if tt.mod != nil {
					tt.mod(c)
				}
			})
			const page = "<!doctype html><html><head><title>x</title></head><body>page</body></html>"
			var sawUser bool
			app := withUser(tt.user, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, sawUser = FromContext(r.Context())
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, page)
			})))
			rec := httptest.NewRecorder()
			require.NotPanics(t, func() { app.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil)) })
			assert.False(t, sawUser)
			assert.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, page, rec.Body.String())
			out := logs.String()
			assert.Equal(t, 1, strings.Count(out, "\n"), "exactly one log line: %s", out)
			assert.Contains(t, out, tt.wantLog)
			assert.NotContains(t, out, testSecret)
		})
	}
}

func TestProfileFillsUser(t *testing.T) {
	m := newTestMiddleware(t, func(c *Config) {
		c.Profile = func(r *http.Request, name string) (User, error) {
			return User{Username: "ignored", Email: name + "@example.com", Role: "admin",
				Props: map[string]any{"plan": "pro"}, Group: &Group{GroupID: "g1"}, HMAC: &HMAC{Hash: "ignored"}}, nil
		}
	})
	var got User
	app := withUser("bob", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = FromContext(r.Context())
	})))
	app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, "bob", got.Username)
	assert.Equal(t, "bob@example.com", got.Email)
	assert.Equal(t, "g1", got.Group.GroupID)
	assert.NoError(t, m.Signer().Verify("bob", *got.HMAC, fixedNow))
}

func TestConcurrentUsersNoCrossTalk(t *testing.T) {
	m := newTestMiddleware(t, func(c *Config) { c.TTL = time.Minute })
	app := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := FromContext(r.Context())
		if !ok {
			http.Error(w, "no user", 500)
			return
		}
		w.Header().Set("X-User", u.Username)
		w.Header().Set("X-Hash", u.HMAC.Hash)
		w.Header().Set("X-Exp", u.HMAC.Expiration)
	}))
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				name := string(rune('A'+g)) + "-" + string(rune('a'+i%26))
				rec := httptest.NewRecorder()
				withUser(name, app).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				h := HMAC{Hash: rec.Header().Get("X-Hash"), Expiration: rec.Header().Get("X-Exp")}
				assert.Equal(t, name, rec.Header().Get("X-User"))
				assert.NoError(t, m.Signer().Verify(name, h, fixedNow))
			}
		}()
	}
	wg.Wait()
}

func TestNestedMiddlewareResolvesOnce(t *testing.T) {
	calls := 0
	m := newTestMiddleware(t, func(c *Config) {
		c.Username = func(*http.Request) (string, error) { calls++; return "alice", nil }
	})
	var got User
	app := m.Handler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = FromContext(r.Context())
	})))
	app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, 1, calls)
	assert.Equal(t, "alice", got.Username)
}

func TestSkip(t *testing.T) {
	const page = "<!doctype html><html><head><title>x</title></head><body>admin</body></html>"
	tests := []struct {
		name   string
		target string
		user   string
		skip   bool
	}{
		{"skipped user page", "/admin/users", "alice", true},
		{"skipped anonymous page", "/admin/login", "", true},
		{"other user page", "/reports", "alice", false},
		{"other anonymous page", "/", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resolved := 0
			m := newTestMiddleware(t, func(c *Config) {
				c.Inject = true
				c.Skip = func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/admin/") }
				c.Username = func(r *http.Request) (string, error) {
					resolved++
					return ContextUsername(userKey{})(r)
				}
			})
			var inContext bool
			var script, component string
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, inContext = FromContext(r.Context())
				SetProps(r, map[string]any{"x": 1}) // nothing to set props on: no panic
				SkipInject(r)                       // likewise
				w.Header().Set("Content-Type", "text/html")
				w.Header().Set("ETag", `"v1"`)
				_, _ = io.WriteString(w, page)
			})
			app := withUser(tt.user, m.Handler(h))
			rec := httptest.NewRecorder()
			app.ServeHTTP(rec, httptest.NewRequest("GET", tt.target, nil))
			if !tt.skip {
				assert.Equal(t, 1, resolved)
				assert.Equal(t, tt.user != "", inContext)
				return
			}
			assert.Zero(t, resolved, "a skipped request resolves nobody")
			assert.False(t, inContext)
			assert.Equal(t, page, rec.Body.String(), "nothing injected")
			assert.Equal(t, `"v1"`, rec.Header().Get("ETag"))
			assert.Empty(t, rec.Header().Get("Vary"))

			tmpl := withUser(tt.user, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				script = string(TemplateScript(r))
				var b strings.Builder
				require.NoError(t, Script.Render(r.Context(), &b))
				component = b.String()
			})))
			tmpl.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", tt.target, nil))
			assert.Empty(t, script)
			assert.Empty(t, component)
		})
	}

	t.Run("the identity endpoint is never skipped", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) {
			c.TTL = time.Minute
			c.Skip = func(*http.Request) bool { return true }
		})
		rec := httptest.NewRecorder()
		withUser("alice", m.Handler(http.NotFoundHandler())).ServeHTTP(rec, httptest.NewRequest("GET", DefaultIdentityPath, nil))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Contains(t, rec.Body.String(), `"username":"alice"`)
	})
}

func TestLanguageFunc(t *testing.T) {
	tests := []struct {
		name     string
		fn       func(*http.Request) string
		want     string
		wantLogs int
	}{
		{"no function: Language", nil, "cs", 0},
		{"empty: Language", func(*http.Request) string { return "" }, "cs", 0},
		{"from the request", func(r *http.Request) string { return r.URL.Query().Get("lang") }, "de", 0},
		{"upper case lowered", func(*http.Request) string { return "DE" }, "de", 0},
		{"mixed case lowered", func(*http.Request) string { return "dE" }, "de", 0},
		{"region: Language, logged", func(*http.Request) string { return "de-AT" }, "cs", 1},
		{"one letter: Language, logged", func(*http.Request) string { return "d" }, "cs", 1},
		{"hostile: Language, logged", func(*http.Request) string { return `"><script>` + strings.Repeat("x", 100) }, "cs", 1},
		{"non-ASCII: Language, logged", func(*http.Request) string { return "čš" }, "cs", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			m := newTestMiddleware(t, func(c *Config) {
				c.Language = "cs"
				c.LanguageFunc = tt.fn
				c.TTL = time.Minute
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			var page string
			app := withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				page = string(TemplateScript(r))
			})))
			app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/?lang=de", nil))
			d, _ := parsePageData(t, page)
			assert.Equal(t, tt.want, d.Language)
			assert.Equal(t, "alice", d.User.Username)

			rec := httptest.NewRecorder()
			app.ServeHTTP(rec, httptest.NewRequest("GET", DefaultIdentityPath+"?lang=de", nil))
			require.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, tt.want, rec.Header().Get("Content-Language"), "the endpoint names the language")

			out := logs.String()
			assert.Equal(t, tt.wantLogs, strings.Count(out, "\n"), "one line per distinct value, not per request: %s", out)
			if tt.wantLogs > 0 {
				assert.Contains(t, out, "LanguageFunc")
				assert.Less(t, len(out), 2*400, "the value is cut short in the log")
			}
		})
	}

	t.Run("each distinct invalid value logged once, memory bounded", func(t *testing.T) {
		var logs logBuffer
		m := newTestMiddleware(t, func(c *Config) {
			c.LanguageFunc = func(r *http.Request) string { return r.Header.Get("X-Lang") }
			c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
		app := withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = TemplateScript(r)
		})))
		serve := func(lang string) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("X-Lang", lang)
			app.ServeHTTP(httptest.NewRecorder(), r)
		}
		for range 3 {
			serve("pt_BR")
			serve("nan_Latn_pehoeji")
		}
		out := logs.String()
		assert.Equal(t, 1, strings.Count(out, "language=pt_BR"), out)
		assert.Equal(t, 1, strings.Count(out, "language=nan_Latn_pehoeji"), out)
		for i := range 2 * maxBadLanguages {
			serve(fmt.Sprintf("x-%d", i))
		}
		out = logs.String()
		assert.Equal(t, maxBadLanguages+1, strings.Count(out, "\n"), "every distinct value up to the bound, then one line that says so")
		assert.Contains(t, out, "no more are logged")
		assert.LessOrEqual(t, len(m.languages.seen), maxBadLanguages)
	})

	t.Run("each request its own language", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) {
			c.Inject = true
			c.LanguageFunc = func(r *http.Request) string { return r.Header.Get("X-Lang") }
		})
		app := withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<!doctype html><html><head></head><body></body></html>")
		})))
		for _, lang := range []string{"fr", "", "sk", "fr"} {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("X-Lang", lang)
			rec := httptest.NewRecorder()
			app.ServeHTTP(rec, req)
			d, n := parsePageData(t, rec.Body.String())
			assert.Equal(t, 1, n)
			assert.Equal(t, cmp.Or(lang, "en"), d.Language)
		}
	})
}

// BenchmarkMiddlewareContext measures what context mode adds per request
// over the bare handler. Goal: at most 2x one naive HMAC (BenchmarkSign/naive).
// The response header is cleared per request, as a new response's is.
func BenchmarkMiddlewareContext(b *testing.B) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = FromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, "jane.doe@example.com")))
		})
	}
	m := newTestMiddleware(b, func(c *Config) {
		benchConfig(c)
		c.TTL = time.Hour
	})
	req := httptest.NewRequest("GET", "/", nil)
	w := &discardWriter{h: http.Header{}}
	// A page that places the snippet itself, in context mode. Goal: at
	// most 2 allocations more than context mode alone.
	template := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = FromContext(r.Context())
		sinkString = string(TemplateScript(r))
		w.WriteHeader(http.StatusNoContent)
	})
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", auth(bare)},
		{"middleware", auth(m.Handler(bare))},
		{"middleware-TemplateScript", auth(m.Handler(template))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				bc.h.ServeHTTP(w, req)
			}
		})
	}
	b.Run("naive-hmac", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkString = naiveSign(vectorSecret, "jane.doe@example.com", "2026-11-24T14:00:00.000Z")
		}
	})
}

// TestAmbiguousUsernameServedAnonymous: without a TTL, a username ending
// in a date-time is not signed: the request is served as anonymous, with
// one log line, as other signing failures are.
func TestAmbiguousUsernameServedAnonymous(t *testing.T) {
	var logs logBuffer
	m := newTestMiddleware(t, func(c *Config) {
		c.Inject = true
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	var ok bool
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok = FromContext(r.Context())
		htmlPage(w, r)
	}))
	got := newRecWriter()
	withUser("alice2099-01-01T00:00:00.000Z", h).ServeHTTP(got, httptest.NewRequest("GET", "/", nil))
	_, _, body := got.result()
	assert.False(t, ok)
	assert.NotContains(t, body, "hmac")
	assert.Equal(t, 1, strings.Count(logs.String(), "\n"))
	assert.Contains(t, logs.String(), "date-time")
}

// TestCrossOriginReadGetsNoUser: another origin's fetch of a page (which a
// credentialed, origin-reflecting CORS layer would let it read) signs
// nobody; a navigation from another site, and same-origin fetches (Turbo,
// htmx), keep the user.
func TestCrossOriginReadGetsNoUser(t *testing.T) {
	m := newTestMiddleware(t, func(c *Config) { c.Inject = true })
	for _, tt := range []struct {
		mode, site string
		signed     bool
	}{
		{"", "", true},
		{"navigate", "cross-site", true},
		{"navigate", "same-site", true},
		{"cors", "same-origin", true},
		{"cors", "cross-site", false},
		{"cors", "same-site", false},
		{"no-cors", "cross-site", false},
	} {
		var ok bool
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, ok = FromContext(r.Context())
			htmlPage(w, r)
		}))
		r := httptest.NewRequest("GET", "/", nil)
		if tt.mode != "" {
			r.Header.Set("Sec-Fetch-Mode", tt.mode)
			r.Header.Set("Sec-Fetch-Site", tt.site)
		}
		got := newRecWriter()
		withUser("alice", h).ServeHTTP(got, r)
		_, _, body := got.result()
		assert.Equal(t, tt.signed, ok, "%s %s", tt.mode, tt.site)
		assert.Equal(t, tt.signed, strings.Contains(body, "hmac"), "%s %s", tt.mode, tt.site)
	}
}
