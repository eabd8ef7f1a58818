// Command spa shows identity verification in a single-page app whose
// static files hold no user data: app.js fetches the signed user object
// from the middleware's identity endpoint (GET /productfruits/identity),
// the workspace code from /config.json, and calls productFruits.init
// itself. The HMACs expire after an hour and app.js renews them. The demo
// login takes any username, no password, and keeps it in a gorilla/sessions
// cookie.
package main

import (
	"embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/examples/internal/demoenv"
)

//go:embed index.html app.js
var static embed.FS

const ttl = time.Hour

func newApp(workspaceCode, secret string) (http.Handler, error) {
	store := sessions.NewCookieStore(securecookie.GenerateRandomKey(32))
	store.Options.HttpOnly = true
	store.Options.SameSite = http.SameSiteLaxMode

	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        secret,
		Username:      productfruits.SessionUsername(store, "session", "username"),
		TTL:           ttl,
	})
	if err != nil {
		return nil, err
	}
	config, err := json.Marshal(map[string]any{
		"workspaceCode": workspaceCode,
		"language":      "en",
		"renewAfterMs":  (ttl * 4 / 5).Milliseconds(),
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(static))
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(config)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		setSessionUser(w, r, store, r.PostFormValue("username"))
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		setSessionUser(w, r, store, "")
	})
	return pf.Handler(mux), nil // the middleware serves the identity endpoint
}

// setSessionUser is the demo's whole login: it stores username (or, when
// empty, ends the session) and goes back to the app.
func setSessionUser(w http.ResponseWriter, r *http.Request, store sessions.Store, username string) {
	sess, _ := store.Get(r, "session") // a bad cookie just starts a new session
	if username == "" {
		sess.Options.MaxAge = -1
	}
	sess.Values["username"] = username
	if err := sess.Save(r, w); err != nil {
		http.Error(w, "cannot save the session", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func main() {
	app, err := newApp(demoenv.Credentials())
	if err != nil {
		slog.Error("configuring the app", "error", err)
		os.Exit(1)
	}
	addr := demoenv.Getenv("ADDR", "localhost:8085")
	demoenv.ListenAndServe(addr, app)
}
