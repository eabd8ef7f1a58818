package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pfverify/productfruits"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExplainerPrintsNoHash runs every slip the explainer knows through
// pfhmac verify and the doctor's hash check: each must be named, and
// neither may print a hash that verifies for any message the explainer
// tries, in any encoding, nor the hash it was given.
func TestExplainerPrintsNoHash(t *testing.T) {
	now := time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC)
	signer, err := productfruits.NewSigner(secret)
	require.NoError(t, err)
	// mac is the hash of a whole message, username and expiration joined,
	// computed apart from the code under test.
	mac := func(message string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(message))
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	raw := func(b64 string) []byte {
		d, err := base64.StdEncoding.DecodeString(b64)
		require.NoError(t, err)
		return d
	}
	std := func(h string) string { return h }
	hexLower := func(h string) string { return hex.EncodeToString(raw(h)) }
	hexUpper := func(h string) string { return strings.ToUpper(hexLower(h)) }
	urlPadded := func(h string) string { return base64.URLEncoding.EncodeToString(raw(h)) }
	urlRaw := func(h string) string { return base64.RawURLEncoding.EncodeToString(raw(h)) }
	unpadded := func(h string) string { return base64.RawStdEncoding.EncodeToString(raw(h)) }
	spaced := func(h string) string { return strings.ReplaceAll(h, "+", " ") }
	b64OfHex := func(h string) string { return base64.StdEncoding.EncodeToString([]byte(hexLower(h))) }
	padded := func(h string) string { return " " + h + "\n" }

	// A username whose hash has a '+' and a '/', so that the '+'-to-space
	// and URL-safe slips change it.
	plusUser := ""
	for i := 0; plusUser == ""; i++ {
		if u := "user" + strconv.Itoa(i); strings.Contains(mac(u), "+") && strings.Contains(mac(u), "/") {
			plusUser = u
		}
	}
	garbled := latin1ToUTF8(czechUser)

	type slip struct {
		name   string
		user   string              // as typed
		exp    string              // as typed
		signed string              // the message the hash really signs
		encode func(string) string // how the hash was sent
		secret string              // that signed it; default: secret
		at     time.Time           // default: now
		named  []string            // what verify and the doctor must both say
		more   []string            // what verify says beside
	}
	slips := []slip{
		{name: "hex digest", user: "testUser", signed: "testUser", encode: hexLower, named: []string{"a hex digest", "Only its encoding is wrong"}},
		{name: "upper-case hex digest", user: "testUser", exp: expiration, signed: "testUser" + expiration, encode: hexUpper, named: []string{"a hex digest"}},
		{name: "URL-safe base64", user: plusUser, signed: plusUser, encode: urlPadded, named: []string{"URL-safe base64 ('-' and '_'"}},
		{name: "URL-safe base64 without padding", user: plusUser, signed: plusUser, encode: urlRaw, named: []string{"URL-safe base64 without '=' padding"}},
		{name: "no padding", user: "testUser", signed: "testUser", encode: unpadded, named: []string{"no '=' padding"}},
		{name: "spaces for plus", user: plusUser, signed: plusUser, encode: spaced, named: []string{"spaces where '+' belongs"}},
		{name: "surrounding whitespace", user: "testUser", signed: "testUser", encode: padded, named: []string{"leading or trailing whitespace"}},
		{name: "base64 of a hex digest", user: "testUser", signed: "testUser", encode: b64OfHex, named: []string{"base64 of a hex digest"}},
		{name: "hex digest of a re-formatted expiration", user: "testUser", exp: expiration, signed: "testUser2026-11-24T14:00:00Z", encode: hexLower, named: []string{"a hex digest", `rendered as "2026-11-24T14:00:00Z"`}},
		{name: "malformed expiration signed as given", user: "testUser", exp: "2026-11-24 14:00:00Z", signed: "testUser2026-11-24 14:00:00Z", named: []string{"signs the expiration exactly as given", `sign "` + expiration + `"`}, more: []string{"malformed expiration"}},
		{name: "unreadable expiration signed as given", user: "testUser", exp: "tomorrow", signed: "testUsertomorrow", named: []string{"sign and send an expiration such as"}, more: []string{"malformed expiration"}},
		{name: "expiration re-formatted into a malformed one", user: "testUser", exp: "2026-11-24 14:00:00Z", signed: "testUser" + expiration, named: []string{"re-formatted on the way"}},
		{name: "hash without expiration, one given", user: "testUser", exp: expiration, signed: "testUser", named: []string{"signs the username without expiration"}},
		{name: "null expiration", user: "testUser", signed: "testUsernull", named: []string{`followed by "null"`}},
		{name: "undefined expiration", user: "testUser", signed: "testUserundefined", named: []string{`followed by "undefined"`}},
		{name: "toJSON signed, another form sent", user: "testUser", exp: "2026-11-24T14:00:00Z", signed: "testUser" + expiration, named: []string{`rendered as "` + expiration + `" (Date.prototype.toJSON)`}},
		{name: "trimmed username", user: " testUser ", signed: "testUser", named: []string{`signs the username "testUser" (without surrounding whitespace)`}},
		{name: "lower-cased username", user: "TestUser", signed: "testuser", named: []string{"(lower-cased)"}},
		{name: "username garbled by the signer", user: czechUser, signed: garbled, named: []string{"read as Latin-1"}},
		{name: "username garbled by the page", user: garbled, signed: czechUser, named: []string{"before its UTF-8 bytes were garbled"}},
		{name: "wrong username", user: "bob", signed: "alice", named: []string{"no common slip"}, more: []string{"the username is exactly what the page sends"}},
		{name: "wrong secret", user: "testUser", signed: "testUser", secret: "another workspace's key", named: []string{"no common slip"}, more: []string{"Encryption key"}},
		{name: "slip and expired", user: "testUser", exp: expiration, signed: "testUser2026-11-24T14:00:00Z", at: now.Add(2 * time.Hour), named: []string{`rendered as "2026-11-24T14:00:00Z"`}, more: []string{"passed 1h0m0s ago"}},
	}
	expTime, _ := parseExpiration(expiration)
	seen := map[string]bool{expiration: true}
	for _, r := range renderings(expTime) {
		if seen[r.s] {
			continue // the first rendering of a string is the one named
		}
		seen[r.s] = true
		slips = append(slips, slip{
			name: "expiration signed as " + r.name, user: "testUser", exp: expiration, signed: "testUser" + r.s,
			named: []string{`rendered as "` + r.s + `" (` + r.name + ")"},
		})
	}

	for _, tt := range slips {
		t.Run(tt.name, func(t *testing.T) {
			key := secret
			if tt.secret != "" {
				key = tt.secret
			}
			encode := tt.encode
			if encode == nil {
				encode = std
			}
			at := now
			if !tt.at.IsZero() {
				at = tt.at
			}
			hash := encode(refHash(key, tt.signed))

			// Every message the explainer might try, and the one signed.
			users := []string{tt.user, "alice"}
			for _, v := range usernameVariants(tt.user) {
				users = append(users, v.user)
			}
			exps := []string{tt.exp, "", "null", "undefined", expiration}
			if e, ok := parseExpiration(tt.exp); ok {
				for _, r := range renderings(e) {
					exps = append(exps, r.s)
				}
			}
			messages := []string{tt.signed}
			for _, u := range users {
				for _, e := range exps {
					messages = append(messages, u+e)
				}
			}
			var forbidden []string
			for _, m := range messages {
				if m == "" {
					continue
				}
				h := mac(m)
				forbidden = append(forbidden, h, hexLower(h), hexUpper(h), urlPadded(h), urlRaw(h), unpadded(h), spaced(h), b64OfHex(h))
			}
			forbidden = append(forbidden, strings.TrimSpace(hash))
			check := func(t *testing.T, out string, named []string) {
				t.Helper()
				for _, s := range named {
					assert.Contains(t, out, s)
				}
				for _, h := range forbidden {
					if !assert.NotContains(t, out, h, "prints a hash") {
						break
					}
				}
				assert.NotContains(t, out, secret)
				if t.Failed() {
					t.Logf("output:\n%s", out)
				}
			}

			t.Run("verify", func(t *testing.T) {
				args := []string{"verify", "-user", tt.user, "-hash", hash}
				if tt.exp != "" {
					args = append(args, "-expiration", tt.exp)
				}
				var stdout, stderr bytes.Buffer
				code := run(args, func(k string) string { return map[string]string{secretEnv: secret}[k] }, nil, &stdout, &stderr, func() time.Time { return at })
				assert.Equal(t, exitFail, code)
				check(t, stdout.String()+stderr.String(), append(tt.named, tt.more...))
			})

			t.Run("doctor", func(t *testing.T) {
				var out bytes.Buffer
				d := &doctorRun{signer: signer, mac: newMAC(secret), now: at, rep: &report{w: &out}, data: &pageData{
					User: productfruits.User{Username: tt.user, HMAC: &productfruits.HMAC{Hash: hash, Expiration: tt.exp}},
				}}
				d.checkHash()
				assert.Regexp(t, verdictLine("FAIL", "hash"), out.String())
				check(t, out.String(), tt.named)
			})
		})
	}
}
