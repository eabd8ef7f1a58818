package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Published vectors from REFERENCE.md.
const (
	secret      = "SecretkeyFromWorkspaceSettings"
	hashNoExp   = "LZGb1SPNlIIk0XBPWhCXc7boAxE/pmul4Mrzt23ZfEg="
	expiration  = "2026-11-24T14:00:00.000Z"
	hashWithExp = "vuVMGdJMYlBRXB72GgxCOUbp3hYdyzWfkoF2UXoGzpA="
	janeHash    = "ChhHEBC1inWNHWeJjIV/jWHCh/NyPUDZ2T/MR60k+HY="
	czechUser   = "Žluťoučký kůň"
	czechHash   = "9/oC/hq4ezTsGAkrneveSYQnc8UnkNSdZ8ER9EK1MtU="
)

// refHash is the reference computation, independent of the library:
// base64(HMAC-SHA256(secret, message)).
func refHash(secret, message string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(message))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func toHex(t *testing.T, b64 string) string {
	t.Helper()
	d, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	return hex.EncodeToString(d)
}

func TestRun(t *testing.T) {
	// An hour before the vectors' expiration.
	now := time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC)

	dir := t.TempDir()
	writeFile := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	secretFile := writeFile("secret", secret)
	secretLF := writeFile("secret-lf", secret+"\n")
	secretCRLF := writeFile("secret-crlf", secret+"\r\n")
	emptyFile := writeFile("empty", "\n")
	missingFile := filepath.Join(dir, "missing")

	withSecret := map[string]string{secretEnv: secret}
	urlSafe := strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(hashNoExp), "=")

	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		stdin      string
		now        time.Time // default: now
		wantCode   int
		wantStdout string   // exact, unless stdoutHas is set
		stdoutHas  []string // substrings of stdout
		stderrHas  []string // substrings of stderr; stderr must be empty when nil and wantCode is 0
		stderrNot  []string
	}{
		// sign, against the published vectors.
		{
			name:       "sign without expiration",
			args:       []string{"sign", "-user", "testUser"},
			env:        withSecret,
			wantStdout: `{"hash":"` + hashNoExp + `"}` + "\n",
		},
		{
			name:       "sign with ttl",
			args:       []string{"sign", "-user", "testUser", "-ttl", "1h"},
			env:        withSecret,
			wantStdout: `{"hash":"` + hashWithExp + `","expiration":"` + expiration + `"}` + "\n",
		},
		{
			name:       "sign with expires in Z form",
			args:       []string{"sign", "-user", "testUser", "-expires", "2026-11-24T14:00:00Z"},
			env:        withSecret,
			wantStdout: `{"hash":"` + hashWithExp + `","expiration":"` + expiration + `"}` + "\n",
		},
		{
			name:       "sign with expires in another zone",
			args:       []string{"sign", "-user", "testUser", "-expires=2026-11-24T15:00:00+01:00"},
			env:        withSecret,
			wantStdout: `{"hash":"` + hashWithExp + `","expiration":"` + expiration + `"}` + "\n",
		},
		{
			name:       "sign with milliseconds",
			args:       []string{"sign", "-user", "jane.doe@example.com", "-expires", "2030-01-01T00:00:00.007Z"},
			env:        map[string]string{secretEnv: "k"},
			wantStdout: `{"hash":"` + janeHash + `","expiration":"2030-01-01T00:00:00.007Z"}` + "\n",
		},
		{
			name:       "sign non-ASCII username",
			args:       []string{"sign", "-user", czechUser},
			env:        withSecret,
			wantStdout: `{"hash":"` + czechHash + `"}` + "\n",
		},
		{
			name:       "sign with secret file",
			args:       []string{"sign", "-user", "testUser", "-secret-file", secretFile},
			wantStdout: `{"hash":"` + hashNoExp + `"}` + "\n",
		},
		{
			// As productfruits.New refuses it: the tool and the app agree.
			name:      "secret file ending in LF refused, without the secret",
			args:      []string{"sign", "-user", "testUser", "-secret-file", secretLF},
			wantCode:  exitUsage,
			stderrHas: []string{"the file " + secretLF + " has leading or trailing whitespace", "productfruits.New"},
			stderrNot: []string{secret},
		},
		{
			name:      "secret file ending in CRLF refused",
			args:      []string{"sign", "-secret-file", secretCRLF, "-user", "testUser"},
			wantCode:  exitUsage,
			stderrHas: []string{"leading or trailing whitespace"},
			stderrNot: []string{secret},
		},
		{
			name:       "secret file wins over environment",
			args:       []string{"sign", "-user", "testUser", "-secret-file", secretFile},
			env:        map[string]string{secretEnv: "not the secret"},
			wantStdout: `{"hash":"` + hashNoExp + `"}` + "\n",
		},
		{
			name:       "sign with past expiration warns",
			args:       []string{"sign", "-user", "testUser", "-expires", "2026-11-24T14:00:00Z"},
			env:        withSecret,
			now:        now.Add(2 * time.Hour),
			wantStdout: `{"hash":"` + hashWithExp + `","expiration":"` + expiration + `"}` + "\n",
			stderrHas:  []string{"warning", "not in the future"},
		},

		// sign errors.
		{
			name:      "sign ttl and expires together",
			args:      []string{"sign", "-user", "testUser", "-ttl", "1h", "-expires", "2026-11-24T14:00:00Z"},
			env:       withSecret,
			wantCode:  exitUsage,
			stderrHas: []string{"-ttl and -expires exclude each other"},
		},
		{
			name:      "sign negative ttl",
			args:      []string{"sign", "-user", "testUser", "-ttl", "-1h"},
			env:       withSecret,
			wantCode:  exitUsage,
			stderrHas: []string{"-ttl must be positive"},
		},
		{
			name:      "sign bad expires",
			args:      []string{"sign", "-user", "testUser", "-expires", "tomorrow"},
			env:       withSecret,
			wantCode:  exitUsage,
			stderrHas: []string{"the value of -expires is not an ISO 8601 time", "(not shown"},
			stderrNot: []string{"tomorrow"},
		},
		{
			name:      "sign expiration out of range",
			args:      []string{"sign", "-user", "testUser", "-ttl", "100000h"},
			env:       withSecret,
			now:       time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
			wantCode:  exitFail,
			stderrHas: []string{"outside years 0000-9999"},
		},
		{
			name:      "sign without user",
			args:      []string{"sign"},
			env:       withSecret,
			wantCode:  exitUsage,
			stderrHas: []string{"-user is required"},
		},
		{
			name:      "sign invalid UTF-8 username",
			args:      []string{"sign", "-user", "bad\xffname"},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{"not valid UTF-8"},
		},
		{
			name:      "sign without secret",
			args:      []string{"sign", "-user", "testUser"},
			wantCode:  exitUsage,
			stderrHas: []string{"no secret", secretEnv, "-secret-file"},
		},
		{
			name:      "sign missing secret file",
			args:      []string{"sign", "-user", "testUser", "-secret-file", missingFile},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{"reading secret", "-secret-file names no file that exists"},
			stderrNot: []string{missingFile},
		},
		{
			name:      "sign empty secret file",
			args:      []string{"sign", "-user", "testUser", "-secret-file", emptyFile},
			wantCode:  exitFail,
			stderrHas: []string{"is empty"},
		},
		{
			name:      "sign unexpected argument",
			args:      []string{"sign", "-user", "testUser", "extra"},
			env:       withSecret,
			wantCode:  exitUsage,
			stderrHas: []string{"unexpected argument #4 (not shown: it may be a secret)"},
			stderrNot: []string{"extra"},
		},
		{
			name:      "sign unknown flag",
			args:      []string{"sign", "-user", "testUser", "-nope"},
			env:       withSecret,
			wantCode:  exitUsage,
			stderrHas: []string{"argument #4 is not a flag of sign (not shown", "-expires, -secret-file, -ttl and -user"},
			stderrNot: []string{"nope"},
		},
		{
			name:      "sign misspelt flag",
			args:      []string{"sign", "-usr", "testUser"},
			env:       withSecret,
			wantCode:  exitUsage,
			stderrHas: []string{"argument #2 is not a flag of sign", "(did you mean -user?)"},
		},
		{
			name:      "sign invalid ttl",
			args:      []string{"sign", "-user", "testUser", "-ttl", "an hour"},
			env:       withSecret,
			wantCode:  exitUsage,
			stderrHas: []string{"argument #5 is not a valid value for -ttl (not shown", "such as 1h"},
			stderrNot: []string{"an hour"},
		},

		// -secret is refused, and its value never echoed.
		{
			name:      "secret flag with value",
			args:      []string{"sign", "-user", "testUser", "-secret", secret},
			wantCode:  exitUsage,
			stderrHas: []string{"there is no -secret flag", secretEnv, "-secret-file"},
		},
		{
			name:      "secret flag with equals",
			args:      []string{"verify", "-user", "testUser", "-hash", hashNoExp, "--secret=" + secret},
			wantCode:  exitUsage,
			stderrHas: []string{"there is no -secret flag", secretEnv, "-secret-file"},
		},
		{
			name:      "secret flag without value",
			args:      []string{"sign", "-user", "testUser", "-secret"},
			env:       withSecret,
			wantCode:  exitUsage,
			stderrHas: []string{"there is no -secret flag"},
		},
		{
			name:      "secret flag refused even with env set",
			args:      []string{"sign", "-secret", secret, "-user", "testUser"},
			env:       withSecret,
			wantCode:  exitUsage,
			stderrHas: []string{"there is no -secret flag"},
		},

		// verify succeeds.
		{
			name:       "verify without expiration",
			args:       []string{"verify", "-user", "testUser", "-hash", hashNoExp},
			env:        withSecret,
			wantStdout: "ok\n",
		},
		{
			name:       "verify with expiration",
			args:       []string{"verify", "-user", "testUser", "-hash", hashWithExp, "-expiration", expiration},
			env:        withSecret,
			wantStdout: "ok\nexpires in 1h0m0s, at " + expiration + "\n",
		},
		{
			name: "verify .NET round-trip o form",
			args: []string{"verify", "-user", "testUser", "-hash", refHash(secret, "testUser2026-11-24T14:00:00.0000000Z"), "-expiration", "2026-11-24T14:00:00.0000000Z"},
			env:  withSecret,
			wantStdout: "ok\nexpires in 1h0m0s, at 2026-11-24T14:00:00.0000000Z\n" +
				`note: the expiration is in .NET's round-trip "o" form (seven fractional digits, Z), not in the toJSON form that this library and the product's NodeJS example sign ("` + expiration + `" for this instant). ` +
				"The product reads it too, and the hash is right because it signs the very string the page sends.\n",
		},
		{
			name:      "verify RFC 3339 without fraction",
			args:      []string{"verify", "-user", "testUser", "-hash", refHash(secret, "testUser2026-11-24T14:00:00Z"), "-expiration", "2026-11-24T14:00:00Z"},
			env:       withSecret,
			stdoutHas: []string{"ok\n", "ISO 8601 in UTC without fractional seconds", "The product reads it too"},
		},
		{
			name:      "verify offset form",
			args:      []string{"verify", "-user", "testUser", "-hash", refHash(secret, "testUser2026-11-24T15:30:00.0+01:00"), "-expiration", "2026-11-24T15:30:00.0+01:00"},
			env:       withSecret,
			stdoutHas: []string{"ok\n", "expires in 1h30m0s", "offset +01:00, with 1 fractional digit,", `"2026-11-24T14:30:00.000Z" for this instant`},
		},
		{
			name:      "verify without zone, read as UTC",
			args:      []string{"verify", "-user", "testUser", "-hash", refHash(secret, "testUser2026-11-24T14:00:00"), "-expiration", "2026-11-24T14:00:00"},
			env:       withSecret,
			stdoutHas: []string{"ok\n", "expires in 1h0m0s", "without a zone", "read as UTC: make sure the backend meant UTC"},
		},
		{
			name:      "verify expired offset form",
			args:      []string{"verify", "-user", "testUser", "-hash", refHash(secret, "testUser2026-11-24T14:00:00+01:00"), "-expiration", "2026-11-24T14:00:00+01:00"},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{"expired", "passed 0s ago"},
		},
		{
			name:       "verify with secret file",
			args:       []string{"verify", "-user", czechUser, "-hash", czechHash, "-secret-file", secretFile},
			wantStdout: "ok\n",
		},

		// verify fails, with explanations.
		{
			name:      "verify expired",
			args:      []string{"verify", "-user", "testUser", "-hash", hashWithExp, "-expiration", expiration},
			env:       withSecret,
			now:       now.Add(90 * time.Minute),
			wantCode:  exitFail,
			stderrHas: []string{"expired", "passed 30m0s ago", "identifyUser"},
		},
		{
			name:     "verify mismatch",
			args:     []string{"verify", "-user", "otherUser", "-hash", hashNoExp},
			env:      withSecret,
			wantCode: exitFail,
			stderrHas: []string{
				"hash mismatch", `the hash "LZGb1S…" is not`, `"otherUser"`, "no common slip", "no hash is shown",
			},
			stderrNot: []string{hashNoExp, refHash(secret, "otherUser")},
		},
		{
			name:      "verify wrong secret",
			args:      []string{"verify", "-user", "testUser", "-hash", hashNoExp},
			env:       map[string]string{secretEnv: "another workspace's key"},
			wantCode:  exitFail,
			stderrHas: []string{"hash mismatch", "Encryption key"},
		},
		{
			name:      "verify hex hash",
			args:      []string{"verify", "-user", "testUser", "-hash", toHex(t, hashNoExp)},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{"hex digest", "standard base64", "Only its encoding is wrong"},
			stderrNot: []string{"no common slip", hashNoExp, toHex(t, hashNoExp)},
		},
		{
			name:      "verify upper-case hex hash with expiration",
			args:      []string{"verify", "-user", "testUser", "-hash", strings.ToUpper(toHex(t, hashWithExp)), "-expiration", expiration},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{"hex digest", "Only its encoding is wrong"},
			stderrNot: []string{hashWithExp},
		},
		{
			name:      "verify URL-safe unpadded hash",
			args:      []string{"verify", "-user", "testUser", "-hash", urlSafe},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{"URL-safe base64"},
			stderrNot: []string{hashNoExp, urlSafe},
		},
		{
			name:      "verify unpadded hash",
			args:      []string{"verify", "-user", "testUser", "-hash", strings.TrimRight(hashWithExp, "="), "-expiration", expiration},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{"no '=' padding"},
			stderrNot: []string{strings.TrimRight(hashWithExp, "=")},
		},
		{
			name:      "verify hash with spaces for plus",
			args:      []string{"verify", "-user", "jane.doe@example.com", "-hash", strings.ReplaceAll(janeHash, "+", " "), "-expiration", "2030-01-01T00:00:00.007Z"},
			env:       map[string]string{secretEnv: "k"},
			wantCode:  exitFail,
			stderrHas: []string{"spaces where '+' belongs"},
		},
		{
			name:      "verify base64 of hex",
			args:      []string{"verify", "-user", "testUser", "-hash", base64.StdEncoding.EncodeToString([]byte(toHex(t, hashNoExp)))},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{"base64 of a hex digest"},
		},
		{
			name:      "verify garbage hash",
			args:      []string{"verify", "-user", "testUser", "-hash", "nonsense"},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{"not a base64 SHA-256 digest", "8 characters", "no hash is shown"},
			stderrNot: []string{"no common slip", hashNoExp},
		},
		{
			name:     "verify toJSON hash sent without milliseconds",
			args:     []string{"verify", "-user", "testUser", "-hash", hashWithExp, "-expiration", "2026-11-24T14:00:00Z"},
			env:      withSecret,
			wantCode: exitFail,
			stderrHas: []string{
				"hash mismatch", `rendered as "` + expiration + `" (Date.prototype.toJSON), but "2026-11-24T14:00:00Z" was given`,
			},
			stderrNot: []string{"malformed", "no common slip", "passed", hashWithExp, refHash(secret, "testUser2026-11-24T14:00:00Z")},
		},
		{
			name:     "verify toJSON hash sent with +00:00 offset",
			args:     []string{"verify", "-user", "testUser", "-hash", hashWithExp, "-expiration", "2026-11-24T14:00:00.000+00:00"},
			env:      withSecret,
			wantCode: exitFail,
			stderrHas: []string{
				`rendered as "` + expiration + `" (Date.prototype.toJSON)`, `the one string "2026-11-24T14:00:00.000+00:00"`,
			},
			stderrNot: []string{"malformed"},
		},
		{
			name:      "verify .NET o hash sent in toJSON form",
			args:      []string{"verify", "-user", "testUser", "-hash", refHash(secret, "testUser2026-11-24T14:00:00.0000000Z"), "-expiration", expiration},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{`rendered as "2026-11-24T14:00:00.0000000Z" (.NET's round-trip "o" form)`},
		},
		{
			name:      "verify expiration with a space for the T",
			args:      []string{"verify", "-user", "testUser", "-hash", refHash(secret, "testUser2026-11-24 14:00:00Z"), "-expiration", "2026-11-24 14:00:00Z"},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{"malformed expiration", "not an ISO 8601 date-time the product reads", "signs the expiration exactly as given", `sign "` + expiration + `" and send that`},
		},
		{
			name:      "verify unparseable expiration",
			args:      []string{"verify", "-user", "testUser", "-hash", hashWithExp, "-expiration", "tomorrow"},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{`"tomorrow" is not an ISO 8601 date-time`},
		},
		{
			name:      "verify hash without expiration while one is given",
			args:      []string{"verify", "-user", "testUser", "-hash", hashNoExp, "-expiration", expiration},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{"signs the username without expiration, but an expiration was given"},
			stderrNot: []string{hashNoExp, hashWithExp},
		},
		{
			name:      "verify hash over null expiration",
			args:      []string{"verify", "-user", "testUser", "-hash", refHash(secret, "testUsernull")},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{`followed by "null"`},
		},
		{
			name:      "verify expiration re-formatted after signing",
			args:      []string{"verify", "-user", "testUser", "-hash", refHash(secret, "testUser2026-11-24T14:00:00Z"), "-expiration", expiration},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{`rendered as "2026-11-24T14:00:00Z"`, "RFC 3339"},
		},
		{
			name:      "verify expiration signed as Unix milliseconds",
			args:      []string{"verify", "-user", "testUser", "-hash", refHash(secret, "testUser"+strconv.FormatInt(now.Add(time.Hour).UnixMilli(), 10)), "-expiration", expiration},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{"Unix milliseconds"},
		},
		{
			name:      "verify hash for trimmed username",
			args:      []string{"verify", "-user", "testUser ", "-hash", hashNoExp},
			env:       withSecret,
			wantCode:  exitFail,
			stderrHas: []string{`signs the username "testUser"`, "whitespace"},
		},
		{
			// productfruits.New refuses such a secret, and so does pfhmac:
			// the two never disagree on what is signed.
			name:      "verify secret with stray whitespace",
			args:      []string{"verify", "-user", "testUser", "-hash", hashNoExp},
			env:       map[string]string{secretEnv: secret + " "},
			wantCode:  exitUsage,
			stderrHas: []string{"$" + secretEnv + " has leading or trailing whitespace"},
		},
		{
			name:      "verify mismatch and expired",
			args:      []string{"verify", "-user", "testUser", "-hash", hashNoExp, "-expiration", expiration},
			env:       withSecret,
			now:       now.Add(3 * time.Hour),
			wantCode:  exitFail,
			stderrHas: []string{"without expiration", "passed 2h0m0s ago"},
		},

		// -hash - reads the hash from standard input.
		{
			name:       "verify hash from stdin",
			args:       []string{"verify", "-user", "testUser", "-hash", "-"},
			env:        withSecret,
			stdin:      hashNoExp + "\n",
			wantStdout: "ok\n",
		},
		{
			name:       "verify hash from stdin, CRLF, -hash=-",
			args:       []string{"verify", "-user", "testUser", "-hash=-", "-expiration", expiration},
			env:        withSecret,
			stdin:      hashWithExp + "\r\n",
			wantStdout: "ok\nexpires in 1h0m0s, at " + expiration + "\n",
		},
		{
			name:       "verify hash from stdin without newline, first line only",
			args:       []string{"verify", "-hash", "-", "-user", "testUser"},
			env:        withSecret,
			stdin:      hashNoExp,
			wantStdout: "ok\n",
		},
		{
			name:       "verify hash from stdin reads the first line only",
			args:       []string{"verify", "-user", "testUser", "-hash", "-"},
			env:        withSecret,
			stdin:      hashNoExp + "\n" + hashWithExp + "\n",
			wantStdout: "ok\n",
		},
		{
			name:      "verify hash from stdin mismatch",
			args:      []string{"verify", "-user", "otherUser", "-hash", "-"},
			env:       withSecret,
			stdin:     hashNoExp + "\n",
			wantCode:  exitFail,
			stderrHas: []string{"hash mismatch", `the hash "LZGb1S…" is not the hash of username "otherUser"`, "no common slip"},
			stderrNot: []string{hashNoExp, refHash(secret, "otherUser")},
		},
		{
			name:      "verify hex hash from stdin",
			args:      []string{"verify", "-user", "testUser", "-hash", "-"},
			env:       withSecret,
			stdin:     toHex(t, hashNoExp) + "\n",
			wantCode:  exitFail,
			stderrHas: []string{"hex digest", "Only its encoding is wrong"},
			stderrNot: []string{hashNoExp, toHex(t, hashNoExp)},
		},
		{
			name:      "verify hash from empty stdin",
			args:      []string{"verify", "-user", "testUser", "-hash", "-"},
			env:       withSecret,
			stdin:     "\n",
			wantCode:  exitUsage,
			stderrHas: []string{"-hash - found no hash: the first line of standard input is empty"},
		},
		{
			name:      "verify hash from endless stdin",
			args:      []string{"verify", "-user", "testUser", "-hash", "-"},
			env:       withSecret,
			stdin:     strings.Repeat("A", 10000),
			wantCode:  exitFail,
			stderrHas: []string{"longer than 4096 bytes"},
		},

		// verify usage errors.
		{
			name:      "verify without hash",
			args:      []string{"verify", "-user", "testUser"},
			env:       withSecret,
			wantCode:  exitUsage,
			stderrHas: []string{"-hash is required"},
		},
		{
			name:      "verify without user",
			args:      []string{"verify", "-hash", hashNoExp},
			env:       withSecret,
			wantCode:  exitUsage,
			stderrHas: []string{"-user is required"},
		},
		{
			name:      "verify without secret",
			args:      []string{"verify", "-user", "testUser", "-hash", hashNoExp},
			wantCode:  exitUsage,
			stderrHas: []string{"no secret"},
		},

		// help and top-level usage.
		{
			name:      "help",
			args:      []string{"help"},
			stdoutHas: []string{"Usage:", "pfhmac sign", "pfhmac verify -user NAME -hash HASH|-", secretEnv, "Only sign prints a hash", "(not shown: it may be a secret)"},
		},
		{
			name:      "-h",
			args:      []string{"-h"},
			stdoutHas: []string{"Usage:"},
		},
		{
			name:      "help sign",
			args:      []string{"help", "sign"},
			stdoutHas: []string{"-ttl DURATION"},
		},
		{
			name:      "sign -h",
			args:      []string{"sign", "-h"},
			stdoutHas: []string{"-ttl DURATION", "-secret-file PATH"},
		},
		{
			name:      "verify -help",
			args:      []string{"verify", "-help"},
			stdoutHas: []string{"-expiration EXPIRATION", "-hash - reads it from the\n", "never prints a\nhash"},
		},
		{
			name:      "help unknown",
			args:      []string{"help", "nope"},
			wantCode:  exitUsage,
			stderrHas: []string{"help: argument #2 is not a command (not shown", "sign, verify, doctor"},
			stderrNot: []string{"nope"},
		},
		{
			name:      "no arguments",
			args:      nil,
			wantCode:  exitUsage,
			stderrHas: []string{"Usage:"},
		},
		{
			name:      "unknown command",
			args:      []string{"check"},
			env:       withSecret,
			wantCode:  exitUsage,
			stderrHas: []string{"argument #1 is not a command (not shown", "pfhmac help"},
			stderrNot: []string{"check"},
		},
		{
			name:      "misspelt command",
			args:      []string{"verfy"},
			wantCode:  exitUsage,
			stderrHas: []string{"argument #1 is not a command", "(did you mean verify?)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := now
			if !tt.now.IsZero() {
				at = tt.now
			}
			env := func(k string) string { return tt.env[k] }
			var stdout, stderr bytes.Buffer
			code := run(tt.args, env, strings.NewReader(tt.stdin), &stdout, &stderr, func() time.Time { return at })

			assert.Equal(t, tt.wantCode, code, "stderr: %s", stderr.String())
			if tt.stdoutHas != nil {
				for _, s := range tt.stdoutHas {
					assert.Contains(t, stdout.String(), s)
				}
			} else {
				assert.Equal(t, tt.wantStdout, stdout.String())
			}
			for _, s := range tt.stderrHas {
				assert.Contains(t, stderr.String(), s)
			}
			for _, s := range tt.stderrNot {
				assert.NotContains(t, stderr.String(), s)
			}
			if tt.wantCode == exitOK && tt.stderrHas == nil {
				assert.Empty(t, stderr.String())
			}
			if tt.wantCode != exitOK {
				assert.NotEmpty(t, stderr.String(), "a failure must say why")
			}

			// No output ever holds the secret, whichever way it was given.
			// (The one-letter secret of the jane.doe vector is too short to check.)
			out := stdout.String() + stderr.String()
			for _, s := range []string{secret, strings.TrimSpace(tt.env[secretEnv])} {
				if len(s) >= 8 {
					assert.NotContains(t, out, s, "output reveals the secret")
				}
			}
		})
	}
}

// TestSignMatchesReference checks sign against the reference computation
// for instants whose toJSON form Go's own layouts get wrong.
func TestSignMatchesReference(t *testing.T) {
	now := time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		name, user, expires, wantExp string
	}{
		{"whole second", "a", "2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000Z"},
		{"trailing zero millis", "a", "2026-01-02T03:04:05.120Z", "2026-01-02T03:04:05.120Z"},
		{"sub-millisecond truncated", "a", "2026-01-02T03:04:05.999999Z", "2026-01-02T03:04:05.999Z"},
		{"negative offset", "ü", "2026-01-01T23:30:00-01:00", "2026-01-02T00:30:00.000Z"},
		{"no zone: UTC", "a", "2026-01-02T03:04:05", "2026-01-02T03:04:05.000Z"},
		{".NET round-trip o", "a", "2026-01-02T03:04:05.1234567+02:00", "2026-01-02T01:04:05.123Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{"sign", "-user", tt.user, "-expires", tt.expires},
				func(string) string { return secret }, nil, &stdout, &stderr, func() time.Time { return now })
			require.Equal(t, exitOK, code, stderr.String())
			want := `{"hash":"` + refHash(secret, tt.user+tt.wantExp) + `","expiration":"` + tt.wantExp + `"}` + "\n"
			assert.Equal(t, want, stdout.String())
		})
	}
}

// TestImportsNothingExternal keeps the command buildable from the standard
// library and this module alone: it is the tool people reach for when
// things are broken, and it should install with nothing else.
func TestImportsNothingExternal(t *testing.T) {
	const module = "github.com/pfverify/productfruits"
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			first, _, _ := strings.Cut(path, "/")
			standard := !strings.Contains(first, ".")
			assert.True(t, standard || path == module || strings.HasPrefix(path, module+"/"),
				"%s imports %s, which is neither standard library nor %s", name, path, module)
		}
		checked++
	}
	assert.Positive(t, checked)
}
