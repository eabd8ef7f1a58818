package productfruits

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return tm
}

func TestSignPublishedVectors(t *testing.T) {
	tests := []struct {
		name, secret, user, expires, wantExp, wantHash string
	}{
		{"no expiration", vectorSecret, "testUser", "", "", "LZGb1SPNlIIk0XBPWhCXc7boAxE/pmul4Mrzt23ZfEg="},
		{"expiration", vectorSecret, "testUser", "2026-11-24T14:00:00Z", "2026-11-24T14:00:00.000Z", "vuVMGdJMYlBRXB72GgxCOUbp3hYdyzWfkoF2UXoGzpA="},
		{"milliseconds, truncated sub-ms", "k", "jane.doe@example.com", "2030-01-01T00:00:00.007999Z", "2030-01-01T00:00:00.007Z", "ChhHEBC1inWNHWeJjIV/jWHCh/NyPUDZ2T/MR60k+HY="},
		{"non-ASCII", vectorSecret, "Žluťoučký kůň", "", "", "9/oC/hq4ezTsGAkrneveSYQnc8UnkNSdZ8ER9EK1MtU="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSigner(tt.secret)
			require.NoError(t, err)
			var exp time.Time
			if tt.expires != "" {
				exp = mustTime(t, tt.expires)
			}
			h, err := s.Sign(tt.user, exp)
			require.NoError(t, err)
			assert.Equal(t, HMAC{Hash: tt.wantHash, Expiration: tt.wantExp}, h)
			assert.NoError(t, s.Verify(tt.user, h, mustTime(t, "2026-01-01T00:00:00Z")))
		})
	}
}

func TestFormatExpiration(t *testing.T) {
	prague := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"whole seconds keep .000", time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC), "2026-11-24T14:00:00.000Z"},
		{"zone converted to UTC", time.Date(2026, 11, 24, 15, 0, 0, 0, prague), "2026-11-24T14:00:00.000Z"},
		{"sub-ms truncated", time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, time.UTC), "2026-01-02T03:04:05.999Z"},
		{"before 1970 truncates toward the past", time.Date(1969, 12, 31, 23, 59, 59, 999_500_000, time.UTC), "1969-12-31T23:59:59.999Z"},
		{"year 0", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), "0000-01-01T00:00:00.000Z"},
		{"year 9999", time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC), "9999-12-31T23:59:59.999Z"},
		{"year -1 has no form", time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC), ""},
		{"year 10000 has no form", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, FormatExpiration(tt.in))
		})
	}
}

func TestSignErrors(t *testing.T) {
	_, err := NewSigner("")
	require.ErrorIs(t, err, ErrEmptySecret)
	for _, secret := range []string{testSecret + "\n", " " + testSecret, "\t" + testSecret + "\r\n"} {
		_, err = NewSigner(secret)
		require.ErrorIs(t, err, ErrSecretWhitespace)
		assert.NotContains(t, err.Error(), testSecret)
	}

	s, err := NewSigner("top-secret-value")
	require.NoError(t, err)
	tests := []struct {
		name    string
		user    string
		expires time.Time
		want    error
	}{
		{"empty username", "", time.Time{}, ErrEmptyUsername},
		{"invalid UTF-8", "bad\xffname", time.Time{}, ErrInvalidUsername},
		{"year 10000", "u", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), ErrExpirationRange},
		{"negative year", "u", time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), ErrExpirationRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := s.Sign(tt.user, tt.expires)
			require.ErrorIs(t, err, tt.want)
			assert.Zero(t, h)
			assert.NotContains(t, err.Error(), "top-secret-value")
		})
	}
}

func TestVerify(t *testing.T) {
	s, err := NewSigner(vectorSecret)
	require.NoError(t, err)
	now := mustTime(t, "2026-11-24T13:00:00Z")
	good := HMAC{Hash: "vuVMGdJMYlBRXB72GgxCOUbp3hYdyzWfkoF2UXoGzpA=", Expiration: "2026-11-24T14:00:00.000Z"}
	tests := []struct {
		name string
		user string
		h    HMAC
		now  time.Time
		want error
	}{
		{"valid", "testUser", good, now, nil},
		{"no expiration", "testUser", HMAC{Hash: "LZGb1SPNlIIk0XBPWhCXc7boAxE/pmul4Mrzt23ZfEg="}, now, nil},
		{"expired at the instant", "testUser", good, mustTime(t, "2026-11-24T14:00:00Z"), ErrExpired},
		{"other user", "testUser2", good, now, ErrHashMismatch},
		{"expiration re-formatted after signing", "testUser", HMAC{Hash: good.Hash, Expiration: "2026-11-24T14:00:00Z"}, now, ErrHashMismatch},
		{"expiration not ISO 8601", "testUser", HMAC{Hash: good.Hash, Expiration: "Tue, 24 Nov 2026 14:00:00 GMT"}, now, ErrMalformedExpiration},
		{"hex instead of base64", "testUser", HMAC{Hash: "2d919bd523cd94822 4d1704f5a109773b6e803113fa66ba5e0cacf2b76d97c48"}, now, ErrHashMismatch},
		{"url-safe base64", "testUser", HMAC{Hash: "LZGb1SPNlIIk0XBPWhCXc7boAxE_pmul4Mrzt23ZfEg="}, now, ErrHashMismatch},
		{"unpadded", "testUser", HMAC{Hash: "LZGb1SPNlIIk0XBPWhCXc7boAxE/pmul4Mrzt23ZfEg"}, now, ErrHashMismatch},
		{"empty username", "", good, now, ErrEmptyUsername},
		{"padding bits altered", "testUser", HMAC{Hash: "LZGb1SPNlIIk0XBPWhCXc7boAxE/pmul4Mrzt23ZfEh="}, now, ErrHashMismatch},
		{"embedded newline", "testUser", HMAC{Hash: "LZGb1SPNlIIk0XBPWhCXc7boAxE/\npmul4Mrzt23ZfEg="}, now, ErrHashMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Verify(tt.user, tt.h, tt.now)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

// TestVerifyISOForms holds Verify to the product's reading of an
// expiration: any ISO 8601 form its documented examples sign, the hash
// over the string exactly as given, the expiry by the instant it names.
func TestVerifyISOForms(t *testing.T) {
	s, err := NewSigner(vectorSecret)
	require.NoError(t, err)
	at := func(v string) time.Time { return mustTime(t, v) }
	tests := []struct {
		name       string
		expiration string
		// valid is the last instant at which the hmac is still good,
		// expired the first at which it is not.
		valid, expired time.Time
	}{
		{"toJSON", "2026-11-24T14:00:00.000Z", at("2026-11-24T13:59:59.999Z"), at("2026-11-24T14:00:00Z")},
		{".NET round-trip o, UTC", "2026-11-24T14:00:00.0000000Z", at("2026-11-24T13:59:59.999999999Z"), at("2026-11-24T14:00:00Z")},
		{".NET round-trip o, local", "2026-11-24T15:00:00.1234567+01:00", at("2026-11-24T14:00:00.1234566Z"), at("2026-11-24T14:00:00.1234567Z")},
		{"no fraction", "2026-11-24T14:00:00Z", at("2026-11-24T13:59:59Z"), at("2026-11-24T14:00:00Z")},
		{"one fractional digit", "2026-11-24T14:00:00.5Z", at("2026-11-24T14:00:00.4Z"), at("2026-11-24T14:00:00.5Z")},
		{"microseconds, Python isoformat", "2026-11-24T14:00:00.000001+00:00", at("2026-11-24T14:00:00Z"), at("2026-11-24T14:00:00.000001Z")},
		{"twelve fractional digits", "2026-11-24T14:00:00.123456789999Z", at("2026-11-24T14:00:00.123456788Z"), at("2026-11-24T14:00:00.123456789Z")},
		{"negative offset", "2026-11-24T09:00:00-05:00", at("2026-11-24T13:59:59Z"), at("2026-11-24T14:00:00Z")},
		{"offset without colon", "2026-11-24T19:45:00+0545", at("2026-11-24T13:59:59Z"), at("2026-11-24T14:00:00Z")},
		{"-00:00", "2026-11-24T14:00:00-00:00", at("2026-11-24T13:59:59Z"), at("2026-11-24T14:00:00Z")},
		{"no zone: UTC", "2026-11-24T14:00:00", at("2026-11-24T13:59:59Z"), at("2026-11-24T14:00:00Z")},
		{"no zone, fraction: UTC", "2026-11-24T14:00:00.250", at("2026-11-24T14:00:00.249Z"), at("2026-11-24T14:00:00.25Z")},
		{"across a year", "2027-01-01T00:30:00+01:00", at("2026-12-31T23:29:59Z"), at("2026-12-31T23:30:00Z")},
		{"leap day", "2028-02-29T00:00:00Z", at("2028-02-28T23:59:59Z"), at("2028-02-29T00:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := HMAC{Hash: naiveSign(vectorSecret, "testUser", tt.expiration), Expiration: tt.expiration}
			assert.NoError(t, s.Verify("testUser", h, tt.valid))
			assert.ErrorIs(t, s.Verify("testUser", h, tt.expired), ErrExpired)
			got, err := ParseExpiration(tt.expiration)
			require.NoError(t, err)
			assert.Equal(t, tt.expired, got, "the instant")
			assert.Equal(t, time.UTC, got.Location())

			// Signed over one string, sent as another of the same instant:
			// the hash is over the string, so it fails.
			other := FormatExpiration(got)
			if other == tt.expiration {
				other = got.Format(time.RFC3339Nano)
			}
			assert.ErrorIs(t, s.Verify("testUser", HMAC{Hash: h.Hash, Expiration: other}, tt.valid), ErrHashMismatch)
		})
	}
}

func TestParseExpirationRejects(t *testing.T) {
	for _, v := range []string{
		"", "2026-11-24", "2026-11-24T14:00", "2026-11-24 14:00:00Z", "2026-11-24t14:00:00z",
		"2026-11-24T14:00:00z", "2026-11-24T14:00:00.Z", "2026-11-24T14:00:00,5Z",
		"2026-11-24T14:00:00+01", "2026-11-24T14:00:00+1:00", "2026-11-24T14:00:00+01:0", "2026-11-24T14:00:00+24:00",
		"2026-11-24T14:00:00+01:60", "2026-11-24T14:00:00 Z", "2026-11-24T14:00:00Z ", " 2026-11-24T14:00:00Z",
		"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-11-00T00:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T14:60:00Z", "2026-11-24T14:00:60Z",
		"+2026-11-24T14:00:00Z", "20261124T140000Z", "2026-11-24T14:00:00.000ZZ", "2026-1-24T14:00:00Z",
		"2026-11-24T14:00:00.0000000Z\n", "1764000000", "1764000000000", "Tue, 24 Nov 2026 14:00:00 GMT",
		"2026-11-24T14:00:00.000+01:00:00", "2026-11-24T14:00:00-", "٢٠٢٦-11-24T14:00:00Z",
	} {
		_, err := ParseExpiration(v)
		assert.ErrorIs(t, err, ErrMalformedExpiration, "%q", v)
		if v == "" {
			continue // Verify: no expiration
		}
		assert.ErrorIs(t, vectorSigner(t).Verify("testUser", HMAC{Hash: naiveSign(vectorSecret, "testUser", v), Expiration: v}, fixedNow),
			ErrMalformedExpiration, "%q", v)
	}
}

// TestParseExpirationMatchesJavaScript reads random expirations in every
// form ParseExpiration takes (fractions of 0 to 9 digits, Z, offsets with
// and without colon, no zone) both here and with JavaScript's Date.parse,
// run with TZ=UTC so that a form without zone means UTC there too, and
// compares the instants to the millisecond, all Date holds. (V8 misreads
// fractions of ten digits or more that start with a zero, so the
// comparison stops at nine, the most any backend writes; TestVerifyISOForms
// covers longer ones.)
func TestParseExpirationMatchesJavaScript(t *testing.T) {
	node := lookNode(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(11, seed))
	minS := time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC).Unix()
	maxS := time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC).Unix()
	const n = 600
	in := make([]string, 0, n)
	for range n {
		tm := time.Unix(minS+r.Int64N(maxS-minS), 0).UTC()
		off := 0
		zone := "Z"
		switch r.IntN(4) {
		case 1:
			off = (r.IntN(47)-23)*3600 + r.IntN(4)*15*60
			sign, a := '+', off
			if off < 0 {
				sign, a = '-', -off
			}
			zone = fmt.Sprintf("%c%02d:%02d", sign, a/3600, a/60%60)
			if r.IntN(2) == 0 {
				zone = strings.Replace(zone, ":", "", 1)
			}
		case 2:
			zone = ""
		}
		s := tm.Add(time.Duration(off) * time.Second).Format("2006-01-02T15:04:05")
		if d := r.IntN(10); d > 0 {
			s += "."
			for range d {
				s += string(rune('0' + r.IntN(10)))
			}
		}
		in = append(in, s+zone)
	}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	cmd := exec.Command(node, "-e", `
const chunks = [];
process.stdin.on('data', d => chunks.push(d));
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify(JSON.parse(Buffer.concat(chunks)).map(s => Date.parse(s))));
});`)
	cmd.Env = append(cmd.Environ(), "TZ=UTC")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	require.NoError(t, err)
	var want []*int64
	require.NoError(t, json.Unmarshal(out, &want))
	require.Len(t, want, n)
	for i, s := range in {
		got, err := ParseExpiration(s)
		require.NoError(t, err, s)
		require.NotNil(t, want[i], "JavaScript cannot read %q", s)
		assert.Equal(t, *want[i], got.UnixMilli(), s)
	}
}

// vectorSigner is the Signer of the published vectors' secret.
func vectorSigner(t *testing.T) *Signer {
	t.Helper()
	s, err := NewSigner(vectorSecret)
	require.NoError(t, err)
	return s
}

// nodeCase is one differential case for the reference computation.
type nodeCase struct {
	Secret   string `json:"secret"`
	Username string `json:"username"`
	// Millis is the instant in JavaScript's milliseconds since the epoch;
	// nil means no expiration.
	Millis *int64 `json:"millis"`
}

type nodeResult struct {
	Hash       string  `json:"hash"`
	Expiration *string `json:"expiration"`
}

// nodeReference is the product's documented NodeJS computation, run over
// every case at once.
const nodeReference = `
const crypto = require('crypto');
const chunks = [];
process.stdin.on('data', d => chunks.push(d));
process.stdin.on('end', () => {
  // Concatenate bytes before decoding: a chunk may end inside a character.
  const out = JSON.parse(Buffer.concat(chunks).toString('utf8')).map(c => {
    const serialisedDate = c.millis === null ? '' : new Date(c.millis).toJSON();
    const hash = crypto.createHmac('sha256', c.secret).update(c.username + serialisedDate).digest('base64');
    return { hash, expiration: c.millis === null ? null : serialisedDate };
  });
  process.stdout.write(JSON.stringify(out));
});`

func runNode(t *testing.T, cases []nodeCase) []nodeResult {
	t.Helper()
	var res []nodeResult
	runNodeJSON(t, nodeReference, cases, &res)
	require.Len(t, res, len(cases))
	return res
}

func TestSignMatchesNodeReference(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed) // a failure names the seed that reproduces it
	r := rand.New(rand.NewPCG(20261124, seed))
	zones := []*time.Location{time.UTC, time.FixedZone("UTC+5:45", 5*3600+45*60), time.FixedZone("UTC-11", -11*3600), time.Local}
	minMs := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxMs := time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC).UnixMilli()

	const n = 1500
	cases := make([]nodeCase, 0, n)
	instants := make([]time.Time, 0, n)
	for i := range n {
		// Workspace keys have no surrounding whitespace; NewSigner refuses
		// one that has.
		c := nodeCase{Secret: strings.TrimSpace(randomString(r, 40)), Username: randomString(r, 30)}
		if c.Secret == "" {
			c.Secret = "k"
		}
		if i%10 == 0 {
			c.Username = randomString(r, 2000) // long names
		}
		var tm time.Time
		if i%4 != 0 {
			ms := minMs + r.Int64N(maxMs-minMs+1)
			if i%7 == 0 { // near the edges of the range and of the epoch
				ms = []int64{minMs, maxMs, 0, -1, 1}[r.IntN(5)]
			}
			// Add a sub-millisecond part that JavaScript cannot hold.
			tm = time.UnixMilli(ms).Add(time.Duration(r.IntN(1_000_000))).In(zones[r.IntN(len(zones))])
			c.Millis = &ms
		}
		cases = append(cases, c)
		instants = append(instants, tm)
	}
	want := runNode(t, cases)
	for i, c := range cases {
		s, err := NewSigner(c.Secret)
		require.NoError(t, err)
		got, err := s.Sign(c.Username, instants[i])
		require.NoError(t, err, "case %d", i)
		wantExp := ""
		if want[i].Expiration != nil {
			wantExp = *want[i].Expiration
		}
		if !assert.Equal(t, HMAC{Hash: want[i].Hash, Expiration: wantExp}, got, "case %d: username %q at %v", i, c.Username, instants[i]) {
			continue
		}
		assert.NoError(t, s.Verify(c.Username, got, time.UnixMilli(minMs-1)))
	}
}

func TestSignConcurrent(t *testing.T) {
	s, err := NewSigner(vectorSecret)
	require.NoError(t, err)
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 500 {
				name := fmt.Sprintf("user-%d-%d", g, i)
				h, err := s.Sign(name, time.Unix(int64(i), 0))
				if err == nil {
					err = s.Verify(name, h, time.Unix(-1, 0))
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
}

// FuzzSignVerify holds Sign and Verify to an independent computation for
// any secret, username and instant: Sign either fails with one of its
// sentinels or returns an HMAC that hmac.New computes too and that Verify
// accepts until the expiration; and Verify, given any hash and expiration
// strings, never panics and accepts only the true HMAC.
func FuzzSignVerify(f *testing.F) {
	f.Add("SecretkeyFromWorkspaceSettings", "testUser", int64(1795528800), int64(0), "vuVMGdJMYlBRXB72GgxCOUbp3hYdyzWfkoF2UXoGzpA=", "2026-11-24T14:00:00.000Z")
	f.Add("k", "jane.doe@example.com", int64(1893456000), int64(7_000_000), "ChhHEBC1inWNHWeJjIV/jWHCh/NyPUDZ2T/MR60k+HY=", "2030-01-01T00:00:00.007Z")
	f.Add("SecretkeyFromWorkspaceSettings", "Žluťoučký kůň", int64(-62135596800), int64(0), "9/oC/hq4ezTsGAkrneveSYQnc8UnkNSdZ8ER9EK1MtU=", "")
	f.Add("", "u", int64(0), int64(0), "", "")
	f.Add("s", "", int64(0), int64(0), "=", "2026-11-24T14:00:00Z")
	f.Add("s", "\xff\xfe", int64(0), int64(0), "AAAA", "2026-11-24T14:00:00.000+01:00")
	f.Add("s", "</script>\u2028😀", int64(253402300800), int64(0), "not base64!", "10000-01-01T00:00:00.000Z")
	f.Add("s", "u", int64(-62167219201), int64(999_999_999), "\n", "0000-01-01T00:00:00.000Z")
	f.Fuzz(func(t *testing.T, secret, username string, sec, nsec int64, hash, expiration string) {
		s, err := NewSigner(secret)
		if secret == "" {
			if !errors.Is(err, ErrEmptySecret) {
				t.Fatalf("NewSigner(\"\") = %v, want ErrEmptySecret", err)
			}
			return
		}
		if strings.TrimSpace(secret) != secret {
			if !errors.Is(err, ErrSecretWhitespace) {
				t.Fatalf("NewSigner(%q) = %v, want ErrSecretWhitespace", secret, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("NewSigner: %v", err)
		}
		at := time.Unix(sec, nsec)
		checkSign(t, s, secret, username, at)
		checkSign(t, s, secret, username, time.Time{})
		arbitrary := HMAC{Hash: hash, Expiration: expiration}
		checkVerify(t, s, secret, username, arbitrary, at)
		checkVerify(t, s, secret, username, arbitrary, time.Time{})
	})
}

// referenceExpiration is Date.prototype.toJSON, written independently.
func referenceExpiration(t time.Time) (string, bool) {
	t = t.UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return "", false
	}
	return t.Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z"), true
}

func checkSign(t *testing.T, s *Signer, secret, username string, at time.Time) {
	t.Helper()
	h, err := s.Sign(username, at)
	wantExp, inRange := referenceExpiration(at)
	switch {
	case username == "":
		if !errors.Is(err, ErrEmptyUsername) {
			t.Fatalf("Sign(%q) = %v, want ErrEmptyUsername", username, err)
		}
		return
	case !utf8.ValidString(username):
		if !errors.Is(err, ErrInvalidUsername) {
			t.Fatalf("Sign(%q) = %v, want ErrInvalidUsername", username, err)
		}
		return
	case !at.IsZero() && !inRange:
		if !errors.Is(err, ErrExpirationRange) {
			t.Fatalf("Sign(%q, %v) = %v, want ErrExpirationRange", username, at, err)
		}
		return
	case err != nil:
		t.Fatalf("Sign(%q, %v): %v", username, at, err)
	}
	if at.IsZero() {
		wantExp = ""
	}
	if h.Expiration != wantExp {
		t.Fatalf("Sign(%q, %v).Expiration = %q, want %q", username, at, h.Expiration, wantExp)
	}
	if want := naiveSign(secret, username, wantExp); h.Hash != want {
		t.Fatalf("Sign(%q, %v).Hash = %q, hmac.New says %q", username, at, h.Hash, want)
	}
	// Valid until the signed millisecond, expired from it on.
	before := time.Now()
	if !at.IsZero() {
		exp, err := time.Parse("2006-01-02T15:04:05.000Z", wantExp)
		if err != nil {
			t.Fatalf("cannot parse the expiration %q: %v", wantExp, err)
		}
		before = exp.Add(-time.Nanosecond)
		if err := s.Verify(username, h, exp); !errors.Is(err, ErrExpired) {
			t.Fatalf("Verify at the expiration %q = %v, want ErrExpired", wantExp, err)
		}
	}
	if err := s.Verify(username, h, before); err != nil {
		t.Fatalf("Verify(Sign(%q, %v)) at %v: %v", username, at, before, err)
	}
}

var verifyErrors = []error{ErrEmptyUsername, ErrInvalidUsername, ErrHashMismatch,
	ErrExpired, ErrMalformedExpiration}

func checkVerify(t *testing.T, s *Signer, secret, username string, h HMAC, now time.Time) {
	t.Helper()
	err := s.Verify(username, h, now)
	if err != nil {
		for _, e := range verifyErrors {
			if errors.Is(err, e) {
				return
			}
		}
		t.Fatalf("Verify(%q, %+v) = %v, not one of its sentinels", username, h, err)
	}
	// Accepted: the hash must decode to the true HMAC of a well-formed,
	// unexpired expiration.
	got, derr := base64.StdEncoding.DecodeString(h.Hash)
	want, _ := base64.StdEncoding.DecodeString(naiveSign(secret, username, h.Expiration))
	if derr != nil || !hmac.Equal(got, want) {
		t.Fatalf("Verify accepted %+v for %q, which is not its HMAC", h, username)
	}
	if h.Expiration != "" {
		exp, perr := ParseExpiration(h.Expiration)
		if perr != nil || !now.Before(exp) {
			t.Fatalf("Verify accepted the expiration %q at %v", h.Expiration, now)
		}
	}
}

// sinkHMAC is sinkString for Sign's result.
var sinkHMAC HMAC

// BenchmarkSign compares Sign with the naive computation and with its
// floor in one run. The floor is what any HMAC-SHA256 of a message this
// short must do: two SHA-256 compressions (the message block under the
// key's inner pad, the inner digest under the outer pad) and the base64 of
// the result, here two sha256.Sum256 of one block each and Encode. Goals:
// Sign at most 2x the floor; signing into the snippet (signInto) without
// an allocation.
func BenchmarkSign(b *testing.B) {
	const user = "jane.doe@example.com"
	exp := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	expStr := FormatExpiration(exp)
	b.Run("naive", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkString = naiveSign(vectorSecret, user, "")
		}
	})
	b.Run("naive-expiration", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkString = naiveSign(vectorSecret, user, expStr)
		}
	})
	for _, name := range []string{"floor", "floor-expiration"} {
		msg := []byte(user)
		if name == "floor-expiration" {
			msg = append(msg, expStr...)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var out [hashLen]byte
			for b.Loop() {
				inner := sha256.Sum256(msg)
				outer := sha256.Sum256(inner[:])
				base64.StdEncoding.Encode(out[:], outer[:])
			}
			sinkString = string(out[:1])
		})
	}
	s, _ := NewSigner(vectorSecret)
	b.Run("Sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkHMAC, _ = s.Sign(user, time.Time{})
		}
	})
	b.Run("Sign-expiration", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkHMAC, _ = s.Sign(user, exp)
		}
	})
	b.Run("into-snippet-expiration", func(b *testing.B) {
		// What the middleware does per request: the hash and expiration
		// go into the request's state and from there into the page.
		b.ReportAllocs()
		var sig signature
		for b.Loop() {
			_ = s.signInto(&sig, user, exp)
		}
	})
}

// TestSignRefusesAmbiguousUsername: without an expiration, a username
// ending in any date-time Verify reads is refused, since its hash would
// verify as the shorter username with that expiration; with one it signs.
func TestSignRefusesAmbiguousUsername(t *testing.T) {
	s, err := NewSigner(testSecret)
	require.NoError(t, err)
	for _, suffix := range []string{
		"2099-01-01T00:00:00.000Z", "2099-01-01T00:00:00Z", "2099-01-01T00:00:00.0000000Z",
		"2099-01-01T00:00:00+01:00", "2099-01-01T00:00:00+0100", "2099-01-01T00:00:00",
	} {
		name := "alice" + suffix
		_, err := s.Sign(name, time.Time{})
		require.ErrorIs(t, err, ErrAmbiguousUsername, name)
		// The attack it stops: the same hash verifies as alice.
		h := naiveSign(testSecret, name, "")
		require.NoError(t, s.Verify("alice", HMAC{Hash: h, Expiration: suffix}, fixedNow), name)
		_, err = s.Sign(name, fixedNow.Add(time.Hour))
		require.NoError(t, err, "with an expiration it signs")
	}
	for _, name := range []string{
		"alice", "2099-01-01", "bob 2099-01-01T00:00", "x-2099-13-01T00:00:00Z", "a-b-c-d-e-f-g-h-i-j-k-l-m",
		"2099-01-01T00:00:00.000Zx", "jane.doe@example.com", strings.Repeat("-", 100),
	} {
		_, err := s.Sign(name, time.Time{})
		require.NoError(t, err, name)
	}
}

// FuzzEndsInDateTime holds endsInDateTime to trying ParseExpiration on
// every suffix.
func FuzzEndsInDateTime(f *testing.F) {
	f.Add("alice2099-01-01T00:00:00.000Z")
	f.Add("a-b2026-11-24T14:00:00+01:00")
	f.Add("x")
	f.Fuzz(func(t *testing.T, name string) {
		want := false
		for i := range len(name) {
			if _, err := ParseExpiration(name[i:]); err == nil {
				want = true
			}
		}
		if got := endsInDateTime(name); got != want {
			t.Fatalf("endsInDateTime(%q) = %v, want %v", name, got, want)
		}
	})
}
