package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pfverify/productfruits"
)

// checker explains why an hmac does not verify. It recomputes the HMAC
// for the slips people make most (the digest's encoding, the expiration's
// rendering, the username's spelling) and reports the first one that
// makes the hash match. It names the slip and never prints a hash, not
// even the one given: a hash that some slip explains is valid for the
// message the slip names, and a valid hash is a credential that lasts as
// long as its expiration, forever without one.
type checker struct {
	signer     *productfruits.Signer
	mac        macFunc
	user, hash string
	exp        string // as given, in any form, readable or not
	now        time.Time
}

// candidate is a username and expiration string a hash might sign, with
// the explanation to give when it does.
type candidate struct {
	user, exp string
	why       string
}

// explain writes to w why c.hash does not verify; verr is what Verify
// returned: ErrHashMismatch or ErrMalformedExpiration (an expiration the
// product cannot read as an ISO 8601 date-time).
func (c *checker) explain(w io.Writer, verr error) {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, "- "+format+"\n", args...) }

	malformed := errors.Is(verr, productfruits.ErrMalformedExpiration)
	expTime, parsed, exact := c.expiration(malformed)

	switch {
	case malformed && exact != "":
		fmt.Fprintf(&b, "malformed expiration: %q is not an ISO 8601 date-time the product reads (YYYY-MM-DDTHH:MM:SS, a fraction, Z or an offset); the exact form of that instant, as Date.prototype.toJSON writes it, is %q.\n", c.exp, exact)
	case malformed:
		fmt.Fprintf(&b, "malformed expiration: %q is not an ISO 8601 date-time the product reads, such as 2026-11-24T14:00:00.000Z (Date.prototype.toJSON) or 2026-11-24T14:00:00.0000000Z (.NET's \"o\").\n", c.exp)
	default:
		fmt.Fprintf(&b, "hash mismatch: under this secret, the hash %s is not the hash of username %q %s.\n", truncateHash(c.hash), c.user, describeExp(c.exp))
	}

	digest, problem := decodeHash(c.hash)
	if problem != "" {
		line("the hash %s.", problem)
	}

	var found *candidate
	if digest != nil {
		found = c.match(digest, c.candidates(malformed, exact, expTime, parsed, problem != ""))
	}
	if found != nil {
		line("%s", found.why)
	}
	if malformed && exact != "" && (found == nil || found.exp != exact || found.user != c.user) {
		line("the hash does not verify with %q either.", exact)
	}
	if parsed && !expTime.After(c.now) {
		line("besides, the expiration %s passed %v ago: the product rejects even a correct hash once it has expired.", productfruits.FormatExpiration(expTime), roundDuration(c.now.Sub(expTime)))
	}
	line("no hash is shown, not even the right one: a valid hash is a credential, and this text ends up in tickets and logs. 'pfhmac sign' prints one on purpose.")
	if found == nil && digest != nil {
		line("no common slip explains the mismatch. Check that:")
		b.WriteString("    the secret is the workspace's \"Encryption key\" (workspace settings), the same one the backend uses;\n")
		b.WriteString("    the username is exactly what the page sends as user.username (an e-mail signed while an id is sent fails);\n")
		b.WriteString("    no shared cache serves the page with another user's hash;\n")
		if c.exp == "" {
			b.WriteString("    if the backend signs an expiration, the page sends it too, and you pass it here with -expiration.\n")
		} else {
			b.WriteString("    the expiration is the very string the backend signed, not re-formatted on the way.\n")
		}
	}
	io.WriteString(w, b.String())
}

// candidates lists what the hash might sign, in the order the slips are
// worth reporting. The first is the username and expiration as given.
func (c *checker) candidates(malformed bool, exact string, expTime time.Time, parsed, encodingProblem bool) []candidate {
	given := candidate{user: c.user, exp: c.exp}
	switch {
	case malformed:
		given.why = fmt.Sprintf("the hash signs the expiration exactly as given, but the product cannot read that string as an ISO 8601 date-time: sign %q and send that.", exact)
		if exact == "" {
			given.why = "the hash signs the expiration exactly as given, but the product cannot read that string as an ISO 8601 date-time: sign and send an expiration such as 2026-11-24T14:00:00.000Z."
		}
	case encodingProblem:
		given.why = "that digest is otherwise right: it signs this username and expiration as given. Only its encoding is wrong."
	}
	cands := []candidate{given}
	add := func(user, exp, format string, args ...any) {
		cands = append(cands, candidate{user: user, exp: exp, why: fmt.Sprintf(format, args...)})
	}

	if malformed && exact != "" {
		add(c.user, exact, "with the exact form %q the hash verifies: the backend signed the right string, but it was re-formatted on the way to the page (or here). Hand the browser exactly the string that was signed.", exact)
	}
	if c.exp != "" {
		add(c.user, "", "the hash signs the username without expiration, but an expiration was given: the backend signed none, so either send the hmac without expiration or sign the expiration that is sent.")
	} else {
		for _, s := range []string{"null", "undefined"} {
			add(c.user, s, "the hash signs the username followed by %q, while no expiration was given: the backend concatenated a missing expiration as a string. Without expiration, sign the username alone.", s)
		}
	}
	want := exact
	if parsed {
		if want == "" {
			want = productfruits.FormatExpiration(expTime)
		}
		for _, r := range renderings(expTime) {
			if r.s == c.exp || r.s == want {
				continue
			}
			add(c.user, r.s, "the hash signs the expiration rendered as %q (%s), but %q was given: the backend must sign, and the page send, the one string %q.", r.s, r.name, c.exp, want)
		}
	}
	if want == "" {
		want = c.exp
	}
	for _, v := range usernameVariants(c.user) {
		add(v.user, want, "the hash signs the username %q (%s), not %q: the backend signs a different spelling of the username than the page sends.", v.user, v.name, c.user)
	}
	return cands
}

// match returns the first candidate whose HMAC is digest.
func (c *checker) match(digest []byte, cands []candidate) *candidate {
	for _, cand := range cands {
		// A candidate without explanation is the hash exactly as given,
		// which Verify has already found wrong.
		if cand.why != "" && bytes.Equal(c.mac(cand.user+cand.exp), digest) {
			return &cand
		}
	}
	return nil
}

// macFunc returns the raw HMAC-SHA256 of a message under the secret.
type macFunc func(message string) []byte

// newMAC returns the macFunc of secret. The product signs username and
// expiration concatenated, so the HMAC of username+expiration is what any
// candidate is checked against, whatever string the expiration is (one
// Sign would never produce, or a username Sign refuses to sign alone
// because it ends in a date-time).
func newMAC(secret string) macFunc {
	key := []byte(secret)
	return func(message string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(message))
		return m.Sum(nil)
	}
}

// decodeHash returns the digest a hash most plausibly encodes and, when it
// is not the padded standard base64 the product expects, what is wrong
// with it. The digest is nil when the hash encodes no SHA-256 digest.
func decodeHash(h string) (digest []byte, problem string) {
	const digestLen = 32
	decode := func(enc *base64.Encoding, s string) []byte {
		d, err := enc.DecodeString(s)
		if err != nil || len(d) != digestLen {
			return nil
		}
		return d
	}
	if d := decode(base64.StdEncoding, h); d != nil {
		return d, ""
	}
	// Form decoding of a query string turns '+' into ' '.
	if strings.Contains(strings.TrimSpace(h), " ") {
		if d := decode(base64.StdEncoding, strings.ReplaceAll(strings.TrimSpace(h), " ", "+")); d != nil {
			return d, "has spaces where '+' belongs, as after URL query or form decoding"
		}
	}
	if t := strings.TrimSpace(h); t != h {
		if d, p := decodeHash(t); d != nil {
			if p == "" {
				return d, "has leading or trailing whitespace"
			}
			return d, "has leading or trailing whitespace and " + p
		}
	}
	if len(h) == hex.EncodedLen(digestLen) {
		if d, err := hex.DecodeString(h); err == nil {
			return d, "is 64 hexadecimal digits, a hex digest; the product expects standard base64 (44 characters ending in '=')"
		}
	}
	if strings.ContainsAny(h, "-_") {
		if d := decode(base64.URLEncoding, h); d != nil {
			return d, "is URL-safe base64 ('-' and '_' where '+' and '/' belong); the product expects standard base64"
		}
		if d := decode(base64.RawURLEncoding, h); d != nil {
			return d, "is URL-safe base64 without '=' padding; the product expects padded standard base64 (44 characters)"
		}
	}
	if d := decode(base64.RawStdEncoding, h); d != nil {
		return d, "has no '=' padding; the product expects padded standard base64 (44 characters ending in '=')"
	}
	if b, err := base64.StdEncoding.DecodeString(h); err == nil && len(b) == hex.EncodedLen(digestLen) {
		if d, err := hex.DecodeString(string(b)); err == nil {
			return d, "is the base64 of a hex digest (the digest was hex-encoded, then base64-encoded); the product expects the raw digest in standard base64"
		}
	}
	return nil, fmt.Sprintf("is not a base64 SHA-256 digest: it has %d characters, and a correct hash is 44 characters of standard base64 ending in '='", utf8.RuneCountInString(h))
}

// expiration reads c.exp: its instant, whether it has one, and the
// expiration to sign and send (as given when the product reads it, else
// the toJSON form of its instant; "" if none can be had).
func (c *checker) expiration(malformed bool) (t time.Time, parsed bool, exact string) {
	t, parsed = parseExpiration(c.exp)
	exact = c.exp
	if malformed {
		exact = ""
		if parsed {
			exact = productfruits.FormatExpiration(t)
		}
	}
	return t, parsed, exact
}

// parseExpiration parses an expiration in any form a backend might have
// produced: the ISO 8601 forms the product reads, and, to name the instant
// of one it cannot read, RFC 3339 with a space for the T, or Unix seconds
// or milliseconds.
func parseExpiration(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := productfruits.ParseExpiration(s); err == nil {
		return t, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch len(s) {
		case 10:
			return time.Unix(n, 0), true
		case 13:
			return time.UnixMilli(n), true
		}
	}
	return time.Time{}, false
}

type rendering struct{ s, name string }

// renderings returns the strings backends commonly sign for the instant t
// in place of its toJSON form.
func renderings(t time.Time) []rendering {
	u := t.UTC()
	return []rendering{
		{productfruits.FormatExpiration(t), "Date.prototype.toJSON"},
		{u.Format("2006-01-02T15:04:05.0000000Z"), ".NET's round-trip \"o\" form"},
		{u.Format(time.RFC3339), "RFC 3339 without fraction, such as Go's time.RFC3339"},
		{u.Format(time.RFC3339Nano), "Go's time.RFC3339Nano, which trims trailing zeros"},
		{u.Format("2006-01-02T15:04:05.000000Z"), "microsecond precision"},
		{u.Format("2006-01-02T15:04:05+00:00"), "a +00:00 offset, such as Python's isoformat"},
		{u.Format("2006-01-02T15:04:05.000000+00:00"), "Python's isoformat with microseconds"},
		{u.Format("2006-01-02T15:04:05"), "ISO 8601 without a zone"},
		{u.Format("Mon Jan 02 2006 15:04:05 GMT+0000 (Coordinated Universal Time)"), "JavaScript's Date.toString, which username + date gives for a Date object"},
		{u.Format("Mon, 02 Jan 2006 15:04:05 GMT"), "JavaScript's Date.toUTCString"},
		{strconv.FormatInt(t.UnixMilli(), 10), "Unix milliseconds"},
		{strconv.FormatInt(t.Unix(), 10), "Unix seconds"},
	}
}

type usernameVariant struct{ user, name string }

// usernameVariants returns other spellings of user that a backend or page
// may have used for the same person.
func usernameVariants(user string) []usernameVariant {
	var vs []usernameVariant
	add := func(v, name string) {
		if v == "" || v == user {
			return
		}
		for _, o := range vs {
			if o.user == v {
				return
			}
		}
		vs = append(vs, usernameVariant{v, name})
	}
	add(strings.TrimSpace(user), "without surrounding whitespace")
	add(strings.ToLower(user), "lower-cased")
	add(latin1ToUTF8(user), "its UTF-8 bytes read as Latin-1, as on a page without a UTF-8 charset")
	if u, ok := utf8FromLatin1(user); ok {
		add(u, "before its UTF-8 bytes were garbled as Latin-1 by a page without a UTF-8 charset")
	}
	return vs
}

// latin1ToUTF8 garbles s the way a page without a charset does: each UTF-8
// byte becomes the Latin-1 character of the same value.
func latin1ToUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// utf8FromLatin1 undoes latin1ToUTF8, if s can be such a garbling.
func utf8FromLatin1(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return "", false
		}
		b = append(b, byte(r))
	}
	if !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// formNote explains an expiration s that verifies, at instant t, in an
// ISO 8601 form other than toJSON's; "" for the toJSON form.
func formNote(s string, t time.Time) string {
	exact := productfruits.FormatExpiration(t)
	if s == exact {
		return ""
	}
	rest := s[len("2006-01-02T15:04:05"):]
	digits := 0
	if strings.HasPrefix(rest, ".") {
		digits = len(rest) - 1 - len(strings.TrimLeft(rest[1:], "0123456789"))
		rest = rest[1+digits:]
	}
	fraction := "without fractional seconds"
	if digits == 1 {
		fraction = "with 1 fractional digit"
	} else if digits > 1 {
		fraction = fmt.Sprintf("with %d fractional digits", digits)
	}
	var form, caveat string
	switch {
	case rest == "Z" && digits == 7:
		form = `.NET's round-trip "o" form (seven fractional digits, Z)`
	case rest == "Z":
		form = "ISO 8601 in UTC " + fraction
	case rest == "":
		form = "ISO 8601 without a zone, " + fraction
		caveat = " Without a zone it is read as UTC: make sure the backend meant UTC."
	default:
		form = fmt.Sprintf("ISO 8601 with the offset %s, %s", rest, fraction)
	}
	return fmt.Sprintf("note: the expiration is in %s, not in the toJSON form that this library and the product's NodeJS example sign (%q for this instant). "+
		"The product reads it too, and the hash is right because it signs the very string the page sends.%s", form, exact, caveat)
}

func describeExp(exp string) string {
	if exp == "" {
		return "without expiration"
	}
	return fmt.Sprintf("with expiration %q", exp)
}
