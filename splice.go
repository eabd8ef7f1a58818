package productfruits

import (
	"bytes"
	"html"
	"strings"

	"github.com/pfverify/productfruits/internal/htmlscan"
)

// insert splices the snippet in at the scanner's insertion point, which
// lies either in the held bytes or in p, and ends the decision, unless it
// waits for the prescan window. final: no more bytes come before the
// decision.
func (w *injectWriter) insert(p []byte, final bool) (int, error) {
	claimed := w.mode.waiting()
	held := w.held.Len()
	at := w.sc.InsertAt() - w.bufOff
	if at < 0 || at > held+len(p) {
		// Cannot happen: Flush never sends bytes of an unfinished tag.
		// Should it ever, a page without the snippet beats a broken one.
		return w.passWrite(p, claimed)
	}
	if w.mode == modeSniff && !w.sniff(p) {
		return w.passWrite(p, false)
	}
	if !claimed && !w.st.claim() {
		return w.passWrite(p, false)
	}
	if w.sc.InsertAt() < prescanLen && w.prescanDecides(p) && !w.prescanSettled(p, at) {
		if end := w.bufOff + held + len(p); end < prescanLen && !final {
			w.held.Append(p)
			if w.mode == modeFlushed {
				w.mode = modeFlushedWait
			} else {
				w.mode = modeWait
			}
			return len(p), nil
		}
		if htmlscan.PrescanAffected(w.window(p, at, prescanLen-w.bufOff)) {
			// The snippet would push a <meta charset>, or the non-ASCII
			// text a browser guesses the encoding from, out of the
			// bytes it prescans: the page's encoding could change.
			return w.passWrite(p, true)
		}
	}
	// A write that holds the whole insertion point and is no larger than
	// maxCoalesce goes on as one write, the snippet inside.
	whole := held == 0 && len(p) <= maxCoalesce
	buf := w.snip[:0]
	if whole {
		buf = append(buf, p[:at]...)
	}
	start := len(buf)
	var err error
	if buf, err = w.m.appendSnippet(buf, w.r, w.st, w.rw.Header(), w.metaPolicies(p)); err != nil {
		w.m.logFailure(w.r, err, "page left without the snippet")
		return w.passWrite(p, true)
	}
	if !w.mode.headersSent() {
		w.commitInjected(len(buf) - start)
	}
	w.mode = modePass
	if whole {
		buf = append(buf, p[at:]...)
		_, err = w.rw.Write(buf)
	} else {
		err = w.splice(buf, p, at, held)
	}
	w.snip = buf
	w.bufOff += held
	w.held.Reset()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// splice writes the held bytes followed by p with snip inserted at
// offset at, without copying either.
func (w *injectWriter) splice(snip, p []byte, at, held int) error {
	if at > held { // the insertion point lies in p
		if err := w.held.WriteTo(w.rw, 0, held); err != nil {
			return err
		}
		return w.writeParts(p[:at-held], snip, p[at-held:])
	}
	if err := w.held.WriteTo(w.rw, 0, at); err != nil {
		return err
	}
	if err := w.writeParts(snip); err != nil {
		return err
	}
	if err := w.held.WriteTo(w.rw, at, held); err != nil {
		return err
	}
	return w.writeParts(p)
}

// writeParts writes each non-empty part, stopping at the first error.
func (w *injectWriter) writeParts(parts ...[]byte) error {
	for _, b := range parts {
		if len(b) == 0 {
			continue
		}
		if _, err := w.rw.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// window returns the bytes from offset from up to offset to of the held
// bytes followed by p, in one piece: in place when they lie in p, else
// copied into the writer's scratch space (to is within prescanLen).
func (w *injectWriter) window(p []byte, from, to int) []byte {
	held := w.held.Len()
	to = min(to, held+len(p))
	if from >= to {
		return nil
	}
	if from >= held {
		return p[from-held : to-held]
	}
	scratch := w.scratchSpace()
	n := w.held.Copy(scratch[:min(to, held)-from], from)
	if to > held {
		n += copy(scratch[n:], p[:to-held])
	}
	return scratch[:n]
}

func (w *injectWriter) scratchSpace() *[prescanLen]byte {
	if w.scratch == nil {
		w.scratch = new([prescanLen]byte)
	}
	return w.scratch
}

// prescanDecides reports whether the browser will take this page's
// encoding from a <meta> in its first bytes: an HTML page whose
// Content-Type names no charset (a sniffed one does: net/http adds
// utf-8) and which does not start with a byte order mark. p is the write
// being handled, after the held bytes.
func (w *injectWriter) prescanDecides(p []byte) bool {
	if !w.noCharset {
		return false
	}
	return w.bufOff > 0 || !bytes.HasPrefix(w.window(p, 0, 3), []byte("\xef\xbb\xbf"))
}

// prescanSettled reports whether the browser's prescan settles the
// encoding within the bytes before the insertion point at (a <meta
// charset> there): nothing after them can change it.
func (w *injectWriter) prescanSettled(p []byte, at int) bool {
	return w.bufOff == 0 && htmlscan.PrescanFinds(w.window(p, 0, at))
}

// maxMetaTag bounds how much of a <meta http-equiv> is read for its policy.
const maxMetaTag = 8 << 10

// metaPolicies returns the Content-Security-Policy values the page
// declares in <meta http-equiv> elements of its head before the insertion
// point, read from the held bytes and p. A meta already sent by an early
// Flush is not read.
func (w *injectWriter) metaPolicies(p []byte) []string {
	var policies []string
	held := w.held.Len()
	for _, off := range w.sc.Metas() {
		from := off - w.bufOff
		if from < 0 {
			continue
		}
		var tag []byte
		if from >= held {
			tag = p[from-held : min(len(p), from-held+maxMetaTag)]
		} else {
			n := min(held+len(p)-from, maxMetaTag)
			tag = make([]byte, n)
			k := w.held.Copy(tag, from)
			copy(tag[k:], p)
		}
		if v, ok := htmlscan.Attr(tag, "http-equiv"); !ok || !strings.EqualFold(html.UnescapeString(string(v)), "content-security-policy") {
			continue
		}
		if v, ok := htmlscan.Attr(tag, "content"); ok {
			policies = append(policies, html.UnescapeString(string(v)))
		}
	}
	return policies
}
