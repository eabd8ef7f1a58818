package productfruits

import (
	"context"
	"errors"
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

// BenchmarkMiddlewareContext measures what context mode adds per request
// over the bare handler. Goal: at most 2x one naive HMAC (BenchmarkSign/naive).
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
	w := httptest.NewRecorder()
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", auth(bare)},
		{"middleware", auth(m.Handler(bare))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
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
