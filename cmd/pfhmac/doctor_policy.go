package main

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"net/url"
	"strconv"
	"strings"

	"github.com/pfverify/productfruits"
)

const (
	// defaultLoader is the product's loader, which the runtime appends
	// unless the page names another.
	defaultLoader = productfruits.DefaultScriptURL
	fixNonce      = "put the nonce in the response's Content-Security-Policy header before the page is written, or set Config.Nonce"
)

// cspPolicy is one Content-Security-Policy: its directives, first
// occurrence of each, names lower-cased.
type cspPolicy struct {
	source string // "header" or "<meta> at byte N"
	dirs   map[string][]string
}

// parsePolicy parses one policy; browsers ignore a repeated directive.
func parsePolicy(source, s string) cspPolicy {
	p := cspPolicy{source: source, dirs: map[string][]string{}}
	for _, dir := range strings.Split(s, ";") {
		f := strings.Fields(dir)
		if len(f) == 0 {
			continue
		}
		name := strings.ToLower(f[0])
		if _, dup := p.dirs[name]; !dup {
			p.dirs[name] = f[1:]
		}
	}
	return p
}

// scriptSources returns the directive that governs script elements.
func (p cspPolicy) scriptSources() (string, []string, bool) {
	for _, name := range []string{"script-src-elem", "script-src", "default-src"} {
		if srcs, ok := p.dirs[name]; ok {
			return name, srcs, true
		}
	}
	return "", nil, false
}

// keyword compares a source with a keyword, which CSP matches in any case.
func keyword(src, kw string) bool { return strings.EqualFold(src, kw) }

// nonceOrHash reports whether srcs hold a nonce or hash source, which
// makes browsers ignore 'unsafe-inline'.
func nonceOrHash(srcs []string) bool {
	for _, s := range srcs {
		l := strings.ToLower(s)
		if strings.HasPrefix(l, "'nonce-") || strings.HasPrefix(l, "'sha256-") || strings.HasPrefix(l, "'sha384-") || strings.HasPrefix(l, "'sha512-") {
			return true
		}
	}
	return false
}

// has reports whether srcs list the keyword kw.
func has(srcs []string, kw string) bool {
	for _, s := range srcs {
		if keyword(s, kw) {
			return true
		}
	}
	return false
}

// nonceAllowed reports whether srcs list nonce; the keyword's prefix is
// matched in any case, the nonce exactly.
func nonceAllowed(srcs []string, nonce string) bool {
	if nonce == "" {
		return false
	}
	for _, s := range srcs {
		if len(s) > len("'nonce-'") && strings.EqualFold(s[:len("'nonce-")], "'nonce-") && strings.HasSuffix(s, "'") && s[len("'nonce-"):len(s)-1] == nonce {
			return true
		}
	}
	return false
}

// inlineAllowed reports whether srcs allow an inline script with nonce
// and text.
func inlineAllowed(srcs []string, nonce, text string) bool {
	if nonceAllowed(srcs, nonce) {
		return true
	}
	for _, s := range srcs {
		l := strings.ToLower(s)
		for _, alg := range []struct {
			prefix string
			h      func() hash.Hash
		}{{"'sha256-", sha256.New}, {"'sha384-", sha512.New384}, {"'sha512-", sha512.New}} {
			if strings.HasPrefix(l, alg.prefix) && strings.HasSuffix(s, "'") {
				h := alg.h()
				h.Write([]byte(text))
				if s[len(alg.prefix):len(s)-1] == base64.StdEncoding.EncodeToString(h.Sum(nil)) {
					return true
				}
			}
		}
	}
	return has(srcs, "'unsafe-inline'") && !nonceOrHash(srcs) && !has(srcs, "'strict-dynamic'")
}

// urlAllowed reports whether srcs allow a script element with nonce
// loading u, on a page at self.
func urlAllowed(srcs []string, u, self *url.URL, nonce string) bool {
	if nonceAllowed(srcs, nonce) {
		return true
	}
	if has(srcs, "'strict-dynamic'") {
		return false
	}
	for _, s := range srcs {
		if sourceMatches(s, u, self) {
			return true
		}
	}
	return false
}

// sourceMatches implements CSP's source expression match for the
// expressions a script directive lists: '*', 'self', schemes and hosts.
func sourceMatches(src string, u, self *url.URL) bool {
	scheme := strings.ToLower(u.Scheme)
	switch {
	case src == "*":
		return scheme == "http" || scheme == "https"
	case keyword(src, "'self'"):
		return sameOrigin(u, self) || (strings.EqualFold(self.Scheme, "http") && scheme == "https" && strings.EqualFold(u.Hostname(), self.Hostname()))
	case strings.HasPrefix(src, "'"):
		return false
	case strings.HasSuffix(src, ":") && !strings.Contains(src, "/"):
		s := strings.ToLower(strings.TrimSuffix(src, ":"))
		return s == scheme || (s == "http" && scheme == "https")
	}
	rest := src
	if i := strings.Index(rest, "://"); i >= 0 {
		s := strings.ToLower(rest[:i])
		if s != scheme && !(s == "http" && scheme == "https") {
			return false
		}
		rest = rest[i+3:]
	} else if !strings.EqualFold(self.Scheme, scheme) && !(strings.EqualFold(self.Scheme, "http") && scheme == "https") {
		return false
	}
	host, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	prt := ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host, prt = host[:i], host[i+1:]
	}
	h := strings.ToLower(u.Hostname())
	host = strings.ToLower(host)
	if strings.HasPrefix(host, "*.") {
		if !strings.HasSuffix(h, host[1:]) {
			return false
		}
	} else if host != h {
		return false
	}
	switch {
	case prt == "*":
	case prt == "":
		if u.Port() != "" && u.Port() != port(&url.URL{Scheme: scheme}) {
			return false
		}
	case prt != port(u):
		return false
	}
	if path != "" {
		if strings.HasSuffix(path, "/") {
			return strings.HasPrefix(u.Path, path)
		}
		return u.Path == path
	}
	return true
}

// policies returns the policies that govern the snippet: the header's
// and those of <meta> elements before it.
func (d *doctorRun) policies() []cspPolicy {
	var ps []cspPolicy
	for k, vs := range d.page.header {
		if !strings.EqualFold(k, "Content-Security-Policy") {
			continue
		}
		for _, v := range vs {
			for _, p := range strings.Split(v, ",") {
				if strings.TrimSpace(p) != "" {
					ps = append(ps, parsePolicy("header", p))
				}
			}
		}
	}
	for _, m := range d.scan.metaCSP {
		if m.start < d.scan.first {
			ps = append(ps, parsePolicy(fmt.Sprintf("<meta> at byte %d", m.start), m.content))
		}
	}
	return ps
}

// checkCSP checks that every policy lets the snippet's scripts run, then
// the loader and Trusted Types under the same policies.
func (d *doctorRun) checkCSP() {
	rep, sc := d.rep, d.scan
	if !sc.hasSnippet() {
		rep.add(vInfo, "csp", "not checked: no snippet", "")
		return
	}
	ps := d.policies()
	if len(ps) == 0 {
		rep.add(vOK, "csp", "no Content-Security-Policy: nothing blocks the snippet", "")
		if len(sc.data) > 0 {
			rep.add(vOK, "loader", "no Content-Security-Policy: nothing blocks the product's loader", "")
		}
		rep.add(vOK, "trusted-types", "not required", "")
		return
	}
	loggedIn := len(sc.data) > 0
	var inline element
	if loggedIn {
		inline = sc.data[0]
	} else {
		inline = sc.anonymous[0]
	}
	blocked := vWarn // the anonymous script only stops the product after logout
	if loggedIn {
		blocked = vFail
	}
	cspOK := true
	for _, p := range ps {
		name, srcs, ok := p.scriptSources()
		if !ok {
			continue
		}
		if !inlineAllowed(srcs, inline.nonce, inline.text) {
			cspOK = false
			why := "the script carries no nonce"
			if inline.nonce != "" {
				why = "it lists no 'nonce-" + inline.nonce + "'"
			}
			if has(srcs, "'unsafe-inline'") {
				why += " ('unsafe-inline' is ignored beside a nonce, a hash or 'strict-dynamic')"
			}
			rep.add(blocked, "csp", fmt.Sprintf("the %s policy's %s blocks the snippet's inline script: %s", p.source, name, why), fixNonce)
		}
		if loggedIn && len(sc.runtime) > 0 {
			rt := sc.runtime[0]
			base, _ := d.baseFor(rt.start)
			if ref, err := url.Parse(strings.TrimSpace(rt.src)); err == nil {
				if u := base.ResolveReference(ref); !urlAllowed(srcs, u, d.page.url, rt.nonce) {
					cspOK = false
					rep.add(vFail, "csp", fmt.Sprintf("the %s policy's %s blocks the runtime's script %s", p.source, name, u), fixNonce)
				}
			}
		}
	}
	if cspOK {
		n := "no nonce"
		if inline.nonce != "" {
			n = "nonce " + strconv.Quote(inline.nonce)
		}
		what := "the policy allows"
		if len(ps) > 1 {
			what = fmt.Sprintf("all %d policies allow", len(ps))
		}
		rep.add(vOK, "csp", fmt.Sprintf("%s the snippet (%s)", what, n), "")
	}
	if loggedIn {
		d.checkLoader(ps)
	}
	d.checkTrustedTypes(ps)
}

// checkLoader checks that the policies let the runtime append the
// product's loader.
func (d *doctorRun) checkLoader(ps []cspPolicy) {
	sc := d.scan
	loader, _ := url.Parse(defaultLoader)
	if sc.loader != nil && sc.loader.src != "" {
		base, _ := d.baseFor(sc.loader.start)
		if ref, err := url.Parse(strings.TrimSpace(sc.loader.src)); err == nil {
			loader = base.ResolveReference(ref)
		}
	}
	nonce := ""
	if len(sc.runtime) > 0 {
		nonce = sc.runtime[0].nonce
	} else if len(sc.data) > 0 {
		nonce = sc.data[0].nonce
	}
	origin := loader.Scheme + "://" + loader.Host
	good := true
	for _, p := range ps {
		name, srcs, ok := p.scriptSources()
		switch {
		case !ok:
		case has(srcs, "'strict-dynamic'"):
		case nonceAllowed(srcs, nonce):
			// The runtime gives the loader the nonce of its own element.
		case urlAllowed(srcs, loader, d.page.url, ""):
		default:
			good = false
			d.rep.add(vWarn, "loader", fmt.Sprintf("the %s policy's %s does not allow the product's loader %s, and has no 'strict-dynamic' or nonce the runtime passes on", p.source, name, loader),
				fmt.Sprintf("add %s to %s, or use a nonce-based policy", origin, name))
		}
	}
	if good {
		d.rep.add(vOK, "loader", fmt.Sprintf("the policies let the runtime load %s", loader), "")
	}
}

// checkTrustedTypes checks the first policy that requires Trusted Types:
// the runtime appends the loader through the productfruits policy, or
// through the template the library emits for such pages.
func (d *doctorRun) checkTrustedTypes(ps []cspPolicy) {
	for _, p := range ps {
		req, ok := p.dirs["require-trusted-types-for"]
		if !ok || !has(req, "'script'") {
			continue
		}
		switch tt, named := p.dirs["trusted-types"]; {
		case d.scan.loader != nil:
			d.rep.add(vOK, "trusted-types", fmt.Sprintf("the %s policy requires Trusted Types; the page carries the loader template", p.source), "")
		case named && !has(tt, "productfruits") && !has(tt, "*"):
			d.rep.add(vFail, "trusted-types", fmt.Sprintf("the %s policy requires Trusted Types and its trusted-types directive does not list productfruits", p.source), "add productfruits to your trusted-types directive")
		default:
			d.rep.add(vWarn, "trusted-types", fmt.Sprintf("the %s policy requires Trusted Types and the page carries no loader template", p.source), "update the library so that it emits the loader template on such pages")
		}
		return
	}
	d.rep.add(vOK, "trusted-types", "not required", "")
}
