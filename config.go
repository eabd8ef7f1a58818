package productfruits

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultScriptURL is the product's loader script.
const DefaultScriptURL = "https://app.productfruits.com/static/script.js"

// DefaultIdentityPath is where the middleware serves the identity endpoint
// unless Config.IdentityPath says otherwise.
const DefaultIdentityPath = "/productfruits/identity"

// defaultLanguage is the language passed to init when Config.Language is
// empty.
const defaultLanguage = "en"

// ErrConfig is wrapped by every error New returns; the message names the
// offending Config field.
var ErrConfig = errors.New("productfruits: invalid config")

// Config configures a Middleware. Only WorkspaceCode, Secret and Username
// are required. Printing a Config (any fmt verb, slog, JSON, or inside
// another struct) never reveals the secret: see Secret.
type Config struct {
	// WorkspaceCode is the Product Fruits workspace code: letters, digits,
	// '-' and '_'. Required.
	WorkspaceCode string

	// Language is the two-letter language code passed to init.
	// Default: "en".
	Language string

	// LanguageFunc, if set, returns the two-letter language code for a
	// request, for apps whose users choose their language: it is called
	// once for each snippet a request renders and by the identity
	// endpoint, which names the language in its Content-Language header
	// so that a page whose renewal brings another user inits the product
	// in that user's language. "" means Language; anything that is not a
	// two-letter code is logged once and replaced by Language. Default:
	// nil, every request gets Language.
	LanguageFunc func(*http.Request) string

	// Secret is the workspace's "Encryption key", from NewSecret. Keep it
	// on the server. Required.
	Secret Secret

	// TTL is how long each HMAC stays valid; every request gets a fresh
	// expiration of now+TTL. Default: 0, no expiration.
	TTL time.Duration

	// Username returns the logged-in user's username for a request, or ""
	// for an anonymous request. An error is logged and the request passes
	// through as anonymous. See ContextUsername and SessionUsername.
	// Required.
	Username func(*http.Request) (string, error)

	// Profile, if set, fills the other user fields (email, names, role,
	// props, group) for a resolved username. Its Username and HMAC fields
	// are ignored. An error is logged and the request passes through as
	// anonymous. Default: nil, the user object holds the username only.
	Profile func(r *http.Request, username string) (User, error)

	// Inject makes the middleware add the product's loader and init call
	// to the HTML pages the wrapped handler writes. Default: false; the
	// user object is only placed in the request context.
	Inject bool

	// Options are the product's init options, passed as the init call's
	// fifth element when at least one is set. Default: none set, and init
	// gets four elements.
	Options InitOptions

	// Skip, if set, reports requests the middleware leaves alone (admin
	// pages, APIs, health checks): for them it resolves and signs nobody,
	// puts nothing in the request context (FromContext reports no user,
	// TemplateScript and Script render nothing) and injects nothing. It
	// is asked about the requests Handler passes to the wrapped handler,
	// never about the identity endpoint, which keeps answering so that
	// pages elsewhere can renew. Default: nil, nothing is skipped.
	Skip func(*http.Request) bool

	// ScriptURL is the product's loader script, an absolute http(s) URL.
	// Default: DefaultScriptURL.
	ScriptURL string

	// NoPreload leaves the loader's preload out of logged-in pages. The
	// preload starts the loader's fetch as soon as the browser sees the
	// snippet, so the product is ready sooner on a first visit; on a slow
	// link the loader's bytes then share it with the page's stylesheets,
	// and the page paints later (docs/PERFORMANCE.md). Default: false,
	// the preload is there.
	NoPreload bool

	// Nonce, if set, returns the Content-Security-Policy nonce for the
	// request's script elements. Default: nil, the nonce is taken from the
	// response's own Content-Security-Policy header (script-src, else
	// default-src), if it has one.
	Nonce func(*http.Request) string

	// IdentityPath is the URL path, as the wrapped handler sees it, where
	// Handler serves the identity endpoint that renews the user object: a
	// clean absolute path (no "//" start, query, fragment or dot
	// segments). Default: DefaultIdentityPath; "-" switches the endpoint
	// off (mount IdentityHandler yourself and set IdentityURL).
	IdentityPath string

	// IdentityURL is the path the browser fetches the identity endpoint
	// at, on the page's own origin, for deployments where only the app
	// knows it: a proxy that maps paths, or an endpoint mounted by hand.
	// A clean absolute path. Default: IdentityPath under the prefix that
	// was stripped from the request before the middleware saw it (as by
	// http.StripPrefix), worked out per request from RequestURI.
	IdentityURL string

	// Logger receives resolver, profile, signing and LanguageFunc errors,
	// never the secret or a hash. Default: slog.Default().
	Logger *slog.Logger

	// Now is the clock, for tests. Default: time.Now.
	Now func() time.Time
}

// settings is a validated Config with every default filled in: what New
// builds a Middleware from.
type settings struct {
	workspace    string
	language     string // lower case
	ttl          time.Duration
	scriptURL    string
	scriptAttr   string // scriptURL escaped for an HTML attribute
	noPreload    bool
	identityPath string // "" when the endpoint is switched off
	identityURL  string // "" to derive it per request
	options      []byte // Options as the JSON object init takes; nil when none is set
	logger       *slog.Logger
	now          func() time.Time
}

// InitOptions are the product's documented init options, the fifth
// element of the init call. Each is off unless set; the product receives
// a JSON object of the options that are set, under the product's own names
// (disableLocationChangeDetection, disableBannersAutoMargin,
// hideInAppCenterLauncher, hideElvinLauncher).
type InitOptions struct {
	// DisableLocationChangeDetection stops the product from watching the
	// page's URL for changes (for apps that tell it about navigation
	// themselves).
	DisableLocationChangeDetection bool `json:"disableLocationChangeDetection,omitempty"`
	// DisableBannersAutoMargin stops the product from adding a margin to
	// the page for its banners.
	DisableBannersAutoMargin bool `json:"disableBannersAutoMargin,omitempty"`
	// HideInAppCenterLauncher hides the product's in-app center launcher.
	HideInAppCenterLauncher bool `json:"hideInAppCenterLauncher,omitempty"`
	// HideElvinLauncher hides the product's Elvin launcher.
	HideElvinLauncher bool `json:"hideElvinLauncher,omitempty"`
}

// validate checks every field of c once and returns the settings it
// describes, or an error wrapping ErrConfig that names the field at fault.
func (c Config) validate() (settings, error) {
	bad := func(field, why string) error { return fmt.Errorf("%w: %s %s", ErrConfig, field, why) }
	s := settings{
		workspace: c.WorkspaceCode, language: c.Language, ttl: c.TTL, scriptURL: c.ScriptURL, noPreload: c.NoPreload,
		identityPath: c.IdentityPath, identityURL: c.IdentityURL, logger: c.Logger, now: c.Now,
	}
	if s.workspace == "" {
		return s, bad("WorkspaceCode", "is empty")
	}
	if !validWorkspaceCode(s.workspace) {
		return s, bad("WorkspaceCode", "may hold only letters, digits, '-' and '_'")
	}
	if c.Secret.value() == "" {
		return s, bad("Secret", "is empty")
	}
	if secret := c.Secret.value(); strings.TrimSpace(secret) != secret {
		// A trailing newline from a secrets file or an env file: every
		// HMAC would be wrong. The value itself is never printed.
		return s, bad("Secret", "has leading or trailing whitespace (a newline from a file?); "+
			"the workspace's key has none: trim it where you read it")
	}
	if s.language == "" {
		s.language = defaultLanguage
	}
	if !validLanguage(s.language) {
		return s, bad("Language", fmt.Sprintf("%q is not a two-letter language code such as \"en\"", s.language))
	}
	s.language = strings.ToLower(s.language)
	if c.Username == nil {
		return s, bad("Username", "is nil; use ContextUsername, SessionUsername or a function of your own")
	}
	if s.ttl < 0 {
		return s, bad("TTL", "is negative")
	}
	if s.ttl > 0 && s.ttl < time.Millisecond {
		return s, bad("TTL", "is below the expiration's millisecond precision")
	}
	if s.scriptURL == "" {
		s.scriptURL = DefaultScriptURL
	}
	if u, err := url.Parse(s.scriptURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return s, bad("ScriptURL", "is not an absolute http(s) URL")
	}
	s.scriptAttr = html.EscapeString(s.scriptURL)
	switch {
	case s.identityPath == "":
		s.identityPath = DefaultIdentityPath
	case s.identityPath == "-":
		s.identityPath = ""
	default:
		if why := pathProblem(s.identityPath); why != "" {
			return s, bad("IdentityPath", why+" (or \"-\" to switch the endpoint off)")
		}
	}
	if s.identityURL != "" {
		if why := pathProblem(s.identityURL); why != "" {
			return s, bad("IdentityURL", why)
		}
	}
	if s.ttl > 0 && s.identityPath == "" && s.identityURL == "" {
		return s, bad("TTL", "needs the identity endpoint to renew expiring HMACs, but IdentityPath is \"-\": "+
			"set IdentityURL to where you mount IdentityHandler")
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if c.Options != (InitOptions{}) {
		// Only the set options, under the names the product reads: a
		// struct of bools always encodes.
		s.options, _ = json.Marshal(c.Options)
	}
	return s, nil
}

// pathProblem says why p is not a clean absolute URL path that a script
// can fetch on its page's origin, or returns "".
func pathProblem(p string) string {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Sprintf("%q must be an absolute path starting with '/'", p)
	case strings.HasPrefix(p, "//"):
		return fmt.Sprintf("%q starts with \"//\", which a browser reads as another host", p)
	case strings.Contains(p, "//"):
		return fmt.Sprintf("%q holds an empty segment", p)
	case strings.ContainsAny(p, "?#"):
		return fmt.Sprintf("%q must not hold a query or fragment", p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			return fmt.Sprintf("%q must not hold dot segments", p)
		}
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return fmt.Sprintf("%q holds a space, control character or backslash", p)
		}
	}
	return ""
}

func validWorkspaceCode(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validLanguage(s string) bool {
	if len(s) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// redacted is what the secret prints as.
const redacted = "REDACTED"

// redactedConfig is the shape Config prints as: everything but the secret
// and the functions.
type redactedConfig struct {
	WorkspaceCode string
	Language      string
	Secret        string
	TTL           time.Duration
	Inject        bool
	Options       InitOptions
	ScriptURL     string
	NoPreload     bool
	IdentityPath  string
	IdentityURL   string
}

func (c Config) redacted() redactedConfig {
	return redactedConfig{c.WorkspaceCode, c.Language, c.Secret.String(), c.TTL, c.Inject, c.Options, c.ScriptURL, c.NoPreload, c.IdentityPath, c.IdentityURL}
}

// Format implements fmt.Formatter so that no verb prints the secret.
func (c Config) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "productfruits.Config%+v", c.redacted())
}

// String describes the Config without the secret.
func (c Config) String() string { return fmt.Sprint(c) }

// GoString describes the Config without the secret.
func (c Config) GoString() string { return fmt.Sprint(c) }

// LogValue implements slog.LogValuer so that a logged Config carries no secret.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON encodes the Config without the secret.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.redacted()) }
