package productfruits

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// DefaultScriptURL is the product's loader script.
const DefaultScriptURL = "https://app.productfruits.com/static/script.js"

// DefaultIdentityPath is where the middleware serves the identity endpoint
// unless Config.IdentityPath says otherwise.
const DefaultIdentityPath = "/productfruits/identity"

// ErrConfig is wrapped by every error New returns; the message names the
// offending Config field.
var ErrConfig = errors.New("productfruits: invalid config")

// Config configures a Middleware. Only WorkspaceCode, Secret and Username
// are required. Printing a Config (any fmt verb, slog, JSON) never reveals
// the secret.
type Config struct {
	// WorkspaceCode is the Product Fruits workspace code: letters, digits,
	// '-' and '_'. Required.
	WorkspaceCode string

	// Language is the two-letter language code passed to init.
	// Default: "en".
	Language string

	// Secret is the workspace's "Encryption key". Keep it on the server.
	// Required.
	Secret string

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

	// ScriptURL is the product's loader script, an absolute http(s) URL.
	// Default: DefaultScriptURL.
	ScriptURL string

	// Nonce, if set, returns the Content-Security-Policy nonce for the
	// request's script elements. Default: nil, the nonce is taken from the
	// response's own Content-Security-Policy header (script-src, else
	// default-src), if it has one.
	Nonce func(*http.Request) string

	// IdentityPath is the URL path of the identity endpoint that renews
	// the user object. Default: DefaultIdentityPath; "-" switches the
	// endpoint off.
	IdentityPath string

	// Logger receives resolver, profile and signing errors, never the
	// secret or a hash. Default: slog.Default().
	Logger *slog.Logger

	// Now is the clock, for tests. Default: time.Now.
	Now func() time.Time
}

const redacted = "REDACTED"

// redactedCopy is the shape Config prints as: everything but the secret.
type redactedCopy struct {
	WorkspaceCode string
	Language      string
	Secret        string
	TTL           time.Duration
	Inject        bool
	ScriptURL     string
	IdentityPath  string
}

func (c Config) redacted() redactedCopy {
	s := ""
	if c.Secret != "" {
		s = redacted
	}
	return redactedCopy{c.WorkspaceCode, c.Language, s, c.TTL, c.Inject, c.ScriptURL, c.IdentityPath}
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

// Middleware signs the logged-in user of each request and makes the user
// object available to handlers, pages and the browser. Create it with New;
// it is safe for concurrent use.
type Middleware struct {
	signer       *Signer
	workspace    string
	language     string
	ttl          time.Duration
	username     func(*http.Request) (string, error)
	profile      func(*http.Request, string) (User, error)
	inject       bool
	scriptURL    string
	scriptAttr   string // scriptURL escaped for an HTML attribute
	nonce        func(*http.Request) string
	identityPath string
	logger       *slog.Logger
	now          func() time.Time
	initPrefix   []byte // the inline script up to the user object
	renewal      []byte // the renewal script, nil without TTL or endpoint
}

// Format implements fmt.Formatter so that no verb prints the secret.
func (m *Middleware) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "productfruits.Middleware{workspace:%q secret:%s}", m.workspace, redacted)
}

// String describes the Middleware without the secret.
func (m *Middleware) String() string { return fmt.Sprint(m) }

// GoString describes the Middleware without the secret.
func (m *Middleware) GoString() string { return fmt.Sprint(m) }

// New validates cfg and returns a Middleware. Every error wraps ErrConfig
// and names the offending field.
func New(cfg Config) (*Middleware, error) {
	bad := func(field, why string) error { return fmt.Errorf("%w: %s %s", ErrConfig, field, why) }
	if cfg.WorkspaceCode == "" {
		return nil, bad("WorkspaceCode", "is empty")
	}
	if !validWorkspaceCode(cfg.WorkspaceCode) {
		return nil, bad("WorkspaceCode", "may hold only letters, digits, '-' and '_'")
	}
	if cfg.Secret == "" {
		return nil, bad("Secret", "is empty")
	}
	lang := cfg.Language
	if lang == "" {
		lang = "en"
	}
	if !validLanguage(lang) {
		return nil, bad("Language", fmt.Sprintf("%q is not a two-letter language code such as \"en\"", lang))
	}
	if cfg.Username == nil {
		return nil, bad("Username", "is nil; use ContextUsername, SessionUsername or a function of your own")
	}
	if cfg.TTL < 0 {
		return nil, bad("TTL", "is negative")
	}
	if cfg.TTL > 0 && cfg.TTL < time.Millisecond {
		return nil, bad("TTL", "is below the expiration's millisecond precision")
	}
	scriptURL := cfg.ScriptURL
	if scriptURL == "" {
		scriptURL = DefaultScriptURL
	}
	if u, err := url.Parse(scriptURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, bad("ScriptURL", "is not an absolute http(s) URL")
	}
	idPath := cfg.IdentityPath
	switch {
	case idPath == "":
		idPath = DefaultIdentityPath
	case idPath == "-":
		idPath = ""
	case !strings.HasPrefix(idPath, "/"):
		return nil, bad("IdentityPath", "must start with '/' (or be \"-\" to switch the endpoint off)")
	}
	signer, err := NewSigner(cfg.Secret)
	if err != nil {
		return nil, bad("Secret", "is empty")
	}
	m := &Middleware{
		signer:       signer,
		workspace:    cfg.WorkspaceCode,
		language:     strings.ToLower(lang),
		ttl:          cfg.TTL,
		username:     cfg.Username,
		profile:      cfg.Profile,
		inject:       cfg.Inject,
		scriptURL:    scriptURL,
		scriptAttr:   html.EscapeString(scriptURL),
		nonce:        cfg.Nonce,
		identityPath: idPath,
		logger:       cfg.Logger,
		now:          cfg.Now,
	}
	if m.logger == nil {
		m.logger = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.initPrefix = m.buildInitPrefix()
	m.renewal = m.buildRenewal()
	return m, nil
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

// Signer returns the Middleware's Signer, for verifying or signing
// outside a request.
func (m *Middleware) Signer() *Signer { return m.signer }

// ctxKey is the private context key of the per-request state.
type ctxKey struct{}

// requestState is the one context value the middleware adds per request.
type requestState struct {
	user     User
	hmac     HMAC
	claimed  atomic.Bool
	header   http.Header // response header of the writer the middleware saw
	m        *Middleware
	userJSON []byte // the user object, encoded early when it has props or a group
}

// claim reports whether the caller is the first to emit the snippet for
// this request, so a page never carries two.
func (st *requestState) claim() bool { return st.claimed.CompareAndSwap(false, true) }

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(ctxKey{}).(*requestState)
	return st
}

// FromContext returns the signed user object of the request whose context
// is ctx, and whether the middleware resolved a user for it.
func FromContext(ctx context.Context) (User, bool) {
	st := stateFrom(ctx)
	if st == nil {
		return User{}, false
	}
	u := st.user
	h := st.hmac
	u.HMAC = &h // a copy, so a handler cannot alter the page's hash
	return u, true
}

// Handler returns next wrapped by the middleware: it serves the identity
// endpoint, resolves and signs the user, puts the user object in the
// request context and, with Config.Inject, injects the snippet into HTML
// pages. Anonymous requests and requests whose user cannot be resolved or
// signed pass through untouched.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.identityPath != "" && r.URL.Path == m.identityPath {
			m.serveIdentity(w, r)
			return
		}
		if stateFrom(r.Context()) != nil {
			// An outer middleware already resolved, signed and, if asked,
			// injects: a second copy would only duplicate the snippet.
			next.ServeHTTP(w, r)
			return
		}
		st := m.resolve(r)
		if st == nil {
			next.ServeHTTP(w, r)
			return
		}
		st.header = w.Header()
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
		if m.inject && injectableRequest(r) {
			m.serveInjected(w, r, st, next)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// resolve returns the signed state of r's user, or nil when the request is
// anonymous or its user cannot be resolved or signed (which is logged).
func (m *Middleware) resolve(r *http.Request) *requestState {
	name, err := m.username(r)
	if err != nil {
		m.logger.LogAttrs(r.Context(), slog.LevelWarn, "productfruits: username resolver failed; serving the request as anonymous",
			slog.String("error", err.Error()), slog.String("path", r.URL.Path))
		return nil
	}
	if name == "" {
		return nil
	}
	return m.signUser(r, name)
}

func (m *Middleware) signUser(r *http.Request, name string) *requestState {
	st := &requestState{m: m}
	if m.profile != nil {
		u, err := m.profile(r, name)
		if err != nil {
			m.logger.LogAttrs(r.Context(), slog.LevelWarn, "productfruits: profile hook failed; serving the request as anonymous",
				slog.String("error", err.Error()), slog.String("path", r.URL.Path))
			return nil
		}
		st.user = u
	}
	st.user.Username = name
	var exp time.Time
	if m.ttl > 0 {
		exp = m.now().Add(m.ttl)
	}
	h, err := m.signer.Sign(name, exp)
	if err != nil {
		m.logger.LogAttrs(r.Context(), slog.LevelWarn, "productfruits: cannot sign username; serving the request as anonymous",
			slog.String("error", err.Error()), slog.String("path", r.URL.Path))
		return nil
	}
	st.hmac = h
	st.user.HMAC = &st.hmac
	if m.inject && (len(st.user.Props) > 0 || st.user.Group != nil) {
		// Only props and group go through encoding/json and can fail:
		// encoding them now turns unencodable values into a logged
		// anonymous request rather than a page that fails half way. The
		// other fields cannot fail and are encoded straight into the
		// snippet.
		b, err := appendUserJSON(nil, &st.user)
		if err != nil {
			m.logger.LogAttrs(r.Context(), slog.LevelWarn, "productfruits: cannot encode the user object; serving the request as anonymous",
				slog.String("error", err.Error()), slog.String("path", r.URL.Path))
			return nil
		}
		st.userJSON = b
	}
	return st
}

// ContextUsername returns a Config.Username resolver for apps whose own
// authentication middleware stores the username in the request context
// under key, as a string or as a fmt.Stringer.
func ContextUsername(key any) func(*http.Request) (string, error) {
	return func(r *http.Request) (string, error) {
		switch v := r.Context().Value(key).(type) {
		case nil:
			return "", nil
		case string:
			return v, nil
		case fmt.Stringer:
			return v.String(), nil
		default:
			return "", fmt.Errorf("productfruits: context value for username is a %T, not a string", v)
		}
	}
}

// SessionUsername returns a Config.Username resolver that reads the
// username from the gorilla/sessions session sessionName in store, under
// key. A missing, expired or tampered session is anonymous, not an error,
// so a bad cookie never turns into an error page.
func SessionUsername(store sessions.Store, sessionName, key string) func(*http.Request) (string, error) {
	return func(r *http.Request) (string, error) {
		sess, err := store.Get(r, sessionName)
		var codecErr securecookie.Error
		if errors.As(err, &codecErr) && codecErr.IsDecode() {
			// A tampered, expired or foreign cookie: that visitor is
			// simply not logged in.
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("productfruits: session store: %w", err)
		}
		if sess == nil {
			return "", nil
		}
		switch v := sess.Values[key].(type) {
		case nil:
			return "", nil
		case string:
			return v, nil
		default:
			return "", fmt.Errorf("productfruits: session value %q is a %T, not a string", key, v)
		}
	}
}
