package main

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCSPSources(t *testing.T) {
	self := mustURL(t, "https://app.example:8443/page")
	tests := []struct {
		src, url string
		want     bool
	}{
		{"'self'", "https://app.example:8443/x.js", true},
		{"'self'", "https://app.example/x.js", false},
		{"*", "https://any.example/x.js", true},
		{"https:", "https://any.example/x.js", true},
		{"http:", "https://any.example/x.js", true},
		{"https://app.productfruits.com", "https://app.productfruits.com/static/script.js", true},
		{"app.productfruits.com", "https://app.productfruits.com/static/script.js", true},
		{"*.productfruits.com", "https://app.productfruits.com/static/script.js", true},
		{"*.productfruits.com", "https://productfruits.com/static/script.js", false},
		{"https://app.productfruits.com/static/", "https://app.productfruits.com/static/script.js", true},
		{"https://app.productfruits.com/other/", "https://app.productfruits.com/static/script.js", false},
		{"https://app.productfruits.com:*", "https://app.productfruits.com:444/s.js", true},
		{"https://app.productfruits.com", "https://app.productfruits.com:444/s.js", false},
		{"'unsafe-inline'", "https://app.productfruits.com/s.js", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, sourceMatches(tt.src, mustURL(t, tt.url), self), "%s against %s", tt.src, tt.url)
	}

	const text = "alert(1)"
	sum := refSHA256(text)
	inline := []struct {
		srcs  string
		nonce string
		want  bool
	}{
		{"'unsafe-inline'", "", true},
		{"'unsafe-inline' 'nonce-a'", "", false},
		{"'unsafe-inline' 'strict-dynamic'", "", false},
		{"'nonce-a'", "a", true},
		{"'NONCE-a'", "a", true},
		{"'nonce-a'", "A", false},
		{"'sha256-" + sum + "'", "", true},
		{"'sha256-" + sum + "' 'unsafe-inline'", "b", true},
		{"'self'", "", false},
	}
	for _, tt := range inline {
		assert.Equal(t, tt.want, inlineAllowed(strings.Fields(tt.srcs), tt.nonce, text), "%s with nonce %q", tt.srcs, tt.nonce)
	}
}

// refSHA256 is a CSP hash source's value for s, computed apart from the
// code under test.
func refSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}
