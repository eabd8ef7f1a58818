// Command gorillamux shows the middleware on a gorilla/mux router, added
// with r.Use like any mux.MiddlewareFunc, reading the user from a
// gorilla/sessions session with productfruits.SessionUsername. Its HMACs
// expire after an hour; the snippet renews them through the identity
// endpoint, which needs a route of its own under mux, as does the page
// lifecycle runtime the snippet loads. The demo login takes
// any username, no password.
package main

import (
	"cmp"
	"html/template"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/mux"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/pfverify/productfruits"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Product Fruits with gorilla/mux</title>
{{.ProductFruits}}
</head>
<body>
{{- if .Username}}
<p>Signed in as {{.Username}}.</p>
<form method="post" action="/logout"><button>Log out</button></form>
{{- else}}
<p>Not signed in.</p>
<form method="post" action="/login"><input name="username" required> <button>Log in</button></form>
{{- end}}
</body>
</html>`))

func newApp(workspaceCode, secret string) (http.Handler, error) {
	store := sessions.NewCookieStore(securecookie.GenerateRandomKey(32))
	store.Options.HttpOnly, store.Options.SameSite = true, http.SameSiteLaxMode
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username:      productfruits.SessionUsername(store, "session", "username"),
		TTL:           time.Hour,
	})
	if err != nil {
		return nil, err
	}

	r := mux.NewRouter()
	r.Use(pf.Handler)
	// mux runs middleware on matched routes only: the identity endpoint
	// and the page lifecycle runtime, which IdentityHandler serves too,
	// need routes of their own.
	r.Handle(productfruits.DefaultIdentityPath, pf.IdentityHandler())
	r.Handle(pf.RuntimePath(), pf.IdentityHandler()).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		user, _ := productfruits.FromContext(r.Context())
		// The page carries its user's hash: no shared cache may keep it.
		w.Header().Set("Cache-Control", "private, no-store")
		err := page.Execute(w, map[string]any{"Username": user.Username, "ProductFruits": productfruits.TemplateScript(r)})
		if err != nil {
			log.Print(err)
		}
	}).Methods(http.MethodGet)
	r.Handle("/login", logIn(store)).Methods(http.MethodPost)
	r.Handle("/logout", logIn(store)).Methods(http.MethodPost) // no username: logged out
	return r, nil
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
	srv := &http.Server{Addr: cmp.Or(os.Getenv("ADDR"), "localhost:8083"), Handler: app, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on http://%s", srv.Addr)
	log.Fatal(srv.ListenAndServe())
}
