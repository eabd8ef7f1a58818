// Package demoenv reads the settings the examples share from the
// environment, with demo fallbacks so that each example runs as is, and
// serves an example with them (Main).
package demoenv

import (
	"log/slog"
	"net/http"
	"os"
	"time"
)

// Credentials reads the workspace code and secret from
// PRODUCTFRUITS_WORKSPACE_CODE and PRODUCTFRUITS_SECRET. When either is
// unset it falls back to demo values that the product itself will reject,
// and logs one warning, which names the workspace but never the secret.
func Credentials() (workspaceCode, secret string) {
	workspaceCode, secret = os.Getenv("PRODUCTFRUITS_WORKSPACE_CODE"), os.Getenv("PRODUCTFRUITS_SECRET")
	if workspaceCode == "" || secret == "" {
		workspaceCode, secret = "demo-workspace", "demo-secret"
		slog.Warn("PRODUCTFRUITS_WORKSPACE_CODE or PRODUCTFRUITS_SECRET unset: using a demo workspace the product will not load",
			"workspace", workspaceCode)
	}
	return workspaceCode, secret
}

// Getenv returns the value of the environment variable key, or fallback
// when it is unset or empty.
func Getenv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// ListenAndServe serves h over plain HTTP on addr, logging the URL it
// listens on; when the server stops it logs why and exits the process
// with status 1.
func ListenAndServe(addr string, h http.Handler) {
	slog.Info("listening", "url", "http://"+addr)
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	slog.Error("server stopped", "error", srv.ListenAndServe())
	os.Exit(1)
}

// Main is the whole main function of an example: it builds the app with
// newApp from Credentials and serves it on $ADDR, or on defaultAddr when
// ADDR is unset. When newApp fails it logs why and exits the process with
// status 1.
func Main[H http.Handler](defaultAddr string, newApp func(workspaceCode, secret string) (H, error)) {
	app, err := newApp(Credentials())
	if err != nil {
		slog.Error("configuring the app", "error", err)
		os.Exit(1)
	}
	ListenAndServe(Getenv("ADDR", defaultAddr), app)
}

// Run is Main for an app that is not an http.Handler and serves itself,
// such as a Fiber app on fasthttp: it builds the app with newApp from
// Credentials and calls serve with it and $ADDR, or defaultAddr when ADDR
// is unset. When either fails it logs why and exits the process with
// status 1.
func Run[A any](defaultAddr string, newApp func(workspaceCode, secret string) (A, error), serve func(app A, addr string) error) {
	app, err := newApp(Credentials())
	if err != nil {
		slog.Error("configuring the app", "error", err)
		os.Exit(1)
	}
	addr := Getenv("ADDR", defaultAddr)
	slog.Info("listening", "url", "http://"+addr)
	slog.Error("server stopped", "error", serve(app, addr))
	os.Exit(1)
}
