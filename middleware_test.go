package productfruits

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Config)
		field string
	}{
		{"empty workspace", func(c *Config) { c.WorkspaceCode = "" }, "WorkspaceCode"},
		{"workspace with quote", func(c *Config) { c.WorkspaceCode = `ab"c` }, "WorkspaceCode"},
		{"workspace with space", func(c *Config) { c.WorkspaceCode = "ab c" }, "WorkspaceCode"},
		{"workspace non-ASCII", func(c *Config) { c.WorkspaceCode = "kůň" }, "WorkspaceCode"},
		{"empty secret", func(c *Config) { c.Secret = "" }, "Secret"},
		{"language three letters", func(c *Config) { c.Language = "eng" }, "Language"},
		{"language with region", func(c *Config) { c.Language = "en-US" }, "Language"},
		{"language digits", func(c *Config) { c.Language = "e1" }, "Language"},
		{"nil username", func(c *Config) { c.Username = nil }, "Username"},
		{"negative TTL", func(c *Config) { c.TTL = -time.Second }, "TTL"},
		{"relative script URL", func(c *Config) { c.ScriptURL = "/static/script.js" }, "ScriptURL"},
		{"javascript script URL", func(c *Config) { c.ScriptURL = "javascript:alert(1)" }, "ScriptURL"},
		{"ftp script URL", func(c *Config) { c.ScriptURL = "ftp://example.com/x.js" }, "ScriptURL"},
		{"script URL without host", func(c *Config) { c.ScriptURL = "https:///x.js" }, "ScriptURL"},
		{"identity path relative", func(c *Config) { c.IdentityPath = "identity" }, "IdentityPath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(testConfig(tt.mod))
			require.ErrorIs(t, err, ErrConfig)
			assert.Nil(t, m)
			assert.Contains(t, err.Error(), tt.field)
			assert.NotContains(t, err.Error(), testSecret)
		})
	}

	t.Run("defaults", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) { c.Language = "CS" })
		assert.Equal(t, "cs", m.language)
		assert.Equal(t, DefaultScriptURL, m.scriptURL)
		assert.Equal(t, DefaultIdentityPath, m.identityPath)
		m = newTestMiddleware(t, func(c *Config) { c.IdentityPath = "-" })
		assert.Empty(t, m.identityPath)
	})
}

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

func TestSessionUsername(t *testing.T) {
	store := sessions.NewCookieStore([]byte("0123456789abcdef0123456789abcdef"))
	m := newTestMiddleware(t, func(c *Config) { c.Username = SessionUsername(store, "sess", "user") })
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := store.Get(r, "sess")
		s.Values["user"] = r.FormValue("username")
		require.NoError(t, s.Save(r, w))
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		u, ok := FromContext(r.Context())
		if !ok {
			_, _ = io.WriteString(w, "anonymous")
			return
		}
		_, _ = io.WriteString(w, u.Username+"|"+u.HMAC.Hash)
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(srv.URL+"/login", url.Values{"username": {"jane.doe@example.com"}})
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	parts := strings.SplitN(string(body), "|", 2)
	require.Len(t, parts, 2, "page after login: %s", body)
	assert.Equal(t, "jane.doe@example.com", parts[0])
	assert.NoError(t, m.Signer().Verify(parts[0], HMAC{Hash: parts[1]}, fixedNow))

	t.Run("the cookie alone identifies the next request", func(t *testing.T) {
		u, _ := url.Parse(srv.URL)
		cookies := jar.Cookies(u)
		require.NotEmpty(t, cookies)
		req, _ := http.NewRequest("GET", srv.URL+"/", nil)
		req.AddCookie(cookies[0])
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, string(body), string(b))
	})

	t.Run("tampered cookie is anonymous, not an error page", func(t *testing.T) {
		u, _ := url.Parse(srv.URL)
		c := jar.Cookies(u)[0]
		v := []byte(c.Value)
		v[len(v)/2] ^= 0x01
		req, _ := http.NewRequest("GET", srv.URL+"/", nil)
		req.AddCookie(&http.Cookie{Name: c.Name, Value: string(v)})
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "anonymous", string(b))
	})
}

type failingStore struct{ sessions.Store }

func (failingStore) Get(*http.Request, string) (*sessions.Session, error) {
	return nil, errors.New("redis: connection refused")
}

func TestSessionUsernameStoreError(t *testing.T) {
	name, err := SessionUsername(failingStore{}, "s", "u")(httptest.NewRequest("GET", "/", nil))
	assert.Empty(t, name)
	assert.ErrorContains(t, err, "connection refused")
}

func TestContextUsername(t *testing.T) {
	type other struct{}
	r := httptest.NewRequest("GET", "/", nil)
	f := ContextUsername(userKey{})
	name, err := f(r)
	assert.NoError(t, err)
	assert.Empty(t, name)
	name, err = f(r.WithContext(context.WithValue(r.Context(), userKey{}, "x")))
	assert.NoError(t, err)
	assert.Equal(t, "x", name)
	_, err = f(r.WithContext(context.WithValue(r.Context(), userKey{}, 42)))
	assert.Error(t, err)
	name, _ = ContextUsername(other{})(r.WithContext(context.WithValue(r.Context(), userKey{}, "x")))
	assert.Empty(t, name)
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
