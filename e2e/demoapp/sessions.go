package demoapp

import (
	"log/slog"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/pfverify/productfruits"
)

// DefaultSessionName is the name of the demo session (and of its cookie)
// when Sessions.Name is empty.
const DefaultSessionName = "session"

// UsernameKey is the session value that holds the logged-in username.
const UsernameKey = "username"

// MaxUsername is the longest username, in bytes, that Login accepts: it
// keeps a cookie session well under the browsers' 4 KB.
const MaxUsername = 256

// maxLoginForm bounds the login request's body.
const maxLoginForm = 8 << 10

// CookieOptions sets the session cookie attributes every example wants:
// HttpOnly, so no script on the page reads the session, and SameSite=Lax,
// so no other site's form logs a visitor in or out.
func CookieOptions(o *sessions.Options) {
	o.HttpOnly = true
	o.SameSite = http.SameSiteLaxMode
}

// NewCookieStore returns a gorilla/sessions cookie store whose cookies are
// signed with key, with CookieOptions. A nil key means a random one: a
// restart then logs everyone out.
func NewCookieStore(key []byte) *sessions.CookieStore {
	if key == nil {
		key = securecookie.GenerateRandomKey(32)
	}
	store := sessions.NewCookieStore(key)
	CookieOptions(store.Options)
	return store
}

// Sessions is the examples' whole login: a username, taken from a form
// without a password, kept under UsernameKey in a gorilla/sessions
// session. A real app checks credentials; the middleware only needs to
// know who is logged in, which Username tells it.
type Sessions struct {
	// Store keeps the sessions, such as a cookie store or a Redis one.
	Store sessions.Store
	// Name is the session's name; DefaultSessionName when empty.
	Name string
	// Logger receives the errors of saving a session; slog.Default() when
	// nil.
	Logger *slog.Logger
	// SaveFailedStatus is the status of a login or logout whose session
	// cannot be saved; http.StatusInternalServerError when zero. A store
	// behind the network answers http.StatusServiceUnavailable: try later.
	SaveFailedStatus int
}

// NewSessions returns Sessions in a NewCookieStore with a random key.
func NewSessions() *Sessions {
	return &Sessions{Store: NewCookieStore(nil)}
}

func (s *Sessions) name() string {
	if s.Name == "" {
		return DefaultSessionName
	}
	return s.Name
}

// Username returns the productfruits.Config.Username resolver that reads
// the logged-in username from these sessions.
func (s *Sessions) Username() func(*http.Request) (string, error) {
	return productfruits.SessionUsername(s.Store, s.name(), UsernameKey)
}

// User returns the username r's session holds, or "" when nobody is
// logged in or the session cannot be read.
func (s *Sessions) User(r *http.Request) string {
	sess, err := s.Store.Get(r, s.name())
	if err != nil {
		return ""
	}
	name, _ := sess.Values[UsernameKey].(string)
	return name
}

// Login is the POST handler of the login form: it logs in the form's
// username, 1 to MaxUsername bytes of UTF-8 (400 Bad Request otherwise),
// and redirects to "/".
func (s *Sessions) Login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	name := r.PostFormValue("username")
	if name == "" || len(name) > MaxUsername || !utf8.ValidString(name) {
		http.Error(w, "username: 1 to "+strconv.Itoa(MaxUsername)+" bytes of UTF-8", http.StatusBadRequest)
		return
	}
	// A tampered or stale cookie yields a fresh session with an error:
	// logging in replaces it either way.
	sess, _ := s.Store.Get(r, s.name())
	sess.Values[UsernameKey] = name
	s.save(w, r, sess)
}

// Logout is the POST handler of the logout form: it ends the session,
// deleting its cookie, and redirects to "/".
func (s *Sessions) Logout(w http.ResponseWriter, r *http.Request) {
	sess, _ := s.Store.Get(r, s.name())
	delete(sess.Values, UsernameKey)
	opts := *sess.Options // the session's own copy, never the store's
	opts.MaxAge = -1
	sess.Options = &opts
	s.save(w, r, sess)
}

// save saves sess and redirects to "/", or logs why it cannot and answers
// SaveFailedStatus.
func (s *Sessions) save(w http.ResponseWriter, r *http.Request, sess *sessions.Session) {
	if err := sess.Save(r, w); err != nil {
		logger := s.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.ErrorContext(r.Context(), "saving the session", "error", err, "path", r.URL.Path)
		status := s.SaveFailedStatus
		if status == 0 {
			status = http.StatusInternalServerError
		}
		http.Error(w, "cannot save the session", status)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
