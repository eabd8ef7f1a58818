package productfruits

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
