// Command templates shows identity verification in html/template pages that
// place the snippet themselves, with Config.Inject left off: the page's
// template has {{.ProductFruits}} in its <head>, and the handler fills it
// from productfruits.TemplateScript(r). The demo login takes any username,
// no password, and keeps it in a gorilla/sessions cookie.
package main

import (
	"cmp"
	"html/template"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/pfverify/productfruits"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Product Fruits with html/template</title>
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
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		user, _ := productfruits.FromContext(r.Context())
		// The page carries its user's hash: no shared cache may keep it.
		w.Header().Set("Cache-Control", "private, no-store")
		err := page.Execute(w, map[string]any{
			"Username": user.Username,
			// "" for an anonymous visitor: the page then carries no snippet.
			"ProductFruits": productfruits.TemplateScript(r),
		})
		if err != nil {
			log.Print(err)
		}
	})
	mux.Handle("POST /login", logIn(store))
	mux.Handle("POST /logout", logIn(store)) // no username: logged out
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
	srv := &http.Server{Addr: cmp.Or(os.Getenv("ADDR"), "localhost:8081"), Handler: app, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on http://%s", srv.Addr)
	log.Fatal(srv.ListenAndServe())
}
