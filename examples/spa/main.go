// Command spa shows identity verification in a single-page app whose
// static files hold no user data: app.js fetches the signed user object
// from the middleware's identity endpoint (GET /productfruits/identity),
// the workspace code from /config.json, and calls productFruits.init
// itself. The HMACs expire after an hour and app.js renews them. The demo
// login takes any username, no password, and keeps it in a gorilla/sessions
// cookie.
package main

import (
	"embed"
	"encoding/json"
	"net/http"
	"time"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/demoapp"
	"github.com/pfverify/productfruits/examples/internal/demoenv"
)

//go:embed index.html app.js
var static embed.FS

const ttl = time.Hour

func newApp(workspaceCode, secret string) (http.Handler, error) {
	sessions := demoapp.NewSessions()
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username:      sessions.Username(),
		TTL:           ttl,
	})
	if err != nil {
		return nil, err
	}
	config, err := json.Marshal(map[string]any{
		"workspaceCode": workspaceCode,
		"language":      "en",
		"renewAfterMs":  (ttl * 4 / 5).Milliseconds(),
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(static))
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(config)
	})
	mux.HandleFunc("POST /login", sessions.Login)
	mux.HandleFunc("POST /logout", sessions.Logout)
	return pf.Handler(mux), nil // the middleware serves the identity endpoint
}

func main() { demoenv.Main("localhost:8085", newApp) }
