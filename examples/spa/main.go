// Command spa shows identity verification in a single-page app whose
// static files hold no user data: app.js fetches the signed user object
// from the middleware's identity endpoint (GET /productfruits/identity),
// the workspace code from /config.json, and calls productFruits.init
// itself. The HMACs expire after an hour and app.js renews them. The demo
// login takes any username, no password, and keeps it in a gorilla/sessions
// cookie.
package main

import (
	"cmp"
	"embed"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/pfverify/productfruits"
)

//go:embed index.html app.js
var static embed.FS

const ttl = time.Hour

func newApp(workspaceCode, secret string) (http.Handler, error) {
	store := sessions.NewCookieStore(securecookie.GenerateRandomKey(32))
	store.Options.HttpOnly, store.Options.SameSite = true, http.SameSiteLaxMode
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
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
	mux.Handle("POST /login", logIn(store))
	mux.Handle("POST /logout", logIn(store)) // no username: logged out
	// The middleware serves the identity endpoint.
	return pf.Handler(mux), nil
}

// logIn keeps the form's username in the session, no password: a real app
// checks credentials.
func logIn(store sessions.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, _ := store.Get(r, "session") // a bad cookie gets a new session
		sess.Values["username"] = r.PostFormValue("username")
		if err := sess.Save(r, w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

func main() {
	code, secret := os.Getenv("PRODUCTFRUITS_WORKSPACE_CODE"), os.Getenv("PRODUCTFRUITS_SECRET")
	if code == "" || secret == "" {
		log.Print("PRODUCTFRUITS_WORKSPACE_CODE or PRODUCTFRUITS_SECRET unset: demo values the product will not load")
		code, secret = "demo-workspace", "demo-secret"
	}
	app, err := newApp(code, secret)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: cmp.Or(os.Getenv("ADDR"), "localhost:8085"), Handler: app, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on http://%s", srv.Addr)
	log.Fatal(srv.ListenAndServe())
}
