package productfruits

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// Middleware signs the logged-in user of each request and makes the user
// object available to handlers, pages and the browser. Create it with New;
// it is safe for concurrent use.
type Middleware struct {
	settings
	signer     *Signer
	username   func(*http.Request) (string, error)
	profile    func(*http.Request, string) (User, error)
	nonce      func(*http.Request) string
	inject     bool
	initPrefix []byte // the inline script up to the user object
}

// New validates cfg and returns a Middleware. Every error wraps ErrConfig
// and names the offending field.
func New(cfg Config) (*Middleware, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	m := &Middleware{
		settings: s,
		signer:   newSigner(cfg.Secret),
		username: cfg.Username,
		profile:  cfg.Profile,
		nonce:    cfg.Nonce,
		inject:   cfg.Inject,
	}
	m.initPrefix = m.buildInitPrefix()
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
// endpoint, resolves and signs the user, puts the user object in the
// request context and, with Config.Inject, injects the snippet into HTML
// pages (an anonymous page gets the anonymous script, see TemplateScript).
// Requests whose user cannot be resolved or signed pass through untouched.
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
		if m.inject && injectableRequest(r) {
			m.serveInjected(w, r, st, next)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ctxKey is the private context key of the per-request state.
type ctxKey struct{}

// requestState is the one context value the middleware adds per request.
type requestState struct {
	anonymous bool // nobody is logged in: no user, no hmac
	user      User
	hmac      HMAC
	claimed   atomic.Bool
	header    http.Header // response header of the writer the middleware saw
	m         *Middleware
	userJSON  []byte // the user object, encoded early when it has props or a group
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
	if st == nil || st.anonymous {
		return User{}, false
	}
	u := st.user
	h := st.hmac
	u.HMAC = &h // a copy, so a handler cannot alter the page's hash
	return u, true
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
	var exp time.Time
	if m.ttl > 0 {
		exp = m.now().Add(m.ttl)
	}
	h, err := m.signer.Sign(name, exp)
	if err != nil {
		return nil, &failure{stageSign, err}
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
			return nil, &failure{stageEncode, err}
		}
		st.userJSON = b
	}
	return st, nil
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
