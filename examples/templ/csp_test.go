package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/a-h/templ"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithNonce(t *testing.T) {
	var seen []string
	h := withNonce(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		seen = append(seen, templ.GetNonce(r.Context()))
	}))
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		m := cspNonce.FindStringSubmatch(rec.Header().Get("Content-Security-Policy"))
		require.NotNil(t, m)
		assert.Equal(t, m[1], seen[len(seen)-1], "templ.GetNonce reads the policy's nonce")
		assert.Len(t, m[1], 24, "128 bits in base64")
	}
	assert.NotEqual(t, seen[0], seen[1], "a fresh nonce per request")
}
