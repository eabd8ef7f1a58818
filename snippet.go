package productfruits

import (
	"fmt"
	"html"
	"html/template"
	"maps"
	"net/http"
	"strconv"

	"github.com/pfverify/productfruits/internal/htmlscan"
)

// ScriptFor signs user now, with the TTL (user.HMAC is replaced), and
// returns its snippet, the markup injection and TemplateScript produce:
// for code whose requests the middleware does not see (Fiber and other
// fasthttp stacks, templates rendered outside a handler, tests). An empty
// Username gets the anonymous page's script. Without a request, the page
// data takes Config.Language and the configured identity URL, Profile is
// not called and no response is marked: serve a user's page with
// Cache-Control: private and Vary: Cookie. nonce is the CSP nonce of the
// script elements, "" for none. It fails for a nonce with characters
// other than base64's, a username that cannot be signed, or props or a
// group that cannot be encoded as JSON.
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

// appendSnippet appends the snippet for st's user: the preload of the
// product's loader (unless Config.NoPreload), a script that pushes the
// page data (the signed user object, and with a TTL when to renew it) to
// the lifecycle runtime, and the runtime's element, which appends the
// loader; for an anonymous request, the anonymous script. It is pure
// ASCII and inert in any HTML page. h is the response header and meta the
// policies of the page's
// <meta http-equiv="Content-Security-Policy"> before the snippet: they
// give the nonce after Config.Nonce, say whether Trusted Types are
// required, and a policy that would block the snippet is reported. On
// error dst comes back as it was.
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

// appendMarkup is appendSnippet with the nonce chosen, valid or ""; tt asks
// for the loader's template (Trusted Types). r is nil for ScriptFor.
func (m *Middleware) appendMarkup(dst []byte, r *http.Request, st *requestState, nonce string, tt bool) ([]byte, error) {
	if st.anonymous {
		dst = append(dst, "<script "...)
		dst = appendNonceAttr(dst, nonce)
		return append(dst, htmlscan.MarkerAttr+`="anonymous">`+anonymousScript+"</script>"...), nil
	}
	start := len(dst)
	// Well-formed XML as well as HTML, so that application/xhtml+xml
	// pages take it too: attributes with values, void elements closed, and
	// the script text in a CDATA section whose markers are JavaScript
	// comments.
	if !m.noPreload {
		dst = m.appendPreload(dst, nonce)
	}
	dst = append(dst, "<script "...)
	dst = appendNonceAttr(dst, nonce)
	dst = append(dst, htmlscan.MarkerAttr+`="">//<![CDATA[`+"\n"...)
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
	dst = m.appendRenewal(dst)
	dst = append(dst, "});\n//]]></script>"...)
	if tt {
		// Before the runtime, which may run before the parser reaches
		// what follows it (an inline runtime always does).
		dst = m.appendLoaderTemplate(dst, nonce)
	}
	dst = m.appendRuntime(dst, m.homeFor(r), nonce)
	return dst, nil
}

// pushData starts every snippet's inline script: the page's data goes
// onto the runtime's queue, which the runtime acts on (lifecycle.js).
const pushData = "(window.__productfruitsGo=window.__productfruitsGo||[]).push("

// anonymousScript is an anonymous page's snippet: no user, the same for
// every visitor, so the page stays cacheable. Where the product runs for
// someone (a Turbo or htmx visit after logout) the runtime destroys it.
// It also tells the document's other tabs "out" (see lifecycle.js), as no
// runtime runs here after a full-page logout; a tab that hears it asks
// its endpoint who it is now.
const anonymousScript = pushData + `0);try{new BroadcastChannel("productfruits").postMessage("out")}catch(e){}`

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

// buildRenewal precomputes the page data's renewal setting, the TTL;
// nothing without one. The page never names the endpoint: the runtime
// finds it beside its own URL (a TTL needs an endpoint, and then the
// runtime has a URL).
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

// appendPreload appends a preload of the product's loader, which the
// browser then fetches as soon as it sees the snippet rather than once the
// runtime has run. It matches the element the runtime appends in what
// Chromium compares to reuse a preload (URL, destination, no-cors mode:
// no crossorigin on either) and carries the nonce, which nonce-based
// policies check for preloads too. Logged-in pages only: an unused preload
// is a console warning. It has no marker: nothing looks for it.
func (m *Middleware) appendPreload(dst []byte, nonce string) []byte {
	dst = append(dst, `<link rel="preload" as="script" href="`...)
	dst = append(dst, m.scriptAttr...)
	if nonce != "" {
		dst = append(dst, `" nonce="`...)
		dst = append(dst, nonce...)
	}
	return append(dst, `"/>`...)
}

// appendRuntime appends the runtime's script element: from its URL (under
// the stripped prefix, or on the page's own URL where the runtime's does
// not reach the middleware), or inline when it has none. fetchpriority
// lets Chromium run the cached runtime mid-parse rather than once the
// page is parsed (docs/PERFORMANCE.md).
func (m *Middleware) appendRuntime(dst []byte, home pageHome, nonce string) []byte {
	if m.runtime.src == nil {
		dst = append(dst, "<script "...)
		dst = appendNonceAttr(dst, nonce)
		dst = append(dst, htmlscan.MarkerAttr+`="">//<![CDATA[`+"\n"...)
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
	return append(dst, htmlscan.MarkerAttr+`=""></script>`...)
}

// appendLoaderTemplate appends the product's loader as parser-made markup
// inside a template, for pages whose policy requires Trusted Types: the
// runtime clones it into the head instead of assigning a script URL,
// which such a page refuses from any policy its trusted-types directive
// does not list. The app's list stays as it is.
func (m *Middleware) appendLoaderTemplate(dst []byte, nonce string) []byte {
	dst = append(dst, `<template `+htmlscan.MarkerAttr+`="loader"><script async="" src="`...)
	dst = append(dst, m.scriptAttr...)
	dst = append(dst, '"', ' ')
	dst = appendNonceAttr(dst, nonce)
	return append(dst, htmlscan.MarkerAttr+`=""></script></template>`...)
}

// appendNonceAttr appends the nonce attribute and a space, or nothing.
func appendNonceAttr(dst []byte, nonce string) []byte {
	if nonce == "" {
		return dst
	}
	dst = append(dst, "nonce=\""...)
	dst = append(dst, nonce...)
	return append(dst, "\" "...)
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
