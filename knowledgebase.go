package productfruits

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// KnowledgeBaseURL returns the link to a knowledge base the product opens
// only to your app's users: base (an absolute http(s) URL) with an hmac
// query parameter, byte for byte what the product's help page builds,
// encodeURIComponent(JSON.stringify({username, hmac: {hash, expiration}})),
// without the expiration key when there is none (JSON.stringify drops an
// undefined value). user is a signed user, as FromContext returns it. The
// link holds the user's hash: hand it to that user only. base keeps its
// query and fragment but for an hmac parameter, which is replaced. It
// fails for another base, a user without a username or hash, and strings
// that are not valid UTF-8.
func KnowledgeBaseURL(base string, user User) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("productfruits: knowledge base URL %q is not an absolute http(s) URL", base)
	}
	if err := checkUsername(user.Username); err != nil {
		return "", fmt.Errorf("productfruits: knowledge base link: %w", err)
	}
	if user.HMAC == nil || user.HMAC.Hash == "" {
		return "", errors.New("productfruits: knowledge base link: the user has no HMAC; sign it first (FromContext returns signed users)")
	}
	if !utf8.ValidString(user.HMAC.Hash) || !utf8.ValidString(user.HMAC.Expiration) {
		return "", errors.New("productfruits: knowledge base link: the HMAC is not valid UTF-8")
	}

	// The base as written, not as url.URL would print it again: only the
	// query changes.
	rest, fragment, hasFragment := strings.Cut(base, "#")
	path, query, _ := strings.Cut(rest, "?")
	var b strings.Builder
	b.Grow(len(base) + 3*len(user.Username) + 160)
	b.WriteString(path)
	b.WriteByte('?')
	for param := range strings.SplitSeq(query, "&") {
		name, _, _ := strings.Cut(param, "=")
		if n, err := url.QueryUnescape(name); param == "" || (err == nil && n == "hmac") {
			continue
		}
		b.WriteString(param)
		b.WriteByte('&')
	}
	b.WriteString("hmac=")
	b.WriteString(encodeURIComponent(knowledgeBaseJSON(user.Username, user.HMAC)))
	if hasFragment {
		b.WriteByte('#')
		b.WriteString(fragment)
	}
	return b.String(), nil
}

// knowledgeBaseJSON is JSON.stringify({username, hmac: {hash, expiration}})
// with expiration undefined, and so left out, when there is none.
func knowledgeBaseJSON(username string, h *HMAC) string {
	b := []byte(`{"username":`)
	b = appendJSStringify(b, username)
	b = append(b, `,"hmac":{"hash":`...)
	b = appendJSStringify(b, h.Hash)
	if h.Expiration != "" {
		b = append(b, `,"expiration":`...)
		b = appendJSStringify(b, h.Expiration)
	}
	return string(append(b, "}}"...))
}

// appendJSStringify appends s as JavaScript's JSON.stringify writes a
// string: only '"', '\\' and control characters escaped, everything else
// (non-ASCII, '<', U+2028) as it is. The link's bytes then match the
// product's own computation exactly; encodeURIComponent makes them safe.
func appendJSStringify(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c < 0x20 {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
				continue
			}
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// encodeURIComponent percent-encodes s as JavaScript's function of that
// name does: every UTF-8 byte but A-Z a-z 0-9 - _ . ! ~ * ' ( ), in upper
// case hex. (url.QueryEscape differs: '+' for a space, and it escapes
// ! ' ( ) *.)
func encodeURIComponent(s string) string {
	const upperHex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0xf])
	}
	return b.String()
}
