package htmlscan

import "bytes"

// MarkerAttr is the attribute every script element of the snippet carries:
// a page with a script element that has it already holds the snippet.
const MarkerAttr = "data-productfruits"

// The attribute buffer must hold the marker.
const _ = uint(len(attrName{}) - len(MarkerAttr))

// loaderGlobal is the global the product's loader code uses: a page whose
// own script mentions it runs the loader already.
const loaderGlobal = "$productFruits"

// productWatch notices a page that already carries the snippet: a script
// element of the head (not in a <template>) with the marker attribute or
// the loader's src, or a live script that mentions the loader's global.
// It hears only of the attributes of the head's script start tags and
// the text of its live scripts (hooks.go).
type productWatch struct {
	urls   [2]string // the loader URL, raw and as written in an attribute
	marked bool      // the script start tag being read is the snippet's: Scan gives up at its '>'
	srcIdx [2]int    // match progress of a src value per urls entry; -1 once different
	loader int       // bytes of loaderGlobal matched at the end of the last piece
}

// attrName notes a script attribute's name, and reports whether its value
// may make the script the loader.
func (w *productWatch) attrName(name []byte) bool {
	if string(name) == MarkerAttr {
		w.marked = true
	}
	return string(name) == "src"
}

func (w *productWatch) valueStart() {
	w.srcIdx = [2]int{0, 0}
}

// valueByte compares a src value with the loader URL as it streams by;
// surrounding whitespace is ignored, as browsers strip it from URLs. It
// reports whether the value may still be the loader's.
func (w *productWatch) valueByte(c byte) bool {
	for k, u := range w.urls {
		i := w.srcIdx[k]
		switch {
		case i < 0:
		case i == len(u):
			if !isSpace(c) {
				w.srcIdx[k] = -1
			}
		case i == 0 && isSpace(c):
		case u[i] == c:
			w.srcIdx[k]++
		default:
			w.srcIdx[k] = -1
		}
	}
	return w.srcIdx[0] >= 0 || w.srcIdx[1] >= 0
}

func (w *productWatch) valueEnd() {
	for k, u := range w.urls {
		if u != "" && w.srcIdx[k] == len(u) {
			w.marked = true
		}
	}
}

// mentionsLoader reports whether b, the next bytes of a live script's
// text, completes loaderGlobal, matched across the pieces of the page. A
// script's text ends with its end tag's name, which leaves no match
// open, so the next script starts afresh. Each place the global may start
// is compared at most once, so the check stays linear in the script.
func (w *productWatch) mentionsLoader(b []byte) bool {
	if k := w.loader; k > 0 {
		// The last piece ended inside a possible match: finish it first.
		n := min(len(loaderGlobal)-k, len(b))
		if string(b[:n]) == loaderGlobal[k:k+n] {
			w.loader += n
			return w.loader == len(loaderGlobal)
		}
		w.loader = 0
	}
	if containsLoader(b) {
		return true
	}
	// b may end inside a match that the next piece completes: its last
	// '$' among the final bytes, if what follows it starts the global.
	tail := b[max(len(b)-len(loaderGlobal)+1, 0):]
	if d := bytes.LastIndexByte(tail, '$'); d >= 0 && string(tail[d:]) == loaderGlobal[:len(tail)-d] {
		w.loader = len(tail) - d
	}
	return false
}

var loaderGlobalBytes = []byte(loaderGlobal)

// loaderAnchor is the offset of the byte containsLoader looks for first:
// the global's 'F', far rarer in scripts than its '$', which jQuery-style
// code has every few dozen bytes.
const loaderAnchor = len("$product")

// containsLoader reports whether b holds loaderGlobal. It is
// bytes.Contains with another byte to look for first: bytes.Index looks
// for the '$' with bytes.IndexByte and compares the global at each one,
// a call and a comparison per '$'. Like bytes.Index, it hands the rest
// to bytes.Index's vectorised search once false starts come thick, so a
// script full of 'F' stays linear too.
func containsLoader(b []byte) bool {
	const n = len(loaderGlobal)
	end := len(b) - (n - loaderAnchor) + 1 // past the last 'F' that leaves room for the rest
	for i, fails := 0, 0; i+loaderAnchor < end; {
		j := bytes.IndexByte(b[i+loaderAnchor:end], loaderGlobal[loaderAnchor])
		if j < 0 {
			return false
		}
		if i += j; string(b[i:i+n]) == loaderGlobal {
			return true
		}
		i++
		if fails++; fails > 4+i/16 {
			return bytes.Contains(b[i:], loaderGlobalBytes)
		}
	}
	return false
}
