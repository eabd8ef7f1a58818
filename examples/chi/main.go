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
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/demoapp"
	"github.com/pfverify/productfruits/examples/internal/demoenv"
)

// userKey is the context key under which authenticate stores the username.
type userKey struct{}

// demoUsers maps usernames to passwords. A real app checks its own store.
var demoUsers = map[string]string{"jane.doe@example.com": "demo", "john": "demo"}

// body replaces the demo page's login form: here the login is basic auth.
const body template.HTML = `<p><a href="/login">Log in</a> (jane.doe@example.com / demo) · <a href="/me">/me</a></p>`

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
	r.Method(http.MethodGet, "/", demoapp.Page{Title: "Product Fruits with chi", Body: body})
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

func main() { demoenv.Main("localhost:8082", newApp) }
