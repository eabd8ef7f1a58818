package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDoctorBrotli(t *testing.T) {
	// A server that prefers brotli: pfhmac cannot decode it, reports so and
	// checks the gzip answer.
	app := rootApp(t, nil, servePage())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept-Encoding"), "br") {
			w.Header().Set("Content-Encoding", "br")
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte{0x1b, 0x00}) // not a page pfhmac can read
			return
		}
		gzipOutside := gzipInside // outside pf.Handler here, as it should be
		gzipOutside(app).ServeHTTP(w, r)
	}))
	defer srv.Close()
	code, out, _ := runDoctor(t, map[string]string{secretEnv: secret}, "-cookie", "user=alice", srv.URL)
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, `Content-Encoding "br", which pfhmac cannot decode`)
	assert.Regexp(t, verdictLine("ok", "hash"), out)
}
