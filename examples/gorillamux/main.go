// Command gorillamux shows the middleware on a gorilla/mux router, added
// with r.Use like any mux.MiddlewareFunc, reading the user from a
// gorilla/sessions session with productfruits.SessionUsername. Its HMACs
// expire after an hour; the snippet renews them through the identity
// endpoint, which needs a route of its own under mux. The demo login takes
// any username, no password.
package main

import (
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/mux"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/examples/internal/demoenv"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Product Fruits with gorilla/mux</title>
{{.}}
</head>
<body><form method="post" action="/login"><input name="username" placeholder="username" required> <button>Log in</button></form></body>
</html>
`))

func newApp(workspaceCode, secret string) (http.Handler, error) {
	store := sessions.NewCookieStore(securecookie.GenerateRandomKey(32))
	store.Options.HttpOnly = true
	store.Options.SameSite = http.SameSiteLaxMode

	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        secret,
		Username:      productfruits.SessionUsername(store, "session", "username"),
		TTL:           time.Hour,
	})
	if err != nil {
		return nil, err
	}

	r := mux.NewRouter()
	r.Use(pf.Handler)
	// mux runs middleware on matched routes only: the identity endpoint
	// needs a route of its own.
	r.Handle(productfruits.DefaultIdentityPath, pf.IdentityHandler())
	r.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := page.Execute(w, productfruits.TemplateScript(r)); err != nil {
			slog.ErrorContext(r.Context(), "rendering page", "error", err)
		}
	}).Methods(http.MethodGet)
	r.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := store.Get(r, "session") // a bad cookie just starts a new session
		sess.Values["username"] = r.PostFormValue("username")
		if err := sess.Save(r, w); err != nil {
			http.Error(w, "cannot save the session", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}).Methods(http.MethodPost)
	return r, nil
}

func main() {
	app, err := newApp(demoenv.Credentials())
	if err != nil {
		slog.Error("configuring the app", "error", err)
		os.Exit(1)
	}
	addr := demoenv.Getenv("ADDR", "localhost:8083")
	demoenv.ListenAndServe(addr, app)
}
