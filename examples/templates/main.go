// Command templates shows identity verification in html/template pages that
// place the snippet themselves: {{.ProductFruits}} in the page's <head>,
// filled from productfruits.TemplateScript(r), with Config.Inject left off.
// The demo login takes any username, no password, and keeps it in a
// gorilla/sessions cookie.
package main

import (
	"html/template"
	"log/slog"
	"net/http"
	"os"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/examples/internal/demoenv"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Product Fruits with html/template</title>
{{.ProductFruits}}
</head>
<body>
{{if .Username}}<p>Signed in as {{.Username}}.</p>
<form method="post" action="/logout"><button>Log out</button></form>
{{else}}<form method="post" action="/login"><input name="username" placeholder="username" required> <button>Log in</button></form>
{{end}}</body>
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
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		user, _ := productfruits.FromContext(r.Context())
		// The page carries this user's hash: no shared cache may keep it.
		w.Header().Set("Cache-Control", "private, no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		err := page.Execute(w, map[string]any{
			"ProductFruits": productfruits.TemplateScript(r),
			"Username":      user.Username,
		})
		if err != nil {
			slog.ErrorContext(r.Context(), "rendering page", "error", err)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		setSessionUser(w, r, store, r.PostFormValue("username"))
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		setSessionUser(w, r, store, "")
	})
	return pf.Handler(mux), nil
}

// setSessionUser is the demo's whole login: it stores username (or, when
// empty, ends the session) and goes back to the page.
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
	addr := demoenv.Getenv("ADDR", "localhost:8081")
	demoenv.ListenAndServe(addr, app)
}
