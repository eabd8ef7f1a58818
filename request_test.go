package productfruits

import (
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

// templComponent is templ.Component, spelled out: Script must be usable
// as one without this module importing templ.
type templComponent interface {
	Render(ctx context.Context, w io.Writer) error
}

var _ templComponent = Script

// nonceKey plays templ's nonce context key.
type nonceKey struct{}

func TestScriptComponent(t *testing.T) {
	render := func(ctx context.Context) string {
		var b strings.Builder
		require.NoError(t, Script.Render(ctx, &b))
		return b.String()
	}
	m := newTestMiddleware(t, func(c *Config) {
		// As with templ: the nonce lives in the render context.
		c.Nonce = func(r *http.Request) string { s, _ := r.Context().Value(nonceKey{}).(string); return s }
	})

	tests := []struct {
		name    string
		user    string
		handler func(t *testing.T, r *http.Request) string // returns what Script rendered
		want    func(t *testing.T, out string, r *http.Request)
	}{
		{"the user's snippet, with the render context's nonce", "alice", func(t *testing.T, r *http.Request) string {
			return render(context.WithValue(r.Context(), nonceKey{}, "tmplNonce"))
		}, func(t *testing.T, out string, _ *http.Request) {
			d, n := parsePageData(t, out)
			assert.Equal(t, 1, n)
			assert.Equal(t, "alice", d.User.Username)
			assert.NoError(t, m.Signer().Verify("alice", *d.User.HMAC, fixedNow))
			assert.Equal(t, 3, strings.Count(out, `nonce="tmplNonce"`), "the loader's preload, the data push, the runtime")
		}},
		{"once per request", "alice", func(t *testing.T, r *http.Request) string {
			require.NotEmpty(t, render(r.Context()))
			return render(r.Context())
		}, nil},
		{"not after TemplateScript", "alice", func(t *testing.T, r *http.Request) string {
			require.NotEmpty(t, TemplateScript(r))
			return render(r.Context())
		}, nil},
		{"TemplateScript not after it", "alice", func(t *testing.T, r *http.Request) string {
			out := render(r.Context())
			assert.Empty(t, TemplateScript(r))
			return out
		}, func(t *testing.T, out string, _ *http.Request) { assert.Contains(t, out, `"username":"alice"`) }},
		{"not after SkipInject", "alice", func(t *testing.T, r *http.Request) string {
			SkipInject(r)
			return render(r.Context())
		}, nil},
		{"anonymous: the anonymous script", "", func(t *testing.T, r *http.Request) string {
			return render(r.Context())
		}, func(t *testing.T, out string, _ *http.Request) {
			assert.Equal(t, `<script data-productfruits="anonymous">`+anonymousScript+`</script>`, out)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out string
			var req *http.Request
			rec := httptest.NewRecorder()
			withUser(tt.user, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req = r
				out = tt.handler(t, r)
			}))).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if tt.want == nil {
				assert.Empty(t, out)
				return
			}
			tt.want(t, out, req)
			if tt.user != "" {
				assert.Equal(t, "private", rec.Header().Get("Cache-Control"), "marked as TemplateScript marks it")
			}
		})
	}

	t.Run("a context the middleware did not see: nothing", func(t *testing.T) {
		assert.Empty(t, render(context.Background()))
	})

	t.Run("the writer's error is returned", func(t *testing.T) {
		var err error
		withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err = Script.Render(r.Context(), failingWriter{})
		}))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		assert.ErrorIs(t, err, errWrite)
	})

	t.Run("injection and Script never both", func(t *testing.T) {
		m := newTestMiddleware(t, injectConfig)
		rec := httptest.NewRecorder()
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<!doctype html><html><head>")
			_ = Script.Render(r.Context(), w)
			_, _ = io.WriteString(w, "</head><body></body></html>")
		})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		_, n := parsePageData(t, rec.Body.String())
		assert.Equal(t, 1, n)
	})
}

var errWrite = errors.New("write failed")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

// TestRequestContext: the request's context carries the state and stays
// the context the middleware got for everything else: values, deadline,
// cancellation; printed, it does not show the hash.
func TestRequestContext(t *testing.T) {
	m := newTestMiddleware(t, nil)
	type appKey struct{}
	parent, cancel := context.WithTimeout(context.WithValue(context.Background(), appKey{}, "app value"), time.Hour)
	var ctx context.Context
	var printed string
	withUser("jane.doe@example.com", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx = r.Context()
		printed = fmt.Sprintf("%v %+v %s", ctx, ctx, ctx)
	}))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(parent))
	require.NotNil(t, ctx)
	u, ok := FromContext(ctx)
	require.True(t, ok)
	assert.Equal(t, "app value", ctx.Value(appKey{}))
	d1, _ := ctx.Deadline()
	d2, _ := parent.Deadline()
	assert.Equal(t, d2, d1)
	assert.NotContains(t, printed, u.HMAC.Hash)
	assert.Contains(t, printed, "productfruits")
	child, stop := context.WithCancel(ctx)
	defer stop()
	cancel()
	<-child.Done()
	assert.ErrorIs(t, ctx.Err(), context.Canceled)
	assert.ErrorIs(t, child.Err(), context.Canceled)
}

func TestSetProps(t *testing.T) {
	profile := func(*http.Request, string) (User, error) {
		return User{Role: "admin", Props: map[string]any{"plan": "pro", "seats": 5}}, nil
	}
	tests := []struct {
		name    string
		profile func(*http.Request, string) (User, error)
		calls   []map[string]any
		want    map[string]any
	}{
		{"merged over the profile's", profile, []map[string]any{{"seats": 6, "section": "billing"}},
			map[string]any{"plan": "pro", "seats": 6.0, "section": "billing"}},
		{"without a profile", nil, []map[string]any{{"section": "billing"}}, map[string]any{"section": "billing"}},
		{"later calls win", nil, []map[string]any{{"a": 1, "b": 1}, {"b": 2}, nil, {}}, map[string]any{"a": 1.0, "b": 2.0}},
		{"nested and arrays", nil, []map[string]any{{"tags": []string{"x", "ž"}, "o": map[string]any{"k": true}}},
			map[string]any{"tags": []any{"x", "ž"}, "o": map[string]any{"k": true}}},
		{"no calls", profile, nil, map[string]any{"plan": "pro", "seats": 5.0}},
	}
	for _, inject := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name + " (TemplateScript)"
			if inject {
				name = tt.name + " (injected)"
			}
			t.Run(name, func(t *testing.T) {
				m := newTestMiddleware(t, func(c *Config) { c.Profile, c.Inject = tt.profile, inject })
				var ctxUser User
				var page string
				rec := httptest.NewRecorder()
				withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					for _, p := range tt.calls {
						SetProps(r, p)
					}
					ctxUser, _ = FromContext(r.Context())
					if !inject {
						page = string(TemplateScript(r))
						return
					}
					w.Header().Set("Content-Type", "text/html")
					_, _ = io.WriteString(w, "<!doctype html><html><head></head><body></body></html>")
				}))).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				if inject {
					page = rec.Body.String()
				}
				d, _ := parsePageData(t, page)
				assert.Equal(t, tt.want, d.User.Props)
				if tt.profile != nil {
					assert.Equal(t, "admin", d.User.Role)
					assert.Equal(t, map[string]any{"plan": "pro", "seats": 5}, ctxUser.Props, "FromContext keeps the signed user")
				}
				assert.NoError(t, m.Signer().Verify("alice", *d.User.HMAC, fixedNow))
			})
		}
	}

	t.Run("calls after the snippet change nothing", func(t *testing.T) {
		m := newTestMiddleware(t, nil)
		var first, second string
		withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			SetProps(r, map[string]any{"a": 1})
			first = string(TemplateScript(r))
			SetProps(r, map[string]any{"b": 2})
			var b strings.Builder
			require.NoError(t, Script.Render(r.Context(), &b))
			second = b.String()
		}))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		d, _ := parsePageData(t, first)
		assert.Equal(t, map[string]any{"a": 1.0}, d.User.Props)
		assert.Empty(t, second)
	})

	t.Run("the caller's map is copied", func(t *testing.T) {
		m := newTestMiddleware(t, nil)
		var page string
		withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := map[string]any{"a": 1}
			SetProps(r, p)
			p["a"], p["b"] = 2, 2
			page = string(TemplateScript(r))
		}))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		d, _ := parsePageData(t, page)
		assert.Equal(t, map[string]any{"a": 1.0}, d.User.Props)
	})

	t.Run("anonymous and unwrapped requests: nothing, no panic", func(t *testing.T) {
		m := newTestMiddleware(t, nil)
		var page string
		withUser("", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			SetProps(r, map[string]any{"a": 1})
			page = string(TemplateScript(r))
		}))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, `<script data-productfruits="anonymous">`+anonymousScript+`</script>`, page)
		SetProps(httptest.NewRequest("GET", "/", nil), map[string]any{"a": 1})
	})

	t.Run("unencodable props: no snippet, one log line", func(t *testing.T) {
		for _, inject := range []bool{false, true} {
			var logs logBuffer
			m := newTestMiddleware(t, func(c *Config) {
				c.Inject = inject
				c.Profile = profile
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			const body = "<!doctype html><html><head></head><body></body></html>"
			var script string
			rec := httptest.NewRecorder()
			withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				SetProps(r, map[string]any{"bad": make(chan int)})
				if !inject {
					script = string(TemplateScript(r))
				}
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, body)
			}))).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			assert.Empty(t, script)
			assert.Equal(t, body, rec.Body.String())
			assert.Equal(t, 1, strings.Count(logs.String(), "\n"), logs.String())
			assert.Contains(t, logs.String(), "cannot encode the user object")
		}
	})

	t.Run("from the handler's goroutines", func(t *testing.T) {
		m := newTestMiddleware(t, func(c *Config) { c.Profile = profile })
		var page string
		withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var wg sync.WaitGroup
			for g := range 16 {
				wg.Go(func() {
					for i := range 20 {
						SetProps(r, map[string]any{fmt.Sprintf("g%d", g): i, "shared": g})
					}
				})
			}
			wg.Wait()
			// Racing with the render: whichever wins, nothing tears.
			var late sync.WaitGroup
			for g := range 4 {
				late.Go(func() { SetProps(r, map[string]any{"late": g}) })
			}
			page = string(TemplateScript(r))
			late.Wait()
		}))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		d, _ := parsePageData(t, page)
		for g := range 16 {
			assert.Equal(t, 19.0, d.User.Props[fmt.Sprintf("g%d", g)])
		}
		assert.Equal(t, "pro", d.User.Props["plan"])
	})
}

func TestTemplateScript(t *testing.T) {
	m := newTestMiddleware(t, nil)
	var first, second string
	app := withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "script-src 'nonce-fromHeader'")
		first = string(TemplateScript(r))
		second = string(TemplateScript(r))
	})))
	app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	d, _ := parsePageData(t, first)
	u := d.User
	assert.Equal(t, "alice", u.Username)
	assert.NoError(t, m.Signer().Verify("alice", *u.HMAC, fixedNow))
	assert.Contains(t, first, `nonce="fromHeader"`, "nonce from the response's own CSP")
	assert.Empty(t, second, "a page never carries two snippets")

	t.Run("marks the page private", func(t *testing.T) {
		rec := httptest.NewRecorder()
		withUser("alice", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			_, _ = io.WriteString(w, string(TemplateScript(r)))
		}))).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, "max-age=60, private", rec.Header().Get("Cache-Control"))
		assert.Equal(t, "Cookie", rec.Header().Get("Vary"))
	})

	t.Run("unwrapped requests get nothing", func(t *testing.T) {
		assert.Empty(t, TemplateScript(httptest.NewRequest("GET", "/", nil)))
	})

	t.Run("anonymous requests get the anonymous script, once", func(t *testing.T) {
		var got, again string
		rec := httptest.NewRecorder()
		withUser("", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "script-src 'nonce-n1'")
			w.Header().Set("Cache-Control", "public, max-age=60")
			got = string(TemplateScript(r))
			again = string(TemplateScript(r))
		}))).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, `<script nonce="n1" data-productfruits="anonymous">`+anonymousScript+`</script>`, got)
		assert.Empty(t, again)
		assert.Equal(t, "public, max-age=60", rec.Header().Get("Cache-Control"), "an anonymous page stays cacheable")
		assert.Empty(t, rec.Header().Get("Vary"))
	})
}
