package productfruits

import (
	"encoding/json"
	"unicode/utf8"
)

// User is the product's user object, as productFruits.init and
// productFruits.identifyUser take it. Empty fields are omitted from JSON.
type User struct {
	// Username is the unique, immutable user identifier that is signed.
	Username string `json:"username"`
	// Email is the user's e-mail address.
	Email string `json:"email,omitempty"`
	// Firstname is the user's first name.
	Firstname string `json:"firstname,omitempty"`
	// Lastname is the user's last name.
	Lastname string `json:"lastname,omitempty"`
	// Role is the user's role.
	Role string `json:"role,omitempty"`
	// SignUpAt is the sign-up instant in ISO 8601, UTC.
	SignUpAt string `json:"signUpAt,omitempty"`
	// Props are custom user properties: strings, numbers, booleans, arrays
	// of strings or numbers, or nested objects.
	Props map[string]any `json:"props,omitempty"`
	// Group is the user's group, if any.
	Group *Group `json:"group,omitempty"`
	// HMAC is the identity verification signature of Username.
	HMAC *HMAC `json:"hmac,omitempty"`
}

// Group is the group member of the product's user object.
type Group struct {
	// GroupID identifies the group (JSON groupId).
	GroupID string `json:"groupId,omitempty"`
	// Props are custom group properties.
	Props map[string]any `json:"props,omitempty"`
}

// HMAC is the hmac member of the product's user object: the signature and,
// when the signature expires, the exact expiration string that was signed.
type HMAC struct {
	// Hash is the standard, padded base64 HMAC-SHA256 of username+Expiration.
	Hash string `json:"hash"`
	// Expiration is the signed expiration string, or empty when the HMAC
	// does not expire. Sign writes it in Date.prototype.toJSON form; Verify
	// also takes the other ISO 8601 forms ParseExpiration reads, as the
	// product does.
	Expiration string `json:"expiration,omitempty"`
}

// appendSignedUser encodes u as pure-ASCII JSON safe inside a <script>:
// the common fields by hand, props and group through encoding/json, and
// the hmac from sig when it is not nil, else from u.HMAC.
func appendSignedUser(dst []byte, u *User, sig *signature) ([]byte, error) {
	dst = append(dst, `{"username":`...)
	dst = appendJSONString(dst, u.Username)
	for _, f := range [...]struct{ name, val string }{
		{"email", u.Email}, {"firstname", u.Firstname}, {"lastname", u.Lastname},
		{"role", u.Role}, {"signUpAt", u.SignUpAt},
	} {
		if f.val == "" {
			continue
		}
		dst = append(dst, ',', '"')
		dst = append(dst, f.name...)
		dst = append(dst, '"', ':')
		dst = appendJSONString(dst, f.val)
	}
	if len(u.Props) > 0 {
		b, err := json.Marshal(u.Props)
		if err != nil {
			return nil, err
		}
		dst = append(dst, `,"props":`...)
		dst = appendASCII(dst, b)
	}
	if u.Group != nil {
		b, err := json.Marshal(u.Group)
		if err != nil {
			return nil, err
		}
		dst = append(dst, `,"group":`...)
		dst = appendASCII(dst, b)
	}
	if sig != nil {
		dst = append(dst, `,"hmac":{"hash":"`...)
		dst = append(dst, sig.hash()...) // base64: nothing to escape
		if exp := sig.expiration(); len(exp) > 0 {
			dst = append(dst, `","expiration":"`...)
			dst = append(dst, exp...) // digits, '-', ':', '.', 'T', 'Z'
		}
		dst = append(dst, '"', '}')
	} else if u.HMAC != nil {
		dst = append(dst, `,"hmac":{"hash":`...)
		dst = appendJSONString(dst, u.HMAC.Hash)
		if u.HMAC.Expiration != "" {
			dst = append(dst, `,"expiration":`...)
			dst = appendJSONString(dst, u.HMAC.Expiration)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

const hexDigits = "0123456789abcdef"

// jsonSafe marks the bytes appendJSONString copies unchanged.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

func appendU(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// appendEscapedRune escapes r as \uXXXX, with a surrogate pair beyond the BMP.
func appendEscapedRune(dst []byte, r rune) []byte {
	if r > 0xffff {
		r -= 0x10000
		dst = appendU(dst, 0xd800+(r>>10))
		return appendU(dst, 0xdc00+(r&0x3ff))
	}
	return appendU(dst, r)
}

// appendJSONString appends s as a JSON string literal in pure ASCII: quotes,
// backslashes and control characters escaped as JSON requires, and every
// '<', '>', '&' and non-ASCII character (U+2028 and U+2029 among them) as
// \uXXXX, so it can neither close a script element nor be garbled on a
// page without a UTF-8 charset. Invalid UTF-8 becomes U+FFFD, as with
// encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		start := i
		for i < len(s) && jsonSafe[s[i]] {
			i++
		}
		dst = append(dst, s[start:i]...)
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f:
				dst = appendU(dst, rune(c))
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		dst = appendEscapedRune(dst, r)
		i += size
	}
	return append(dst, '"')
}

// appendASCII copies JSON produced by encoding/json, which already escapes
// '<', '>', '&', U+2028 and U+2029, replacing every other non-ASCII
// character with its \uXXXX escape. Non-ASCII bytes occur only inside
// string literals, where the escape means the same character.
func appendASCII(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			dst = append(dst, b[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		dst = appendEscapedRune(dst, r)
		i += size
	}
	return dst
}
