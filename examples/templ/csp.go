package main

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"

	"github.com/a-h/templ"
)

// withNonce gives every response a Content-Security-Policy that lets only
// scripts carrying a fresh nonce run, and puts the nonce where templ's
// own scripts and templ.GetNonce find it (templ.WithNonce). templ has no
// such middleware of its own; this one follows its content-security-policy
// example.
func withNonce(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [16]byte
		_, _ = rand.Read(b[:]) // never fails, see crypto/rand.Read
		nonce := base64.StdEncoding.EncodeToString(b[:])
		w.Header().Set("Content-Security-Policy", "script-src 'nonce-"+nonce+"'; object-src 'none'; base-uri 'none'")
		next.ServeHTTP(w, r.WithContext(templ.WithNonce(r.Context(), nonce)))
	})
}
