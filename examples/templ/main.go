// Command templ shows the middleware with templ pages
// (github.com/a-h/templ) under a strict Content-Security-Policy. At "/" the
// middleware injects the snippet (Config.Inject); at "/placed" the page
// places it itself with @productfruits.Script in its <head> (the
// middleware then adds no second one; with Inject off it is the only way).
// The CSP nonce reaches templ through templ.WithNonce (csp.go) and the
// middleware through Config.Nonce, which reads it back with
// templ.GetNonce, for both ways. Pages read the signed user with
// productfruits.FromContext(ctx). The demo login takes any username, no
// password.
//
// pages_templ.go is generated from pages.templ and committed, so that
// building needs no templ CLI; main_test.go checks that it is up to date.
package main

//go:generate go tool templ generate -f pages.templ

import (
	"cmp"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/a-h/templ"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/pfverify/productfruits"
)

func newApp(workspaceCode, secret string) (http.Handler, error) {
	store := sessions.NewCookieStore(securecookie.GenerateRandomKey(32))
	store.Options.HttpOnly, store.Options.SameSite = true, http.SameSiteLaxMode
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username:      productfruits.SessionUsername(store, "session", "username"),
		Inject:        true,
		Nonce:         func(r *http.Request) string { return templ.GetNonce(r.Context()) },
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /{$}", templ.Handler(injectedPage()))
	mux.Handle("GET /placed", templ.Handler(placedPage()))
	mux.Handle("POST /login", logIn(store))
	mux.Handle("POST /logout", logIn(store)) // no username: logged out
	// The nonce first, so that the middleware's Config.Nonce finds it.
	return withNonce(pf.Handler(mux)), nil
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
	srv := &http.Server{Addr: cmp.Or(os.Getenv("ADDR"), "localhost:8088"), Handler: app, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on http://%s", srv.Addr)
	log.Fatal(srv.ListenAndServe())
}
