// Command templates shows identity verification in html/template pages that
// place the snippet themselves, with Config.Inject left off: the page's
// template (internal/demoapp/page.html) has {{.ProductFruits}} in its
// <head>, and the handler fills it from productfruits.TemplateScript(r).
// The demo login takes any username, no password, and keeps it in a
// gorilla/sessions cookie.
package main

import (
	"net/http"

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
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		// TemplateScript is "" for an anonymous visitor, and the page then
		// carries no snippet.
		demoapp.Render(w, r, demoapp.Page{
			Title:         "Product Fruits with html/template",
			ProductFruits: productfruits.TemplateScript(r),
		})
	})
	mux.HandleFunc("POST /login", sessions.Login)
	mux.HandleFunc("POST /logout", sessions.Logout)
	return pf.Handler(mux), nil
}

func main() { demoenv.Main("localhost:8081", newApp) }
