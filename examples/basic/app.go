package main

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"unicode/utf8"

	"github.com/gorilla/sessions"
	"github.com/pfverify/productfruits"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// variant is one of the page's three forms, which differ only in headers:
// they let a browser prove that the injected snippet survives a strict
// Content-Security-Policy and a page that declares no charset.
type variant int

const (
	plainPage     variant = iota // text/html; charset=utf-8, no CSP
	cspPage                      // script-src 'nonce-…', a fresh nonce per request
	noCharsetPage                // Content-Type: text/html, no charset anywhere
)

type pageData struct {
	Variant    variant
	Username   string // who the session says is logged in
	UserJSON   string // productfruits.FromContext, indented
	Expiration string
	Demo       bool
	Workspace  string
	Nonce      string // the CSP nonce of the page's own script, on the CSP variant
}

type app struct {
	cfg    appConfig
	login  *login
	signer *productfruits.Signer
	logger *slog.Logger
}

// newApp builds the demo's handler from cfg: the pages, login and logout
// behind the productfruits middleware and, in demo mode, the stand-in for
// the product's script with its HMAC check.
func newApp(cfg appConfig) (http.Handler, error) {
	if len(cfg.SessionKey) < 32 {
		return nil, fmt.Errorf("session key: %d bytes, need at least 32", len(cfg.SessionKey))
	}
	if cfg.Demo && cfg.ScriptURL == "" {
		return nil, errors.New("demo mode needs ScriptURL: the stand-in's absolute URL, such as http://localhost:8080" + standInPath)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	store := sessions.NewCookieStore(cfg.SessionKey)
	// No script reads the session; no other site's form logs anyone in or out.
	store.Options.HttpOnly, store.Options.SameSite = true, http.SameSiteLaxMode
	store.Options.MaxAge = 7 * 24 * 3600
	logins := &login{store: store, logger: logger}
	mw, err := productfruits.New(productfruits.Config{
		WorkspaceCode: cfg.WorkspaceCode,
		Secret:        productfruits.NewSecret(cfg.Secret),
		Language:      cfg.Language,
		TTL:           cfg.TTL,
		Username:      productfruits.SessionUsername(store, sessionName, usernameKey),
		Inject:        true,
		ScriptURL:     cfg.ScriptURL,
		Logger:        logger,
	})
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, login: logins, signer: mw.Signer(), logger: logger}

	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", a.page(plainPage))
	pages.HandleFunc("GET /csp", a.page(cspPage))
	pages.HandleFunc("GET /nocharset", a.page(noCharsetPage))
	pages.HandleFunc("POST /login", logins.logIn)
	pages.HandleFunc("POST /logout", logins.logOut)

	root := http.NewServeMux()
	root.Handle("/", mw.Handler(pages))
	if cfg.Demo {
		root.HandleFunc("GET "+standInPath, serveStandIn)
		root.HandleFunc("POST "+verifyPath, a.verify)
	}
	return root, nil
}

func (a *app) page(v variant) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		data := pageData{Variant: v, Username: a.login.user(r), Demo: a.cfg.Demo, Workspace: a.cfg.WorkspaceCode}
		if v == cspPage {
			data.Nonce = newNonce()
		}
		if u, ok := productfruits.FromContext(r.Context()); ok {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // html/template escapes it for the page
			enc.SetIndent("", "  ")
			if err := enc.Encode(u); err != nil {
				a.fail(w, r, "encoding the user object", err)
				return
			}
			data.UserJSON = buf.String()
			data.Expiration = u.HMAC.Expiration
		}
		var buf bytes.Buffer
		if err := pageTemplate.Execute(&buf, data); err != nil {
			a.fail(w, r, "rendering the page", err)
			return
		}
		h := w.Header()
		// Each page carries its own user's hash: no shared cache may keep it.
		h.Set("Cache-Control", "private, no-store")
		h.Add("Vary", "Cookie")
		body := buf.Bytes()
		switch v {
		case cspPage:
			// The middleware reads the nonce from this header.
			h.Set("Content-Security-Policy", "script-src 'nonce-"+data.Nonce+"'; object-src 'none'; base-uri 'none'")
			h.Set("Content-Type", "text/html; charset=utf-8")
		case noCharsetPage:
			h.Set("Content-Type", "text/html")
			// With no charset the browser may decode as windows-1252:
			// keep the app's own text readable as well.
			body = asciiHTML(body)
		default:
			h.Set("Content-Type", "text/html; charset=utf-8")
		}
		w.Write(body)
	}
}

func (a *app) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	a.logger.LogAttrs(r.Context(), slog.LevelError, what, slog.String("error", err.Error()), slog.String("path", r.URL.Path))
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// newNonce returns a fresh Content-Security-Policy nonce: 128 random bits.
func newNonce() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// asciiHTML replaces every non-ASCII character of an HTML page with its
// numeric character reference, which means the same character in text
// and attribute values whatever encoding the browser picks. The page has
// no script or style content of its own for this to break.
func asciiHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r < utf8.RuneSelf {
			out = append(out, b[0])
		} else {
			out = fmt.Appendf(out, "&#x%X;", r)
		}
		b = b[size:]
	}
	return out
}

// Charset reports whether the page declares its encoding in a meta tag.
func (d pageData) Charset() bool { return d.Variant != noCharsetPage }

// VariantNote says how this variant of the page differs.
func (d pageData) VariantNote() string {
	switch d.Variant {
	case cspPage:
		return "This page is served with Content-Security-Policy: script-src 'nonce-...' (no 'unsafe-inline'), a fresh nonce per request; the middleware gives the snippet's scripts that nonce."
	case noCharsetPage:
		return "This page is served as text/html with no charset in the header or the page; the snippet is pure ASCII, so the user object arrives intact."
	}
	return "This page is served as text/html; charset=utf-8."
}
