package productfruits

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDecide: what the writer does with a response, from its status and
// header alone.
func TestDecide(t *testing.T) {
	html := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	with := func(k, v string) http.Header {
		h := html.Clone()
		h[k] = []string{v}
		return h
	}
	for _, tt := range []struct {
		name  string
		code  int
		h     http.Header
		head  bool
		outer []string
		want  action
	}{
		{"HTML page", 200, html, false, nil, actScan},
		{"201", 201, html, false, nil, actScan},
		{"no charset", 200, http.Header{"Content-Type": {"text/html"}}, false, nil, actScanNoCharset},
		{"charset in another case", 200, http.Header{"Content-Type": {"text/html;CHARSET=iso-8859-2"}}, false, nil, actScan},
		{"XHTML", 200, http.Header{"Content-Type": {"application/xhtml+xml"}}, false, nil, actScanXHTML},
		{"no Content-Type", 200, http.Header{}, false, nil, actSniff},
		{"empty Content-Type: net/http does not sniff", 200, http.Header{"Content-Type": {}}, false, nil, actPass},
		{"JSON", 200, http.Header{"Content-Type": {"application/json"}}, false, nil, actPass},
		{"HEAD of an HTML page", 200, html, true, nil, actHeaders},
		{"HEAD of an XHTML page", 200, http.Header{"Content-Type": {"application/xhtml+xml"}}, true, nil, actHeaders},
		{"HEAD without Content-Type", 200, http.Header{}, true, nil, actSniffHead},
		{"HEAD of JSON", 200, http.Header{"Content-Type": {"application/json"}}, true, nil, actPass},
		{"204", 204, html, false, nil, actPass},
		{"206", 206, html, false, nil, actPass},
		{"304", 304, html, false, nil, actPass},
		{"404", 404, html, false, nil, actPass},
		{"101", 101, http.Header{}, false, nil, actPass},
		{"attachment", 200, with("Content-Disposition", `attachment; filename="a.html"`), false, nil, actPass},
		{"inline", 200, with("Content-Disposition", "inline"), false, nil, actScan},
		{"sandboxed", 200, with("Content-Security-Policy", "sandbox allow-forms"), false, nil, actPass},
		{"another policy", 200, with("Content-Security-Policy", "script-src 'self'"), false, nil, actScan},
		{"compressed inside", 200, with("Content-Encoding", "gzip"), false, nil, actPassCompressed},
		{"compressed inside, not HTML", 200, http.Header{"Content-Encoding": {"gzip"}}, false, nil, actPass},
		{"identity", 200, with("Content-Encoding", "identity"), false, nil, actScan},
		{"compressed outside", 200, with("Content-Encoding", "gzip"), false, []string{"gzip"}, actScan},
		{"compressed outside and again inside", 200, with("Content-Encoding", "gzip, br"), false, []string{"gzip"}, actPassCompressed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, decide(tt.code, tt.h, tt.head, tt.outer))
		})
	}
}

// TestSniffedHTML: the first bytes decide an untyped page as net/http's
// sniffer does.
func TestSniffedHTML(t *testing.T) {
	for first, want := range map[string]string{
		"<html><head>":              "text/html; charset=utf-8",
		"  <!DOCTYPE html><html>":   "text/html; charset=utf-8",
		"\xef\xbb\xbf<html><head>":  "", // a BOM sniffs as text/plain
		"hello <html><head></head>": "",
		"<?xml version=\"1.0\"?>":   "",
		"":                          "", // net/http sets no type for an empty body
		"<htm":                      "",
	} {
		assert.Equal(t, want, sniffedHTML([]byte(first)), "%q", first)
	}
}

func TestHasCharset(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/html; charset=utf-8":         true,
		"text/html;CHARSET=iso-8859-2":     true,
		"text/html; q=1; Charset=utf-8":    true,
		"charset=utf-8":                    true,
		"text/html":                        false,
		"text/html; level=1":               false,
		"text/html; charset":               false,
		"=charset":                         false,
		"text/html; boundary=x; harset=up": false,
	} {
		assert.Equal(t, want, hasCharset(ct), ct)
	}
}
