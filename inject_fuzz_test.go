package productfruits

import (
	"bytes"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// fuzzFlags are the bits of FuzzInject's flags argument.
const (
	fuzzTyped = 1 << iota // the handler sets Content-Type: text/html
	fuzzFlush             // a zero in cuts is a Flush instead of a Write
)

// FuzzInject checks, for any body and any split into writes (and
// flushes), that the page comes out as it went in with the snippet
// inserted once right before a "</head" or "<body", or not at all, and
// that without flushes the split changes nothing.
func FuzzInject(f *testing.F) {
	// The interesting seeds live in testdata/fuzz/FuzzInject.
	f.Add([]byte("<!doctype html><html><head><title>x</title></head><body></body></html>"), []byte{1, 1, 1, 1}, byte(fuzzTyped))
	f.Add([]byte("<p>fragment</p>"), []byte{3}, byte(0))
	m := newTestMiddleware(f, injectConfig)
	snips := map[bool][]byte{}
	for _, typed := range []bool{false, true} {
		h := http.Header{}
		if typed {
			h.Set("Content-Type", "text/html")
		}
		snips[typed] = []byte(snippetFor(f, m, h))
	}

	run := func(body, cuts []byte, flags byte) *recWriter {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if flags&fuzzTyped != 0 {
				w.Header().Set("Content-Type", "text/html")
			}
			rest := body
			for _, c := range cuts {
				if c == 0 && flags&fuzzFlush != 0 {
					w.(http.Flusher).Flush()
					continue
				}
				n := min(int(c), len(rest))
				_, _ = w.Write(rest[:n])
				rest = rest[n:]
			}
			_, _ = w.Write(rest)
		})
		return serveRec(m, h, httptest.NewRequest(http.MethodGet, "/", nil))
	}

	f.Fuzz(func(t *testing.T, body, cuts []byte, flags byte) {
		snip := snips[flags&fuzzTyped != 0]
		got := run(body, cuts, flags)
		_, _, out := got.result()
		if !insertedOnce([]byte(out), body, snip) {
			t.Fatalf("body %q came out as %q", body, out)
		}
		if flags&fuzzFlush != 0 {
			return
		}
		whole := run(body, nil, flags)
		_, wantHeader, wantOut := whole.result()
		_, gotHeader, _ := got.result()
		if out != wantOut {
			t.Fatalf("split %v changed the output of %q:\n got %q\nwant %q", cuts, body, out, wantOut)
		}
		if len(out) == len(body) {
			bare := serveRec(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if flags&fuzzTyped != 0 {
					w.Header().Set("Content-Type", "text/html")
				}
				_, _ = w.Write(body)
			}), httptest.NewRequest(http.MethodGet, "/", nil))
			_, bareHeader, _ := bare.result()
			wantHeader = bareHeader
		}
		if !maps.EqualFunc(gotHeader, wantHeader, slices.Equal) {
			t.Fatalf("headers %v, want %v", gotHeader, wantHeader)
		}
	})
}

// insertedOnce reports whether out is in, or in with snip inserted once
// right before a "</head" or "<body".
func insertedOnce(out, in, snip []byte) bool {
	if bytes.Equal(out, in) {
		return true
	}
	if len(out) != len(in)+len(snip) {
		return false
	}
	prefix := 0
	for prefix < len(in) && out[prefix] == in[prefix] {
		prefix++
	}
	suffix := 0
	for suffix < len(in) && out[len(out)-1-suffix] == in[len(in)-1-suffix] {
		suffix++
	}
	for k := max(0, len(in)-suffix); k <= prefix; k++ {
		if !bytes.Equal(out[k:k+len(snip)], snip) {
			continue
		}
		rest := bytes.ToLower(in[k:min(len(in), k+6)])
		if bytes.HasPrefix(rest, []byte("</head")) || bytes.HasPrefix(rest, []byte("<body")) {
			return true
		}
	}
	return false
}
