package demoapp

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/sessions"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func postLogin(s *Sessions, username string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"username": {username}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	s.Login(rec, req)
	return rec
}

func TestLoginRejectsBadUsernames(t *testing.T) {
	for name, username := range map[string]string{
		"empty":    "",
		"too long": strings.Repeat("x", MaxUsername+1),
		"not UTF8": "bad\xff",
	} {
		rec := postLogin(NewSessions(), username)
		assert.Equal(t, http.StatusBadRequest, rec.Code, name)
		assert.Empty(t, rec.Result().Cookies(), name)
	}
	rec := postLogin(NewSessions(), strings.Repeat("x", MaxUsername))
	assert.Equal(t, http.StatusSeeOther, rec.Code)
}

func TestLoginLogout(t *testing.T) {
	s := NewSessions()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			s.Login(w, r)
		case "/logout":
			s.Logout(w, r)
		default:
			name, err := s.Username()(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			_, _ = w.Write([]byte(name + "|" + s.User(r)))
		}
	}))
	t.Cleanup(srv.Close)
	c := pftest.NewClient(t, srv)

	assert.Equal(t, "jane|jane", pftest.Login(t, c, srv.URL, "jane"))
	cookies := pftest.Cookies(t, c, srv.URL)
	require.Len(t, cookies, 1)
	assert.Equal(t, DefaultSessionName, cookies[0].Name)

	res, body := pftest.PostForm(t, c, srv.URL+"/logout", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "|", string(body), "logged out")
	assert.Empty(t, pftest.Cookies(t, c, srv.URL), "the session cookie is deleted")
}

// failingStore is a store whose sessions cannot be saved, like Redis when
// it is down.
type failingStore struct{}

func (f failingStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(f, name)
}

func (f failingStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(f, name)
	sess.Options = &sessions.Options{Path: "/"}
	return sess, nil
}

func (failingStore) Save(*http.Request, http.ResponseWriter, *sessions.Session) error {
	return errors.New("store down")
}

func TestSaveFailed(t *testing.T) {
	for _, tc := range []struct {
		status, want int
	}{
		{0, http.StatusInternalServerError},
		{http.StatusServiceUnavailable, http.StatusServiceUnavailable},
	} {
		logs := &pftest.SyncBuffer{}
		s := &Sessions{
			Store:            failingStore{},
			Logger:           slog.New(slog.NewTextHandler(logs, nil)),
			SaveFailedStatus: tc.status,
		}
		rec := postLogin(s, "jane")
		assert.Equal(t, tc.want, rec.Code)
		assert.Contains(t, logs.String(), "store down")

		rec = httptest.NewRecorder()
		s.Logout(rec, httptest.NewRequest(http.MethodPost, "/logout", nil))
		assert.Equal(t, tc.want, rec.Code)
	}
}
