package productfruits

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Middleware signs the logged-in user of each request and makes the user
// object available to handlers, pages and the browser. Create it with New;
// it is safe for concurrent use.
type Middleware struct {
	settings
	signer       *Signer
	username     func(*http.Request) (string, error)
	profile      func(*http.Request, string) (User, error)
	nonce        func(*http.Request) string
	languageFunc func(*http.Request) string
	skip         func(*http.Request) bool
	inject       bool
	initPrefix   []byte // the inline script up to the user object
	// initHead and initTail surround the language in initPrefix, for
	// requests whose LanguageFunc chose another one.
	initHead, initTail []byte
	ttlJSON            []byte // `,"ttl":…` of the page data; nil without TTL
	runtime            runtimeAsset

	warned    atomic.Uint32 // the causes warned about (warnOnce), a bit each
	languages badLanguages  // the invalid LanguageFunc values logged so far
	reach     reachability  // whether the runtime's own URL reaches this Middleware (reach.go)
}

// cause is a reason the product would not load on some page, which the
// middleware cannot fix and says once (warnOnce).
type cause uint8

const (
	causeInnerCompression cause = iota // a page compressed by a layer inside the middleware
	causeLookAhead                     // a head longer than the look-ahead, with no point known to be in it
	causePolicyBlocks                  // a Content-Security-Policy that blocks the snippet's scripts
	causeFlushedMeta                   // a <meta> policy flushed before the middleware could read it
)

// warnOnce logs msg at WARN the first time c happens to this Middleware,
// and never again: a wiring problem shows on every request, and one line
// naming the cause and the fix is what a developer needs.
func (m *Middleware) warnOnce(r *http.Request, c cause, msg string, attrs ...slog.Attr) {
	bit := uint32(1) << c
	for {
		old := m.warned.Load()
		if old&bit != 0 {
			return
		}
		if m.warned.CompareAndSwap(old, old|bit) {
			break
		}
	}
	attrs = append(attrs, slog.String("path", r.URL.Path))
	m.logger.LogAttrs(r.Context(), slog.LevelWarn, "productfruits: "+msg, attrs...)
}

// maxBadLanguages bounds how many distinct invalid LanguageFunc values are
// remembered (and each logged once); past it one more line says so.
const maxBadLanguages = 32

// badLanguages remembers the invalid LanguageFunc values already logged.
type badLanguages struct {
	mu   sync.Mutex
	seen map[string]struct{}
	full bool
}

// first reports whether l is an invalid value not logged before, and
// whether the memory for them just ran full.
func (b *badLanguages) first(l string) (first, full bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.seen[l]; ok || b.full {
		return false, false
	}
	if len(b.seen) == maxBadLanguages {
		b.full = true
		return false, true
	}
	if b.seen == nil {
		b.seen = make(map[string]struct{})
	}
	b.seen[l] = struct{}{}
	return true, false
}

// New validates cfg and returns a Middleware. Every error wraps ErrConfig
// and names the offending field.
func New(cfg Config) (*Middleware, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	m := &Middleware{
		settings:     s,
		signer:       newSigner(cfg.Secret.value()),
		username:     cfg.Username,
		profile:      cfg.Profile,
		nonce:        cfg.Nonce,
		languageFunc: cfg.LanguageFunc,
		skip:         cfg.Skip,
		inject:       cfg.Inject,
	}
	m.buildInitPrefix()
	m.buildRenewal()
	m.buildRuntime()
	return m, nil
}

// Format implements fmt.Formatter so that no verb prints the secret.
func (m *Middleware) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "productfruits.Middleware{workspace:%q secret:%s}", m.workspace, redacted)
}

// String describes the Middleware without the secret.
func (m *Middleware) String() string { return fmt.Sprint(m) }

// GoString describes the Middleware without the secret.
func (m *Middleware) GoString() string { return fmt.Sprint(m) }

// Signer returns the Middleware's Signer, for verifying or signing
// outside a request.
func (m *Middleware) Signer() *Signer { return m.signer }

// Handler returns next wrapped by the middleware: it serves the identity
// endpoint and the lifecycle runtime (RuntimePath), resolves and signs the
// user, puts the user object in the request context and, with
// Config.Inject, injects the snippet into HTML pages (an anonymous page
// gets the anonymous script, see TemplateScript). Requests whose user
// cannot be resolved or signed pass through untouched, and so do those
// Config.Skip reports.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.identityPath != "" {
			switch r.URL.Path {
			case m.identityPath:
				m.serveIdentity(w, r)
				return
			case m.runtime.path:
				if !m.probed(w, r) {
					m.serveRuntime(w, r)
				}
				return
			}
			if r.URL.RawQuery != "" && m.pageQueryAnswer(w, r) {
				return
			}
		}
		if (m.skip != nil && m.skip(r)) || crossOriginRead(r) {
			next.ServeHTTP(w, r)
			return
		}
		if stateFrom(r.Context()) != nil {
			// An outer middleware already resolved, signed and, if asked,
			// injects: a second copy would only duplicate the snippet.
			next.ServeHTTP(w, r)
			return
		}
		st, err := m.resolve(r)
		if err != nil {
			// Who this is remains unknown: the page goes out as written.
			m.logFailure(r, err, "serving the request untouched")
			next.ServeHTTP(w, r)
			return
		}
		if st == nil {
			st = &requestState{m: m, anonymous: true}
		}
		st.header = w.Header()
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
		st.r = r
		if m.inject && injectableRequest(r) {
			m.serveInjected(w, r, st, next)
			return
		}
		if st.anonymous {
			next.ServeHTTP(w, r)
			return
		}
		// A page that places the user's snippet itself (TemplateScript,
		// Script) must leave private, whatever the handler sets after.
		h := &st.handle
		h.open(w, r, nil, st)
		next.ServeHTTP(h.served(), r)
		h.close(func() bool { return !h.wrote })
	})
}

// crossOriginRead reports a request another origin makes to read a page
// (fetch or XHR, Fetch Metadata's Sec-Fetch-Mode other than navigate, from
// a Sec-Fetch-Site other than same-origin or none): behind a CORS layer
// that reflects origins with credentials, it could read the user's hash
// from the page. Such requests are passed on as Config.Skip passes them:
// no user is signed for them. Navigations from other sites (a link
// followed) are pages the other site cannot read, and keep the snippet.
func crossOriginRead(r *http.Request) bool {
	mode, site := r.Header["Sec-Fetch-Mode"], r.Header["Sec-Fetch-Site"]
	if len(mode) == 0 || len(site) == 0 || mode[0] == "navigate" {
		return false
	}
	return site[0] != "same-origin" && site[0] != "none"
}

// stage names the step of building a request's user object that failed.
type stage uint8

const (
	stageUsername stage = iota // Config.Username
	stageProfile               // Config.Profile
	stageSign                  // Signer.Sign
	stageEncode                // the user object's props or group to JSON
)

var stageText = [...]string{
	stageUsername: "username resolver failed",
	stageProfile:  "profile hook failed",
	stageSign:     "cannot sign the username",
	stageEncode:   "cannot encode the user object",
}

// failure is an error of one stage; logFailure is the one place that
// reports it, and the identity endpoint answers by its stage.
type failure struct {
	stage stage
	err   error
}

func (f *failure) Error() string { return stageText[f.stage] + ": " + f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// resolve returns the signed state of r's user; nil and no error for an
// anonymous request.
func (m *Middleware) resolve(r *http.Request) (*requestState, error) {
	name, err := m.username(r)
	if err != nil {
		return nil, &failure{stageUsername, err}
	}
	if name == "" {
		return nil, nil
	}
	return m.signUser(r, name)
}

// signUser builds and signs the user object of name: the profile, the
// HMAC with the TTL's expiration and, for injection, the JSON of the parts
// that can fail to encode.
func (m *Middleware) signUser(r *http.Request, name string) (*requestState, error) {
	st := &requestState{m: m}
	if m.profile != nil {
		u, err := m.profile(r, name)
		if err != nil {
			return nil, &failure{stageProfile, err}
		}
		st.user = u
	}
	st.user.Username = name
	if err := m.sign(st); err != nil {
		return nil, err
	}
	if m.inject && (len(st.user.Props) > 0 || st.user.Group != nil) {
		// Only props and group can fail to encode: failing now serves the
		// request as it was written, not a page that fails half way.
		b, err := appendSignedUser(nil, &st.user, &st.sig)
		if err != nil {
			return nil, &failure{stageEncode, err}
		}
		st.userJSON = b
	}
	return st, nil
}

// sign signs st.user.Username with the TTL's expiration into st.sig.
func (m *Middleware) sign(st *requestState) error {
	var exp time.Time
	if m.ttl > 0 {
		exp = m.now().Add(m.ttl)
	}
	st.user.HMAC = nil // the profile's, if any: sig replaces it
	if err := m.signer.signInto(&st.sig, st.user.Username, exp); err != nil {
		return &failure{stageSign, err}
	}
	return nil
}

// languageFor returns the language of r's snippet: Config.LanguageFunc's
// choice if it is a valid code, else Config.Language. r is nil for
// ScriptFor, which has no request.
func (m *Middleware) languageFor(r *http.Request) string {
	if m.languageFunc == nil || r == nil {
		return m.language
	}
	l := m.languageFunc(r)
	if l == "" {
		return m.language
	}
	if !validLanguage(l) {
		if len(l) > 32 {
			l = l[:32] // whatever the function read from the request, keep the log line short
		}
		// Once per distinct value: a user's locale ("pt_BR") comes back on
		// every request of that user.
		switch first, full := m.languages.first(l); {
		case first:
			m.logger.LogAttrs(r.Context(), slog.LevelWarn,
				"productfruits: LanguageFunc returned no two-letter language code; using Config.Language "+
					"(return the code's first two letters, such as \"pt\" for \"pt_BR\"); logged once per value",
				slog.String("language", l), slog.String("fallback", m.language), slog.String("path", r.URL.Path))
		case full:
			m.logger.LogAttrs(r.Context(), slog.LevelWarn,
				"productfruits: LanguageFunc returned more distinct invalid codes; no more are logged",
				slog.Int("logged", maxBadLanguages))
		}
		return m.language
	}
	if l[0] < 'a' || l[1] < 'a' {
		// Upper case (validLanguage accepts letters only): the product
		// takes lower-case codes.
		l = string([]byte{l[0] | 0x20, l[1] | 0x20})
	}
	return l
}

// logFailure logs err once, with what the middleware did instead. The
// errors come from the app's resolver and profile hook or from signing a
// username; none of them carries the secret or a hash.
func (m *Middleware) logFailure(r *http.Request, err error, outcome string) {
	msg := "productfruits: " + err.Error()
	if f, ok := err.(*failure); ok {
		msg = "productfruits: " + stageText[f.stage]
		err = f.err
	}
	m.logger.LogAttrs(r.Context(), slog.LevelWarn, msg+"; "+outcome,
		slog.String("error", err.Error()), slog.String("path", r.URL.Path))
}
