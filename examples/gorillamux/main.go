// Command gorillamux shows the middleware on a gorilla/mux router, added
// with r.Use like any mux.MiddlewareFunc, reading the user from a
// gorilla/sessions session with productfruits.SessionUsername. Its HMACs
// expire after an hour; the snippet renews them through the identity
// endpoint, which needs a route of its own under mux, as does the page
// lifecycle runtime the snippet loads. The demo login takes
// any username, no password.
package main

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/demoapp"
	"github.com/pfverify/productfruits/examples/internal/demoenv"
)

func newApp(workspaceCode, secret string) (http.Handler, error) {
	sessions := demoapp.NewSessions()
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username:      productfruits.SessionUsername(sessions.Store, demoapp.DefaultSessionName, demoapp.UsernameKey),
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
	r.Handle("/", demoapp.Page{Title: "Product Fruits with gorilla/mux"}).Methods(http.MethodGet)
	r.HandleFunc("/login", sessions.Login).Methods(http.MethodPost)
	r.HandleFunc("/logout", sessions.Logout).Methods(http.MethodPost)
	return r, nil
}

func main() { demoenv.Main("localhost:8083", newApp) }
