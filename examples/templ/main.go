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
	"net/http"

	"github.com/a-h/templ"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/demoapp"
	"github.com/pfverify/productfruits/examples/internal/demoenv"
)

func newApp(workspaceCode, secret string) (http.Handler, error) {
	sessions := demoapp.NewSessions()
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username:      sessions.Username(),
		Inject:        true,
		Nonce:         func(r *http.Request) string { return templ.GetNonce(r.Context()) },
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /{$}", templ.Handler(injectedPage()))
	mux.Handle("GET /placed", templ.Handler(placedPage()))
	mux.HandleFunc("POST /login", sessions.Login)
	mux.HandleFunc("POST /logout", sessions.Logout)
	// The nonce first, so that the middleware's Config.Nonce finds it.
	return withNonce(pf.Handler(mux)), nil
}

func main() { demoenv.Main("localhost:8088", newApp) }
