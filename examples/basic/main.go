// Command basic is the productfruits library's demo: a net/http app with a
// login form, a gorilla/sessions cookie session and a server-rendered page,
// wrapped by the middleware with Inject on, so every page of a logged-in
// user carries the Product Fruits loader and a signed user object.
//
//	cd examples && go run ./basic
//
// then open http://localhost:8080. It is configured by the environment:
//
//	ADDR                          listen address (default localhost:8080)
//	PRODUCTFRUITS_WORKSPACE_CODE  workspace code  } both, or neither for
//	PRODUCTFRUITS_SECRET          "Encryption key" } the built-in demo values
//	PRODUCTFRUITS_LANGUAGE        two-letter language code (default en)
//	PRODUCTFRUITS_TTL             HMAC lifetime as a Go duration, such as 1h
//	                              (default: the HMAC does not expire)
//	PRODUCTFRUITS_SCRIPT_URL      the product's loader (default: the real
//	                              one; in demo mode a local stand-in)
//	SESSION_KEY                   session cookie signing key, 32 bytes or
//	                              more (default: random at each start, so a
//	                              restart logs everyone out)
//
// With no workspace code and secret it runs on demo values, and since the
// real product cannot load for a demo workspace, the page loads a stand-in
// served by the app (/demo/productfruits.js) that checks the HMAC the way
// the product would and says so on the page.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Demo values, used only when neither PRODUCTFRUITS_WORKSPACE_CODE nor
// PRODUCTFRUITS_SECRET is set.
const (
	demoWorkspaceCode = "demo-workspace"
	demoSecret        = "demo-secret-not-for-production"
)

// standInPath is where the demo serves its stand-in for the product's
// loader script.
const standInPath = "/demo/productfruits.js"

// appConfig is everything newApp needs. Printing it never shows the
// secret or the session key.
type appConfig struct {
	Addr          string
	WorkspaceCode string
	Secret        string
	Language      string
	TTL           time.Duration
	// ScriptURL is the product's loader; empty means the library's
	// default. In demo mode main sets it to the stand-in once the listen
	// address is known.
	ScriptURL  string
	SessionKey []byte
	// Demo is true when the built-in demo values are in use: the app then
	// serves the stand-in and its HMAC check.
	Demo   bool
	Logger *slog.Logger
}

// LogValue keeps the secret and the session key out of logs.
func (c appConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("workspace_code", c.WorkspaceCode),
		slog.String("language", c.Language),
		slog.Duration("ttl", c.TTL),
		slog.String("script_url", c.ScriptURL),
		slog.Bool("demo", c.Demo),
	)
}

// String describes the config without the secret or the session key.
func (c appConfig) String() string { return c.LogValue().String() }

// configFromEnv reads the app's configuration through getenv (os.Getenv in
// main). With neither workspace code nor secret set, it picks the demo
// values and logs one warning saying so; it never logs the secret.
func configFromEnv(getenv func(string) string, logger *slog.Logger) (appConfig, error) {
	if logger == nil {
		logger = slog.Default()
	}
	cfg := appConfig{
		Addr:          getenv("ADDR"),
		WorkspaceCode: getenv("PRODUCTFRUITS_WORKSPACE_CODE"),
		Secret:        getenv("PRODUCTFRUITS_SECRET"),
		Language:      getenv("PRODUCTFRUITS_LANGUAGE"),
		ScriptURL:     getenv("PRODUCTFRUITS_SCRIPT_URL"),
		Logger:        logger,
	}
	if cfg.Addr == "" {
		cfg.Addr = "localhost:8080"
	}
	switch {
	case cfg.WorkspaceCode == "" && cfg.Secret == "":
		cfg.WorkspaceCode, cfg.Secret, cfg.Demo = demoWorkspaceCode, demoSecret, true
	case cfg.WorkspaceCode == "":
		// A real secret with a demo workspace (or the reverse) would sign
		// hashes that verify nowhere: refuse rather than guess.
		return appConfig{}, errors.New("PRODUCTFRUITS_SECRET is set but PRODUCTFRUITS_WORKSPACE_CODE is not: set both, or neither for the demo values")
	case cfg.Secret == "":
		return appConfig{}, errors.New("PRODUCTFRUITS_WORKSPACE_CODE is set but PRODUCTFRUITS_SECRET is not: set both, or neither for the demo values")
	}
	if s := getenv("PRODUCTFRUITS_TTL"); s != "" {
		ttl, err := time.ParseDuration(s)
		if err != nil {
			return appConfig{}, fmt.Errorf("PRODUCTFRUITS_TTL: %q is not a Go duration such as 30m or 1h", s)
		}
		if ttl <= 0 {
			return appConfig{}, fmt.Errorf("PRODUCTFRUITS_TTL: %q is not positive; leave it unset for an HMAC that does not expire", s)
		}
		cfg.TTL = ttl
	}
	if k := getenv("SESSION_KEY"); k != "" {
		if len(k) < 32 {
			return appConfig{}, fmt.Errorf("SESSION_KEY: %d bytes, need at least 32", len(k))
		}
		cfg.SessionKey = []byte(k)
	} else {
		cfg.SessionKey = make([]byte, 32)
		rand.Read(cfg.SessionKey)
		logger.Info("SESSION_KEY is not set: using a random session key, so a restart logs everyone out")
	}
	if cfg.Demo {
		logger.Warn("PRODUCTFRUITS_WORKSPACE_CODE and PRODUCTFRUITS_SECRET are not set: running on built-in DEMO values, "+
			"with a local stand-in for the Product Fruits script; set both for a real workspace",
			slog.String("workspace_code", cfg.WorkspaceCode))
	}
	return cfg, nil
}

// baseURL is the app's address for a browser, when it was asked to listen
// on addr and listens on ln: addr's host name is kept (localhost stays
// localhost), an unspecified one becomes localhost, and the port is the
// one actually bound.
func baseURL(addr string, ln net.Addr) string {
	host, _, _ := net.SplitHostPort(addr)
	_, port, _ := net.SplitHostPort(ln.String())
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error(err.Error())
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	cfg, err := configFromEnv(os.Getenv, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	base := baseURL(cfg.Addr, ln.Addr())
	if cfg.Demo && cfg.ScriptURL == "" {
		cfg.ScriptURL = base + standInPath
	}
	h, err := newApp(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	logger.Info("listening", slog.String("url", base+"/"), slog.Any("config", cfg))
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
