package main

import (
	"log/slog"
	"net/http"
	"unicode/utf8"

	"github.com/gorilla/sessions"
)

// The demo's login: whatever username the form names, no password, kept
// under usernameKey in a gorilla/sessions cookie. A real app checks
// credentials; the middleware only needs to know who is logged in.
const (
	sessionName = "pfdemo"
	usernameKey = "username"
	// maxUsername keeps a cookie session well under the browsers' 4 KB.
	maxUsername = 256
)

type login struct {
	store  *sessions.CookieStore
	logger *slog.Logger
}

// user returns the username r's session holds, or "".
func (l *login) user(r *http.Request) string {
	sess, err := l.store.Get(r, sessionName)
	if err != nil {
		return ""
	}
	name, _ := sess.Values[usernameKey].(string)
	return name
}

// logIn handles POST /login: 1 to maxUsername bytes of UTF-8.
func (l *login) logIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	name := r.PostFormValue("username")
	if name == "" || len(name) > maxUsername || !utf8.ValidString(name) {
		http.Error(w, "username: 1 to 256 bytes of UTF-8", http.StatusBadRequest)
		return
	}
	// A tampered or stale cookie yields a fresh session: logging in
	// replaces it either way.
	sess, _ := l.store.Get(r, sessionName)
	sess.Values[usernameKey] = name
	l.save(w, r, sess)
}

// logOut handles POST /logout: it deletes the session's cookie.
func (l *login) logOut(w http.ResponseWriter, r *http.Request) {
	sess, _ := l.store.Get(r, sessionName)
	sess.Options.MaxAge = -1 // the session's own copy of the store's options
	l.save(w, r, sess)
}

func (l *login) save(w http.ResponseWriter, r *http.Request, sess *sessions.Session) {
	if err := sess.Save(r, w); err != nil {
		l.logger.ErrorContext(r.Context(), "saving the session", "error", err)
		http.Error(w, "cannot save the session", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
