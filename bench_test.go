package productfruits

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// naiveSign is the baseline every goal is measured against: a fresh
// hmac.New per call, as most hand-written integrations do.
func naiveSign(secret, username, expiration string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(username + expiration))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

var sinkHMAC HMAC

// BenchmarkSign compares Sign with the naive computation in one run.
// Goal: Sign at most 0.55x the naive time and at most 1 allocation.
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
}

// BenchmarkMiddlewareContext measures what context mode adds per request
// over the bare handler. Goal: at most 2x one naive HMAC (BenchmarkSign/naive).
func BenchmarkMiddlewareContext(b *testing.B) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = FromContext(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, "jane.doe@example.com")))
		})
	}
	m, err := New(Config{WorkspaceCode: "ws", Secret: vectorSecret, Username: ContextUsername(userKey{}), TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", auth(bare)},
		{"middleware", auth(m.Handler(bare))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.h.ServeHTTP(w, req)
			}
		})
	}
	b.Run("naive-hmac", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkString = naiveSign(vectorSecret, "jane.doe@example.com", "2026-11-24T14:00:00.000Z")
		}
	})
}
