package productfruits

import (
	"iter"
	"log/slog"
	"net/http"
	"strings"
)

// What a page's Content-Security-Policy says about the snippet: the nonce
// its scripts must carry, whether it blocks them, and whether it requires
// Trusted Types. The policies come from the response header and from the
// page's own <meta http-equiv="Content-Security-Policy"> elements before
// the snippet (a meta policy governs only what comes after it).

// directives yields the directives of one policy, each as its name and
// sources (strings.Fields of it), skipping empty ones.
func directives(policy string) iter.Seq[[]string] {
	return func(yield func([]string) bool) {
		for dir := range strings.SplitSeq(policy, ";") {
			if fields := strings.Fields(dir); len(fields) > 0 && !yield(fields) {
				return
			}
		}
	}
}

// cspNonce returns the nonce that policies allow for scripts: from
// script-src, else from default-src.
func cspNonce(policies []string) string {
	var fallback string
	for _, policy := range policies {
		for fields := range directives(policy) {
			name := strings.ToLower(fields[0])
			if name != "script-src" && name != "default-src" {
				continue
			}
			for _, f := range fields[1:] {
				if len(f) > len("'nonce-'") && strings.HasPrefix(strings.ToLower(f), "'nonce-") && strings.HasSuffix(f, "'") {
					n := f[len("'nonce-") : len(f)-1]
					if name == "script-src" {
						return n
					}
					if fallback == "" {
						fallback = n
					}
				}
			}
		}
	}
	return fallback
}

// policyBlocks reports whether one of policies would block the snippet's
// inline script carrying nonce ("" for none), and that policy's script
// directive. The directive that governs an inline script element is
// script-src-elem, else script-src, else default-src; it allows the
// script when it lists the nonce, or 'unsafe-inline' with neither a nonce
// nor a hash source nor 'strict-dynamic' (any of which makes browsers
// ignore 'unsafe-inline').
func policyBlocks(policies []string, nonce string) (directive string, blocks bool) {
	for _, policy := range policies {
		dirs := [3][]string{} // script-src-elem, script-src, default-src
		for fields := range directives(policy) {
			switch strings.ToLower(fields[0]) {
			case "script-src-elem":
				if dirs[0] == nil {
					dirs[0] = fields
				}
			case "script-src":
				if dirs[1] == nil {
					dirs[1] = fields
				}
			case "default-src":
				if dirs[2] == nil {
					dirs[2] = fields
				}
			}
		}
		var d []string
		for _, f := range dirs {
			if f != nil {
				d = f
				break
			}
		}
		if d != nil && !inlineAllowed(d[1:], nonce) {
			return strings.Join(d, " "), true
		}
	}
	return "", false
}

// inlineAllowed applies one directive's sources to an inline script.
func inlineAllowed(sources []string, nonce string) bool {
	unsafeInline, ignoresUnsafeInline := false, false
	for _, src := range sources {
		l := strings.ToLower(src)
		switch {
		case l == "'unsafe-inline'":
			unsafeInline = true
		case l == "'strict-dynamic'":
			ignoresUnsafeInline = true
		case strings.HasPrefix(l, "'nonce-"):
			ignoresUnsafeInline = true
			if nonce != "" && src == "'nonce-"+nonce+"'" {
				return true
			}
		case strings.HasPrefix(l, "'sha256-"), strings.HasPrefix(l, "'sha384-"), strings.HasPrefix(l, "'sha512-"):
			ignoresUnsafeInline = true
		}
	}
	return unsafeInline && !ignoresUnsafeInline
}

// requiresTrustedTypes reports a require-trusted-types-for 'script'
// directive in one of policies: the page then refuses script URLs that no
// Trusted Types policy made.
func requiresTrustedTypes(policies []string) bool {
	for _, policy := range policies {
		for fields := range directives(policy) {
			if !strings.EqualFold(fields[0], "require-trusted-types-for") {
				continue
			}
			for _, f := range fields[1:] {
				if strings.EqualFold(f, "'script'") {
					return true
				}
			}
		}
	}
	return false
}

// sandboxed reports a sandbox directive in one of policies: the document
// runs in an opaque origin, typically a user's upload served by the app,
// whose own scripts must never see a signed user object.
func sandboxed(policies []string) bool {
	for _, policy := range policies {
		for fields := range directives(policy) {
			if strings.EqualFold(fields[0], "sandbox") {
				return true
			}
		}
	}
	return false
}

// warnPolicy says once that a policy blocks the snippet, where it comes
// from and what to do.
func (m *Middleware) warnPolicy(r *http.Request, from, directive string) {
	m.warnOnce(r, causePolicyBlocks,
		"the page's Content-Security-Policy ("+from+") blocks the snippet's scripts: it allows no nonce the middleware knows "+
			"and no 'unsafe-inline'. Put a 'nonce-…' source in the policy before the page is written (the snippet takes it), "+
			"or set Config.Nonce to the nonce your CSP middleware uses",
		slog.String("directive", directive))
}
