package productfruits_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pfverify/productfruits"
)

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
		s, err := productfruits.NewSigner(secret)
		if secret == "" {
			if !errors.Is(err, productfruits.ErrEmptySecret) {
				t.Fatalf("NewSigner(\"\") = %v, want ErrEmptySecret", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("NewSigner: %v", err)
		}
		at := time.Unix(sec, nsec)
		checkSign(t, s, secret, username, at)
		checkSign(t, s, secret, username, time.Time{})
		arbitrary := productfruits.HMAC{Hash: hash, Expiration: expiration}
		checkVerify(t, s, secret, username, arbitrary, at)
		checkVerify(t, s, secret, username, arbitrary, time.Time{})
	})
}

// referenceHMAC is the product's computation, written independently:
// base64(HMAC-SHA256(secret, username + expiration)).
func referenceHMAC(secret, username, expiration string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(username + expiration))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// referenceExpiration is Date.prototype.toJSON, written independently.
func referenceExpiration(t time.Time) (string, bool) {
	t = t.UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return "", false
	}
	return t.Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z"), true
}

func checkSign(t *testing.T, s *productfruits.Signer, secret, username string, at time.Time) {
	t.Helper()
	h, err := s.Sign(username, at)
	wantExp, inRange := referenceExpiration(at)
	switch {
	case username == "":
		if !errors.Is(err, productfruits.ErrEmptyUsername) {
			t.Fatalf("Sign(%q) = %v, want ErrEmptyUsername", username, err)
		}
		return
	case !utf8.ValidString(username):
		if !errors.Is(err, productfruits.ErrInvalidUsername) {
			t.Fatalf("Sign(%q) = %v, want ErrInvalidUsername", username, err)
		}
		return
	case !at.IsZero() && !inRange:
		if !errors.Is(err, productfruits.ErrExpirationRange) {
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
	if want := referenceHMAC(secret, username, wantExp); h.Hash != want {
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
		if err := s.Verify(username, h, exp); !errors.Is(err, productfruits.ErrExpired) {
			t.Fatalf("Verify at the expiration %q = %v, want ErrExpired", wantExp, err)
		}
	}
	if err := s.Verify(username, h, before); err != nil {
		t.Fatalf("Verify(Sign(%q, %v)) at %v: %v", username, at, before, err)
	}
}

var verifyErrors = []error{productfruits.ErrEmptyUsername, productfruits.ErrInvalidUsername, productfruits.ErrHashMismatch,
	productfruits.ErrExpired, productfruits.ErrMalformedExpiration}

func checkVerify(t *testing.T, s *productfruits.Signer, secret, username string, h productfruits.HMAC, now time.Time) {
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
	want, _ := base64.StdEncoding.DecodeString(referenceHMAC(secret, username, h.Expiration))
	if derr != nil || !hmac.Equal(got, want) {
		t.Fatalf("Verify accepted %+v for %q, which is not its HMAC", h, username)
	}
	if h.Expiration != "" {
		exp, perr := time.Parse("2006-01-02T15:04:05.000Z", h.Expiration)
		if perr != nil || !now.Before(exp) {
			t.Fatalf("Verify accepted the expiration %q at %v", h.Expiration, now)
		}
	}
}
