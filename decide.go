package productfruits

import (
	"net/http"
	"slices"
	"strings"
)

// action is what the writer does with a response once its final status is
// known; decide chooses it.
type action uint8

const (
	actPass           action = iota // send the response as the handler wrote it
	actPassCompressed               // actPass, for an HTML page compressed inside the middleware
	actScan                         // an HTML page: look for the insertion point
	actScanNoCharset                // actScan, for a type that names no charset: the browser prescans the page for one
	actScanXHTML                    // actScan, for a page the browser parses as XML
	actSniff                        // no Content-Type: actScan if the first bytes sniff as HTML (sniffedHTML)
	actHeaders                      // a HEAD response of an HTML page: only its headers change
	actSniffHead                    // a HEAD response without a Content-Type: actHeaders if the first bytes sniff as HTML
)

// decide returns what to do with a response of final status code and
// header h (with canonical keys), to a HEAD request or not. outer is the
// Content-Encoding the header held when the request reached the
// middleware: set by a layer outside it, which compresses whatever the
// middleware writes.
func decide(code int, h http.Header, head bool, outer []string) action {
	if !injectableStatus(code) || isAttachment(h) || sandboxed(h["Content-Security-Policy"]) {
		return actPass
	}
	ct, typed := h["Content-Type"]
	html := len(ct) > 0 && isHTMLType(ct[0])
	if !uncompressed(h) && !slices.Equal(h["Content-Encoding"], outer) {
		// Compressed inside the middleware: spliced into the compressed
		// bytes, the snippet would corrupt the page.
		if html {
			return actPassCompressed
		}
		return actPass
	}
	switch {
	case !typed && head:
		return actSniffHead
	case !typed:
		return actSniff
	case !html:
		// A present but empty Content-Type also stops net/http's sniffing:
		// the browser gets no type, so this is no HTML page.
		return actPass
	case head:
		return actHeaders
	case isXHTMLType(ct[0]):
		return actScanXHTML
	case !hasCharset(ct[0]):
		return actScanNoCharset
	}
	return actScan
}

// sniffedHTML returns the Content-Type net/http sniffs from a body's first
// bytes when it is HTML, and "" when it is not. An empty body is not:
// net/http sets no type for it. net/http's HTML type names a charset.
func sniffedHTML(first []byte) string {
	if len(first) == 0 {
		return ""
	}
	ct := http.DetectContentType(first[:min(len(first), sniffLen)])
	if !isHTMLType(ct) {
		return ""
	}
	return ct
}

// hasCharset reports a charset parameter in a Content-Type value: a
// "charset" (in any case) right before one of its '='.
func hasCharset(ct string) bool {
	for i := strings.IndexByte(ct, '='); i >= 0; {
		if i >= len("charset") && strings.EqualFold(ct[i-len("charset"):i], "charset") {
			return true
		}
		next := strings.IndexByte(ct[i+1:], '=')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}
