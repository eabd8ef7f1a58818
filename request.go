package productfruits

import (
	"context"
	"html/template"
	"io"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
)

// ctxKey is the private context key of the per-request state.
type ctxKey struct{}

// requestState is the one context value the middleware adds per request.
// It is a plain context.WithValue value (frameworks such as Fiber's
// adaptor copy those, and only those, into their own context), and in the
// same allocation it holds what the response needs: the writer's handle
// and room for the header values the middleware sets.
type requestState struct {
	anonymous bool          // nobody is logged in: no user, no hmac
	snippet   atomic.Uint32 // snippetOpen, snippetClaimed or snippetSkipped
	user      User          // HMAC nil: the signature is sig
	sig       signature
	handle    writerHandle  // the injecting writer, as the handler holds it
	values    headerValues  // for Cache-Control and Vary (headers.go)
	header    http.Header   // response header of the writer the middleware saw
	r         *http.Request // the request as handlers get it, for Script
	m         *Middleware
	extra     atomic.Pointer[extraProps] // SetProps's props; nil until it is called
	userJSON  []byte                     // the user object, encoded early when it has props or a group
}

// The life of a request's snippet: open until someone emits it (claimed)
// or the handler keeps its response free of it (skipped, by SkipInject).
const (
	snippetOpen uint32 = iota
	snippetClaimed
	snippetSkipped
)

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
	h := st.sig.hmac()
	u.HMAC = &h
	return u, true
}

// SetProps merges props into the props of r's user in this response's
// snippet (injected, TemplateScript or Script), for what the handler
// learns while serving: the page's section, a feature flag. A key replaces
// the same key from Config.Profile or an earlier call; the map is copied.
// It is safe for concurrent use. Calls after the snippet is rendered (by
// injection when the head is written) or for a request without a user
// change nothing. FromContext and the identity endpoint never see these
// props: those that must last belong in Config.Profile. Props that cannot
// be encoded as JSON leave the response without the snippet, and are
// logged.
func SetProps(r *http.Request, props map[string]any) {
	st := stateFrom(r.Context())
	if st == nil || st.anonymous || len(props) == 0 || st.snippet.Load() != snippetOpen {
		return
	}
	x := st.extra.Load()
	if x == nil {
		x = new(extraProps)
		if !st.extra.CompareAndSwap(nil, x) {
			x = st.extra.Load()
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return
	}
	if x.props == nil {
		x.props = make(map[string]any, len(props))
	}
	maps.Copy(x.props, props)
}

// SkipInject keeps the response to r free of the snippet: no injection,
// and TemplateScript and Script render nothing for it, the anonymous
// script included; its headers stay as the handler writes them. The user
// stays in the request context (FromContext). Call it before writing the
// response's status or body, and before TemplateScript or Script emitted
// the snippet (which it cannot take back). It does nothing for a request
// the middleware did not see. To exclude whole paths, use Config.Skip.
func SkipInject(r *http.Request) {
	if st := stateFrom(r.Context()); st != nil {
		st.snippet.CompareAndSwap(snippetOpen, snippetSkipped)
	}
}

// TemplateScript returns the snippet for r's user, for html/template pages
// that place it themselves ({{.ProductFruits}}); for an anonymous request,
// the anonymous page's script, which stops the product for a user who has
// logged out. It returns "" for a request the middleware did not see or
// skipped, after SkipInject, and once the snippet was emitted for the
// request (by any of TemplateScript, Script and injection), so a page
// never carries two. A user's snippet returned before the headers are
// written marks the response Cache-Control: private and Vary: Cookie, as
// injection does.
func TemplateScript(r *http.Request) template.HTML {
	st := stateFrom(r.Context())
	if st == nil {
		return ""
	}
	return st.script(r, "TemplateScript")
}

// Component is a value that renders itself into w for the request whose
// context ctx is. It is templ's Component interface, declared here so
// that the library does not import templ: any Component is a
// templ.Component.
type Component interface {
	Render(ctx context.Context, w io.Writer) error
}

// Script renders the snippet for the request whose context it is given,
// as TemplateScript does: @productfruits.Script in a templ page's head.
// Config.Nonce and Config.LanguageFunc get the request with the render
// context, where templ.WithNonce puts the nonce. Render returns only the
// writer's error.
var Script Component = scriptComponent{}

type scriptComponent struct{}

func (scriptComponent) Render(ctx context.Context, w io.Writer) error {
	st := stateFrom(ctx)
	if st == nil || st.snippet.Load() != snippetOpen {
		return nil
	}
	// The render context descends from the request's and may add to it
	// (templ's nonce): the hooks see it.
	s := st.script(st.r.WithContext(ctx), "Script")
	if s == "" {
		return nil
	}
	_, err := io.WriteString(w, string(s))
	return err
}

// claim reports whether the caller is the first to emit the snippet for
// this request, so a page never carries two.
func (st *requestState) claim() bool {
	return st.snippet.CompareAndSwap(snippetOpen, snippetClaimed)
}

// skipped reports whether the handler called SkipInject.
func (st *requestState) skipped() bool { return st.snippet.Load() == snippetSkipped }

// placedUser reports whether the handler placed a user's snippet itself
// (TemplateScript, Script): the response must leave private.
func (st *requestState) placedUser() bool {
	return !st.anonymous && st.snippet.Load() == snippetClaimed
}

// extraProps are the props SetProps adds to one request's snippet.
type extraProps struct {
	mu     sync.Mutex
	props  map[string]any
	closed bool // the snippet took them: later SetProps calls change nothing
}

// takeProps returns SetProps's props for the snippet being rendered and
// closes them to later calls; nil when there are none.
func (st *requestState) takeProps() map[string]any {
	x := st.extra.Load()
	if x == nil {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.closed = true
	return x.props
}

// script claims and renders the snippet of st's request r for a page that
// places it itself; caller names the API for the log line.
func (st *requestState) script(r *http.Request, caller string) template.HTML {
	if st.header != nil {
		canonicalHeader(st.header)
		if sandboxed(st.header["Content-Security-Policy"]) {
			// An opaque-origin document (an upload the app serves): its
			// own scripts could read whatever the snippet holds.
			return ""
		}
	}
	if !st.claim() {
		return ""
	}
	if st.header != nil && !st.anonymous {
		// The page now carries this user's hash: no shared cache may keep
		// it. Headers already written stay as they were.
		privateHeader(st.header, &st.values, st.m.ttl, placedPage)
	}
	// appendSnippet escapes for JSON and HTML: no user data is pasted
	// into template.HTML.
	bp := scriptBufs.Get().(*[]byte)
	b, err := st.m.appendSnippet((*bp)[:0], r, st, st.header, nil)
	html := template.HTML(b)
	if cap(b) <= maxPooledSnippet {
		*bp = b[:0]
		scriptBufs.Put(bp)
	}
	if err != nil {
		st.m.logFailure(r, err, caller+" left the page without the snippet")
		return ""
	}
	return html
}

// scriptBufs are the buffers TemplateScript and Script build the snippet
// in; the injecting writer keeps its own.
var scriptBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}
