// Command chi shows the middleware on a chi router whose own authentication
// middleware puts the username in the request context under a private key
// type; productfruits.ContextUsername(key) reads it from there, and
// handlers read the signed user with productfruits.FromContext. The demo
// authentication is HTTP basic auth against a fixed list of users.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/examples/internal/demoenv"
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
<body><p><a href="/login">Log in</a> (jane.doe@example.com / demo) · <a href="/me">/me</a></p></body>
</html>
`))

func newApp(workspaceCode, secret string) (http.Handler, error) {
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        secret,
		Username:      productfruits.ContextUsername(userKey{}),
	})
	if err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.Use(authenticate) // the app's own authentication comes first
	r.Use(pf.Handler)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := page.Execute(w, productfruits.TemplateScript(r)); err != nil {
			slog.ErrorContext(r.Context(), "rendering page", "error", err)
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
	app, err := newApp(demoenv.Credentials())
	if err != nil {
		slog.Error("configuring the app", "error", err)
		os.Exit(1)
	}
	addr := demoenv.Getenv("ADDR", "localhost:8082")
	demoenv.ListenAndServe(addr, app)
}
