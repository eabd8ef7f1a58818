package productfruits

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/sessions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	body := readBody(t, resp, err)
	parts := strings.SplitN(body, "|", 2)
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
		b := readBody(t, resp, err)
		assert.Equal(t, body, b)
	})

	t.Run("tampered cookie is anonymous, not an error page", func(t *testing.T) {
		u, _ := url.Parse(srv.URL)
		c := jar.Cookies(u)[0]
		v := []byte(c.Value)
		v[len(v)/2] ^= 0x01
		req, _ := http.NewRequest("GET", srv.URL+"/", nil)
		req.AddCookie(&http.Cookie{Name: c.Name, Value: string(v)})
		resp, err := http.DefaultClient.Do(req)
		b := readBody(t, resp, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "anonymous", b)
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
