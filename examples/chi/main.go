// Command chi shows the middleware on a chi router whose own authentication
// middleware puts the username in the request context under a private key
// type; productfruits.ContextUsername(key) reads it from there, and
// handlers read the signed user with productfruits.FromContext. The demo
// authentication is HTTP basic auth against a fixed list of users.
package main

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"html/template"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/pfverify/productfruits"
)

// userKey is the context key under which authenticate stores the username.
type userKey struct{}

// demoUsers maps usernames to passwords. A real app checks its own store.
var demoUsers = map[string]string{"jane.doe@example.com": "demo", "john": "demo"}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Product Fruits with chi</title>
{{.}}
</head>
<body>
<p><a href="/login">Log in</a> (jane.doe@example.com / demo) · <a href="/me">/me</a></p>
</body>
</html>`))

func newApp(workspaceCode, secret string) (http.Handler, error) {
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username:      productfruits.ContextUsername(userKey{}),
	})
	if err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.Use(authenticate) // the app's own authentication comes first
	r.Use(pf.Handler)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		// The page carries its user's hash: no shared cache may keep it.
		w.Header().Set("Cache-Control", "private, no-store")
		if err := page.Execute(w, productfruits.TemplateScript(r)); err != nil {
			log.Print(err)
		}
	})
	r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
		user, ok := productfruits.FromContext(r.Context())
		if !ok {
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"productFruitsUser": user})
	})
	r.Get("/login", func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(userKey{}) == nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="demo", charset="UTF-8"`)
			http.Error(w, "log in as jane.doe@example.com, password demo", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return r, nil
}

// authenticate stands in for the app's own login: it puts the username of
// valid basic auth credentials in the request context.
func authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, pass, ok := r.BasicAuth(); ok {
			if want, known := demoUsers[name]; known && subtle.ConstantTimeCompare([]byte(pass), []byte(want)) == 1 {
				r = r.WithContext(context.WithValue(r.Context(), userKey{}, name))
			}
		}
		next.ServeHTTP(w, r)
	})
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
	srv := &http.Server{Addr: cmp.Or(os.Getenv("ADDR"), "localhost:8082"), Handler: app, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on http://%s", srv.Addr)
	log.Fatal(srv.ListenAndServe())
}
