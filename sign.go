package productfruits

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Sentinel errors returned by Sign, Verify and FormatExpiration. Test for them
// with errors.Is; the returned errors add context but never the secret.
var (
	// ErrEmptySecret means the workspace secret ("Encryption key") is empty.
	ErrEmptySecret = errors.New("productfruits: empty secret")
	// ErrSecretWhitespace means the secret has leading or trailing
	// whitespace, which the workspace's key never has: a newline from a
	// secrets file, say, that would make every HMAC wrong.
	ErrSecretWhitespace = errors.New("productfruits: the secret has leading or trailing whitespace")
	// ErrEmptyUsername means there is no username to sign.
	ErrEmptyUsername = errors.New("productfruits: empty username")
	// ErrInvalidUsername means the username is not valid UTF-8: it would not
	// survive the trip through JSON to the browser unchanged, so its HMAC
	// could never verify.
	ErrInvalidUsername = errors.New("productfruits: username is not valid UTF-8")
	// ErrAmbiguousUsername means a username ends in a date-time the
	// product would read as an expiration, and would be signed without
	// one: the product's message is the username and the expiration
	// joined with nothing between, so the hash of
	// "alice2099-01-01T00:00:00.000Z" is also alice's hash with that
	// expiration. Sign such names with an expiration (Config.TTL).
	ErrAmbiguousUsername = errors.New("productfruits: username ends in a date-time the product would read as an expiration; sign it with an expiration")
	// ErrExpirationRange means the expiration lies outside the years
	// 0000-9999, which JavaScript's Date.prototype.toJSON cannot print in
	// the form the product signs.
	ErrExpirationRange = errors.New("productfruits: expiration outside years 0000-9999")
	// ErrHashMismatch means an HMAC does not match the username and
	// expiration it claims to sign.
	ErrHashMismatch = errors.New("productfruits: hash mismatch")
	// ErrExpired means an HMAC's expiration has passed.
	ErrExpired = errors.New("productfruits: hmac expired")
	// ErrMalformedExpiration means an HMAC's expiration is not an ISO
	// 8601 date-time in a form ParseExpiration reads.
	ErrMalformedExpiration = errors.New("productfruits: malformed expiration")
)

// expirationLayout is the layout of JavaScript's Date.prototype.toJSON:
// UTC, always three fractional digits, a literal Z. Go's RFC3339Nano trims
// trailing zeros and would break the signature.
const expirationLayout = "2006-01-02T15:04:05.000Z"

// hashLen is the length of a padded standard base64 SHA-256 digest:
// base64.StdEncoding.EncodedLen(sha256.Size), a constant for array sizes.
const hashLen = (sha256.Size + 2) / 3 * 4

// FormatExpiration returns t exactly as JavaScript's Date.prototype.toJSON
// prints it: UTC, millisecond precision (finer parts are truncated, as a
// JavaScript Date holds milliseconds only) and a Z suffix, such as
// "2026-11-24T14:00:00.000Z". It returns "" for years outside 0000-9999,
// which have no such form; Sign reports those as ErrExpirationRange.
func FormatExpiration(t time.Time) string {
	var buf [len(expirationLayout)]byte
	b, ok := appendExpiration(buf[:0], t)
	if !ok {
		return ""
	}
	return string(b)
}

func appendExpiration(dst []byte, t time.Time) ([]byte, bool) {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return dst, false
	}
	hour, minute, sec := t.Clock()
	// Nanosecond is never negative, so this truncates toward the past, as
	// a JavaScript Date holding milliseconds does, before 1970 too.
	ms := t.Nanosecond() / int(time.Millisecond)
	dst = append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return dst, true
}

// ParseExpiration reads an HMAC expiration as the product does, as an ISO
// 8601 date-time: YYYY-MM-DDTHH:MM:SS, then optionally '.' and a fraction
// of any number of digits (those beyond nanoseconds are dropped), then a
// zone: Z, or an offset such as +01:00 or +0100. That takes JavaScript's
// toJSON form (2026-11-24T14:00:00.000Z, what Sign produces), .NET's
// round-trip "o" form (2026-11-24T14:00:00.0000000Z, the product's .NET
// example) and RFC 3339 times with an offset. A date-time without a zone
// (2026-11-24T14:00:00, the form the product's knowledge-base page shows)
// is read as UTC. The result is in UTC. Anything else, a date alone or a
// space for the T among them, is ErrMalformedExpiration.
func ParseExpiration(s string) (time.Time, error) {
	t, ok := parseExpiration(s)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %q is not an ISO 8601 date-time such as 2026-11-24T14:00:00.000Z", ErrMalformedExpiration, s)
	}
	return t, nil
}

// parseExpiration is ParseExpiration without an error to allocate.
func parseExpiration(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05") || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := atoiDigits(s[0:4])
	month, ok2 := atoiDigits(s[5:7])
	day, ok3 := atoiDigits(s[8:10])
	hour, ok4 := atoiDigits(s[11:13])
	minute, ok5 := atoiDigits(s[14:16])
	sec, ok6 := atoiDigits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if rest != "" && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			if n <= 9 {
				nsec = nsec*10 + int(rest[n]-'0')
			}
			n++
		}
		if n == 1 {
			return time.Time{}, false
		}
		for k := n - 1; k < 9; k++ {
			nsec *= 10
		}
		rest = rest[n:]
	}
	offset := 0
	switch {
	case rest == "", rest == "Z":
	case rest[0] == '+' || rest[0] == '-':
		z := rest[1:]
		if len(z) == len("01:00") && z[2] == ':' {
			z = z[:2] + z[3:]
		}
		hh, ok1 := atoiDigits(z[:min(2, len(z))])
		mm, ok2 := atoiDigits(z[min(2, len(z)):])
		if len(z) != 4 || !ok1 || !ok2 || hh > 23 || mm > 59 {
			return time.Time{}, false
		}
		offset = (hh*60 + mm) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

// atoiDigits reads s, ASCII digits only (no sign), as a number.
func atoiDigits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Signer computes and checks Product Fruits identity verification HMACs
// for one workspace secret. The key's inner and outer pads are hashed once,
// in NewSigner, so each Sign hashes only the message. A Signer is safe for
// concurrent use. Printing a Signer never reveals the secret.
type Signer struct {
	pool sync.Pool // of *signState
}

type signState struct {
	mac hash.Hash
	buf []byte // the message
	sum [sha256.Size]byte
}

// signature is a signed HMAC held as bytes, so that it can go straight
// into a page without a string to allocate: the base64 hash, then the
// expiration that was signed (none when the HMAC does not expire).
type signature struct {
	b [hashLen + len(expirationLayout)]byte
	n uint8 // bytes of b in use
}

// hash returns the base64 hash.
func (sig *signature) hash() []byte { return sig.b[:hashLen] }

// expiration returns the signed expiration, empty when there is none.
func (sig *signature) expiration() []byte { return sig.b[hashLen:sig.n] }

// hmac returns the signature as the user object's HMAC: one allocation
// for both strings.
func (sig *signature) hmac() HMAC {
	joined := string(sig.b[:sig.n])
	return HMAC{Hash: joined[:hashLen], Expiration: joined[hashLen:]}
}

// NewSigner returns a Signer for the workspace's secret (the "Encryption
// key" in the Product Fruits workspace settings). It fails with
// ErrEmptySecret when secret is empty and with ErrSecretWhitespace when
// it has leading or trailing whitespace, as New does.
func NewSigner(secret string) (*Signer, error) {
	if secret == "" {
		return nil, ErrEmptySecret
	}
	if strings.TrimSpace(secret) != secret {
		return nil, ErrSecretWhitespace
	}
	return newSigner(secret), nil
}

// newSigner returns the Signer of a secret known not to be empty.
func newSigner(secret string) *Signer {
	key := []byte(secret)
	s := &Signer{}
	s.pool.New = func() any {
		// hmac resets to the saved pad states without rehashing the key
		// once it has been reset a first time.
		mac := hmac.New(sha256.New, key)
		mac.Reset()
		return &signState{mac: mac, buf: make([]byte, 0, 128)}
	}
	return s
}

// Format implements fmt.Formatter so that no verb prints the secret.
func (s *Signer) Format(f fmt.State, verb rune) { fmt.Fprint(f, s.String()) }

// String returns a description of the Signer without the secret.
func (s *Signer) String() string { return "productfruits.Signer{secret:" + redacted + "}" }

// GoString returns a description of the Signer without the secret.
func (s *Signer) GoString() string { return s.String() }

// Sign returns the HMAC the product expects for username: HMAC-SHA256 over
// username followed by the expiration string, keyed with the secret, in
// padded standard base64. A zero expires means no expiration; otherwise
// the expiration is FormatExpiration(expires), the very string that was
// signed. Errors: ErrEmptyUsername, ErrInvalidUsername, ErrExpirationRange.
func (s *Signer) Sign(username string, expires time.Time) (HMAC, error) {
	var sig signature
	if err := s.signInto(&sig, username, expires); err != nil {
		return HMAC{}, err
	}
	return sig.hmac(), nil
}

// signInto is Sign without allocating: the hash and expiration go into sig.
func (s *Signer) signInto(sig *signature, username string, expires time.Time) error {
	if err := checkUsername(username); err != nil {
		return err
	}
	n := hashLen
	if expires.IsZero() && endsInDateTime(username) {
		return ErrAmbiguousUsername
	}
	if !expires.IsZero() {
		b, ok := appendExpiration(sig.b[hashLen:hashLen], expires)
		if !ok {
			return fmt.Errorf("%w: %s", ErrExpirationRange, expires.UTC().Format(time.RFC3339))
		}
		n += len(b)
	}
	sig.n = uint8(n)
	st := s.pool.Get().(*signState)
	msg := append(append(st.buf[:0], username...), sig.b[hashLen:n]...)
	st.mac.Reset()
	st.mac.Write(msg)
	base64.StdEncoding.Encode(sig.b[:hashLen], st.mac.Sum(st.sum[:0]))
	st.buf = msg[:0]
	s.pool.Put(st)
	return nil
}

// Verify checks that h is the HMAC of username (and h.Expiration) under
// this Signer's secret, comparing in constant time, and that the
// expiration, if any, is after now. As the product does, it takes the
// expiration in any ISO 8601 form ParseExpiration reads, not only the
// toJSON form Sign writes: the hash is checked over the string exactly as
// given, the expiry by the instant it names. It returns nil,
// ErrHashMismatch, ErrExpired, ErrMalformedExpiration or a username error.
func (s *Signer) Verify(username string, h HMAC, now time.Time) error {
	if err := checkUsername(username); err != nil {
		return err
	}
	var exp time.Time
	if h.Expiration != "" {
		var ok bool
		if exp, ok = parseExpiration(h.Expiration); !ok {
			return ErrMalformedExpiration
		}
	}
	// Strict and exact-length: the lenient decoder accepts stray newlines
	// and non-zero padding bits, hashes the product itself would reject.
	if len(h.Hash) != hashLen {
		return ErrHashMismatch
	}
	got, err := base64.StdEncoding.Strict().DecodeString(h.Hash)
	if err != nil || len(got) != sha256.Size {
		return ErrHashMismatch
	}
	st := s.pool.Get().(*signState)
	defer s.pool.Put(st)
	msg := append(append(st.buf[:0], username...), h.Expiration...)
	st.mac.Reset()
	st.mac.Write(msg)
	st.buf = msg[:0]
	if !hmac.Equal(st.mac.Sum(st.sum[:0]), got) {
		return ErrHashMismatch
	}
	if h.Expiration != "" && !now.Before(exp) {
		return ErrExpired
	}
	return nil
}

// endsInDateTime reports whether some suffix of username is a date-time
// in a form ParseExpiration reads (and the product would read as an
// expiration). A suffix has to start with YYYY-MM-DDT: most names have no
// such place, and are told by one look per '-'.
func endsInDateTime(username string) bool {
	const minLen = len("2006-01-02T15:04:05")
	for i := 0; i+minLen <= len(username); {
		j := strings.IndexByte(username[i+4:len(username)-minLen+5], '-')
		if j < 0 {
			return false
		}
		at := i + j // where the year would start
		if username[at+7] == '-' && username[at+10] == 'T' {
			if _, ok := parseExpiration(username[at:]); ok {
				return true
			}
		}
		i = at + 1
	}
	return false
}

func checkUsername(username string) error {
	if username == "" {
		return ErrEmptyUsername
	}
	if !utf8.ValidString(username) {
		return ErrInvalidUsername
	}
	return nil
}
