package productfruits

import (
	"fmt"
	"html"
	"html/template"
	"maps"
	"net/http"
	"strconv"
)

// snippetMarker is an attribute every script element of the snippet
// carries, so that a page, a cache or a second middleware can tell that
// the snippet is already there.
const snippetMarker = "data-productfruits"

// buildInitPrefix precomputes the part of the inline script that does not
// depend on the request: the page data object up to the user, with the
// init options. Config.Language is filled in; initHead and initTail are
// the parts before and after it, for a language LanguageFunc chose.
func (m *Middleware) buildInitPrefix() {
	head := []byte(pushData + `{"workspace":`)
	head = appendJSONString(head, m.workspace)
	head = append(head, `,"language":`...)
	var tail []byte
	if m.options != nil {
		tail = append(tail, `,"options":`...)
		tail = append(tail, m.options...)
	}
	tail = append(tail, `,"user":`...)
	m.initHead, m.initTail = head, tail
	m.initPrefix = append(appendJSONString(head[:len(head):len(head)], m.language), tail...)
}

// appendPageStart appends the page data object up to the user, in lang.
func (m *Middleware) appendPageStart(dst []byte, lang string) []byte {
	if lang == m.language {
		return append(dst, m.initPrefix...)
	}
	dst = append(dst, m.initHead...)
	dst = appendJSONString(dst, lang)
	return append(dst, m.initTail...)
}

// appendSnippet appends the snippet for st's user: a script that pushes
// the page data (the signed user object, and with a TTL where and when to
// renew it) to the lifecycle runtime, and a script element that loads the
// runtime from the middleware (cached by the browser across pages), which
// appends the product's loader. Only the page data is per page: the
// snippet is a few hundred bytes plus the user object. When the runtime
// has no URL (IdentityPath "-" and no IdentityURL) the second script
// carries it inline. For an anonymous request it appends the anonymous
// page's one-line script. The result is pure ASCII and inert inside any
// HTML page. h is the response header and meta the policies the page
// declares in <meta http-equiv="Content-Security-Policy"> before the
// snippet: they give the nonce (after Config.Nonce), say whether the page
// requires Trusted Types, and a policy that would block the snippet is
// reported once. On error dst comes back as it was, with nothing
// half-written.
func (m *Middleware) appendSnippet(dst []byte, r *http.Request, st *requestState, h http.Header, meta []string) ([]byte, error) {
	header := h["Content-Security-Policy"]
	nonce := ""
	if m.nonce != nil {
		nonce = m.nonce(r)
	}
	if nonce == "" {
		// Config.Nonce answering "" (a nonce middleware inside this one
		// sets the header later) falls back to the policy itself.
		nonce = cspNonce(header)
	}
	if nonce == "" {
		nonce = cspNonce(meta)
	}
	if !validNonce(nonce) {
		nonce = ""
	}
	tt := false
	if len(header) > 0 || len(meta) > 0 {
		tt = requiresTrustedTypes(header) || requiresTrustedTypes(meta)
		if src, blocks := policyBlocks(header, nonce); blocks {
			m.warnPolicy(r, "header", src)
		} else if src, blocks := policyBlocks(meta, nonce); blocks {
			m.warnPolicy(r, "<meta>", src)
		}
	}
	return m.appendMarkup(dst, r, st, nonce, tt)
}

// appendMarkup is appendSnippet with the nonce chosen (a valid one, or
// ""; appendSnippet and ScriptFor check it); tt asks for the
// loader's template, for pages that require Trusted Types. r is nil for
// ScriptFor: the page data then takes Config.Language and the configured
// identity URL.
func (m *Middleware) appendMarkup(dst []byte, r *http.Request, st *requestState, nonce string, tt bool) ([]byte, error) {
	if st.anonymous {
		dst = append(dst, "<script "...)
		dst = appendNonceAttr(dst, nonce)
		return append(dst, snippetMarker+`="anonymous">`+anonymousScript+"</script>"...), nil
	}
	start := len(dst)
	// Well-formed XML as well as HTML, so that application/xhtml+xml
	// pages take it too: attributes with values, void elements closed, and
	// the script text in a CDATA section whose markers are JavaScript
	// comments.
	dst = m.appendPreload(dst, nonce)
	dst = append(dst, "<script "...)
	dst = appendNonceAttr(dst, nonce)
	dst = append(dst, snippetMarker+`="">//<![CDATA[`+"\n"...)
	dst = m.appendPageStart(dst, m.languageFor(r))
	extra := st.takeProps()
	if st.userJSON != nil && extra == nil {
		dst = append(dst, st.userJSON...)
	} else {
		u := &st.user
		if extra != nil {
			// SetProps's props over the profile's, in a copy: the user
			// object in the context stays as it was signed.
			merged := *u
			merged.Props = maps.Clone(u.Props)
			if merged.Props == nil {
				merged.Props = make(map[string]any, len(extra))
			}
			maps.Copy(merged.Props, extra)
			u = &merged
		}
		out, err := appendSignedUser(dst, u, &st.sig)
		if err != nil {
			return dst[:start], &failure{stageEncode, err}
		}
		dst = out
	}
	home := m.homeFor(r)
	dst = m.appendRenewal(dst)
	dst = append(dst, "});\n//]]></script>"...)
	dst = m.appendRuntime(dst, home, nonce)
	if tt {
		dst = m.appendLoaderTemplate(dst, nonce)
	}
	return dst, nil
}

// appendPreload appends a preload of the product's loader, so that the
// browser fetches it at high priority beside the page's stylesheets, as
// soon as its preload scanner sees the snippet, instead of after the
// runtime has arrived, run and appended the loader: one round trip less
// on a first visit. It matches the element the runtime appends (or
// clones from the loader's template) in what Chromium compares to reuse
// a preload: the URL, the destination and no-cors mode (no crossorigin
// attribute on either); and it carries the nonce, which a nonce-based
// policy (with or without 'strict-dynamic') checks for preloads too.
// Logged-in pages only: an anonymous page never loads the product, and a
// preload a page never uses is a console warning in Chromium. It has no
// marker: nothing looks for it, and the bytes pay for the runtime's
// fetchpriority.
func (m *Middleware) appendPreload(dst []byte, nonce string) []byte {
	dst = append(dst, `<link rel="preload" as="script" href="`...)
	dst = append(dst, m.scriptAttr...)
	if nonce != "" {
		dst = append(dst, `" nonce="`...)
		dst = append(dst, nonce...)
	}
	return append(dst, `"/>`...)
}

// appendLoaderTemplate appends the product's loader as parser-made markup
// inside a template, for pages whose policy requires Trusted Types: the
// runtime clones it into the head instead of assigning a script URL,
// which such a page refuses from any policy its trusted-types directive
// does not list. The app's list stays as it is.
func (m *Middleware) appendLoaderTemplate(dst []byte, nonce string) []byte {
	dst = append(dst, `<template `+snippetMarker+`="loader"><script async="" src="`...)
	dst = append(dst, m.scriptAttr...)
	dst = append(dst, '"', ' ')
	dst = appendNonceAttr(dst, nonce)
	return append(dst, snippetMarker+`=""></script></template>`...)
}

func appendNonceAttr(dst []byte, nonce string) []byte {
	if nonce == "" {
		return dst
	}
	dst = append(dst, "nonce=\""...)
	dst = append(dst, nonce...)
	return append(dst, "\" "...)
}

// ScriptFor signs user now (with the TTL, as the middleware signs a
// request's user; user.HMAC is ignored and replaced) and returns the
// snippet for it: the same markup injection and TemplateScript produce,
// renewal included. It is for code the middleware does not see a request
// of: Fiber and other fasthttp stacks, template engines rendering outside
// a handler, tests. A user with an empty Username is nobody logged in and
// gets the anonymous page's script.
//
// With no request to go by, the page data takes Config.Language (not
// LanguageFunc) and the identity endpoint at Config.IdentityURL, else
// Config.IdentityPath as it is; Config.Profile is not called (fill user
// yourself) and nothing is marked on any response: serve a page carrying
// a user's snippet with Cache-Control: private and Vary: Cookie. nonce is
// the Content-Security-Policy nonce for the script elements, "" for none.
// Errors: the nonce holds characters other than base64's, the username
// cannot be signed (ErrInvalidUsername), or the props or group cannot be
// encoded as JSON.
func (m *Middleware) ScriptFor(user User, nonce string) (template.HTML, error) {
	if !validNonce(nonce) {
		return "", fmt.Errorf("productfruits: ScriptFor: nonce %q holds characters other than base64 and base64url", nonce)
	}
	st := &requestState{m: m, anonymous: user.Username == ""}
	if !st.anonymous {
		st.user = user
		if err := m.sign(st); err != nil {
			return "", fmt.Errorf("productfruits: ScriptFor: %w", err)
		}
	}
	b, err := m.appendMarkup(nil, nil, st, nonce, false)
	if err != nil {
		return "", fmt.Errorf("productfruits: ScriptFor: %w", err)
	}
	return template.HTML(b), nil
}

// validNonce accepts base64 and base64url characters only, so a nonce can
// never break out of its attribute.
func validNonce(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// pushData starts every snippet's inline script: the page's data goes
// onto the runtime's queue, which the runtime acts on (lifecycle.js).
const pushData = "(window.__productfruitsGo=window.__productfruitsGo||[]).push("

// anonymousScript is what an anonymous page carries: no user, no secret,
// the same for every visitor, so the page stays cacheable. In a document
// where the product runs for someone (a Turbo or htmx visit after logout)
// it makes the runtime destroy the product.
//
// It also tells the document's other tabs that someone logged out (see
// lifecycle.js): after a full-page logout no runtime runs in this
// document to do it. The message carries nothing but "out"; a tab that
// gets it asks its own endpoint who it is now, so a wrong one (a cached
// anonymous page) costs a request and changes nothing.
const anonymousScript = pushData + `0);try{new BroadcastChannel("productfruits").postMessage("out")}catch(e){}`

// buildRenewal precomputes the renewal setting of the page data object,
// the TTL; nothing without one. Where to renew from the runtime reads off
// its own URL, which is always beside the endpoint's: IdentityPath (or
// IdentityURL) and "/lifecycle.<version>.js", under any stripped prefix,
// or the page's own URL with ?productfruits=lifecycle.<version>.js beside
// ?productfruits=identity. A TTL needs an endpoint, and with one the
// runtime has a URL (config.go), so the page never names the endpoint.
func (m *Middleware) buildRenewal() {
	if m.ttl <= 0 {
		return
	}
	m.ttlJSON = strconv.AppendInt([]byte(`,"ttl":`), m.ttl.Milliseconds(), 10)
}

// appendRenewal appends the renewal setting of the page data object.
func (m *Middleware) appendRenewal(dst []byte) []byte {
	return append(dst, m.ttlJSON...)
}

// appendRuntime appends the snippet's second script element: the runtime
// loaded from its URL (under the stripped prefix, or on the page's own URL
// where the runtime's does not reach the middleware), or, when it has
// none, inline.
func (m *Middleware) appendRuntime(dst []byte, home pageHome, nonce string) []byte {
	if m.runtime.src == nil {
		dst = append(dst, "<script "...)
		dst = appendNonceAttr(dst, nonce)
		dst = append(dst, snippetMarker+`="">//<![CDATA[`+"\n"...)
		dst = append(dst, m.runtime.js...)
		return append(dst, "\n//]]></script>"...)
	}
	dst = append(dst, `<script async="" fetchpriority="high" src="`...)
	switch {
	case home.page != "":
		dst = append(dst, html.EscapeString(home.page)...)
		dst = append(dst, "?"+pageQuery...)
		dst = append(dst, m.runtime.file[1:]...)
	case home.prefix != "":
		dst = append(dst, html.EscapeString(home.prefix)...)
		fallthrough
	default:
		dst = append(dst, m.runtime.src...)
	}
	dst = append(dst, '"', ' ')
	dst = appendNonceAttr(dst, nonce)
	return append(dst, snippetMarker+`=""></script>`...)
}
