package compat

import (
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/mux"
	"github.com/pfverify/productfruits"
	"github.com/stretchr/testify/require"
)

// TestRouters: the Middleware scoped to part of the app by the router, as
// users write it, and whole-router controls. Every page gets the snippet
// once, and the runtime and the endpoint answer at the URLs the page
// carries, with nothing registered for them by hand.
func TestRouters(t *testing.T) {
	page := htmlHandler(htmlPage(2048))
	tests := []struct {
		name  string
		app   func(pf *productfruits.Middleware) http.Handler
		paths []string
	}{
		{
			name: "chi/Route",
			app: func(pf *productfruits.Middleware) http.Handler {
				r := chi.NewRouter()
				r.Route("/app", func(r chi.Router) {
					r.Use(pf.Handler)
					r.Get("/", page.ServeHTTP)
					r.Get("/page", page.ServeHTTP)
				})
				return r
			},
			paths: []string{"/app/", "/app/page"},
		},
		{
			name: "chi/Mount",
			app: func(pf *productfruits.Middleware) http.Handler {
				sub := chi.NewRouter()
				sub.Use(pf.Handler)
				sub.Get("/", page.ServeHTTP)
				sub.Get("/page", page.ServeHTTP)
				r := chi.NewRouter()
				r.Mount("/app", sub)
				return r
			},
			paths: []string{"/app/", "/app/page"},
		},
		{
			name: "chi/Group",
			app: func(pf *productfruits.Middleware) http.Handler {
				r := chi.NewRouter()
				r.Group(func(r chi.Router) {
					r.Use(pf.Handler)
					r.Get("/app/page", page.ServeHTTP)
				})
				return r
			},
			paths: []string{"/app/page"},
		},
		{
			name: "chi/whole-router",
			app: func(pf *productfruits.Middleware) http.Handler {
				r := chi.NewRouter()
				r.Get("/app/page", page.ServeHTTP)
				return pf.Handler(r)
			},
			paths: []string{"/app/page"},
		},
		{
			name: "chi/Use",
			app: func(pf *productfruits.Middleware) http.Handler {
				r := chi.NewRouter()
				r.Use(pf.Handler)
				r.Get("/app/page", page.ServeHTTP)
				return r
			},
			paths: []string{"/app/page"},
		},
		{
			name: "mux/PathPrefix.Subrouter",
			app: func(pf *productfruits.Middleware) http.Handler {
				r := mux.NewRouter()
				app := r.PathPrefix("/app").Subrouter()
				app.Use(pf.Handler)
				app.Handle("/page", page)
				return r
			},
			paths: []string{"/app/page"},
		},
		{
			name: "mux/Use",
			app: func(pf *productfruits.Middleware) http.Handler {
				r := mux.NewRouter()
				r.Use(pf.Handler)
				r.Handle("/app/page", page)
				return r
			},
			paths: []string{"/app/page"},
		},
		{
			name: "mux/whole-router",
			app: func(pf *productfruits.Middleware) http.Handler {
				r := mux.NewRouter()
				r.Handle("/app/page", page)
				return pf.Handler(r)
			},
			paths: []string{"/app/page"},
		},
		{
			name: "StripPrefix",
			app: func(pf *productfruits.Middleware) http.Handler {
				m := http.NewServeMux()
				m.Handle("/page", page)
				return http.StripPrefix("/app", pf.Handler(m))
			},
			paths: []string{"/app/page"},
		},
		{
			name: "StripPrefix/chi/Route",
			app: func(pf *productfruits.Middleware) http.Handler {
				r := chi.NewRouter()
				r.Route("/sub", func(r chi.Router) {
					r.Use(pf.Handler)
					r.Get("/page", page.ServeHTTP)
				})
				return http.StripPrefix("/app", r)
			},
			paths: []string{"/app/sub/page"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pf, _ := newPF(t)
			srv := serve(t, tt.app(pf))
			for _, p := range tt.paths {
				r := get(t, srv.URL+p, req{user: testUser})
				require.Equal(t, http.StatusOK, r.resp.StatusCode, "GET %s", p)
				snippetOnce(t, r.body, testUser)
				reachable(t, r.url, r.body, testUser, "")
			}
		})
	}
}
