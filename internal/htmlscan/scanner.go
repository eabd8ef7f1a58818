// Package htmlscan finds where the Product Fruits snippet goes in an HTML
// page that arrives in pieces: where a WHATWG tree builder would still be
// in the page's head, right before the first token that makes it leave:
// </head>, or any token the head does not take (a start tag such as
// <body>, <div>, <input> or <svg>, non-whitespace text, </body>), so that
// pages whose head is only closed implicitly get the snippet in it too.
//
// It is built in three layers, as a streaming rewriter is: a tokenizer
// (tokenizer.go, markup.go, text.go), a streaming subset of the WHATWG
// HTML tokenizer (HTML Living Standard, §13.2.5 "Tokenization") whose
// states carry the names of the spec's; a head policy (head.go), the
// tree builder's "in head" rules that decide where the head ends and
// feed back where the tokenizer goes next; and the product's detection
// (product.go), which notices a page that already carries the snippet.
// The tokenizer reports to the Scanner's hooks (hooks.go), which hand
// each token to the layer that wants it.
//
// A Scanner keeps its whole state between calls, so a page may arrive
// split anywhere, and it never looks back at earlier bytes, so the caller
// need not keep them. It gives up on pages that are not whole documents,
// that already carry the snippet, or whose rest is not markup.
package htmlscan

// Result is what Scan has decided about the page.
type Result uint8

const (
	// More means no decision yet: Scan wants the next bytes.
	More Result = iota
	// Insert means the insertion point is found, at InsertAt.
	Insert
	// GiveUp means the page must be left untouched.
	GiveUp
)

// Scanner finds the insertion point of one page. The zero value is not
// ready: call Reset first. A Scanner is reused by calling Reset again.
type Scanner struct {
	tok     tokenizer
	head    headPolicy
	product productWatch
	watch   watched // whose attribute names matter in the start tag being read
}

// Reset prepares s for a new page. scriptURL is the product's loader URL
// and scriptAttr the same URL escaped for an attribute: a script element
// whose src is either is the loader, so the page carries the snippet.
func (s *Scanner) Reset(scriptURL, scriptAttr string) {
	// Zeroed in place, then set: a struct literal would be built on the
	// caller's stack first.
	*s = Scanner{}
	s.tok.reset()
	s.head.reset(&s.tok)
	s.product.urls[0], s.product.urls[1] = scriptURL, scriptAttr
}

// SetXML makes s read the page as an XML parser does, for pages served as
// application/xhtml+xml: no raw text elements, CDATA sections and
// processing instructions, self-closing tags, and a head that ends only
// at </head> (XML closes nothing implicitly). Call it after Reset,
// before the first Scan.
func (s *Scanner) SetXML() { s.tok.xml, s.head.xml = true, true }

// InsertAt returns the stream offset of the insertion point once Scan has
// returned Insert.
func (s *Scanner) InsertAt() int { return s.head.insertAt }

// LastSafe returns the stream offset of the last point the scanner knows
// to lie inside the head, where the snippet may go when the insertion
// point is not found within the caller's look-ahead (right after <head>,
// or right before a later element the head keeps); 0 when there is none.
func (s *Scanner) LastSafe() int { return s.head.lastSafe }

// UseLastSafe makes LastSafe the insertion point, for a page whose head
// runs past the caller's look-ahead, and reports whether there is one.
func (s *Scanner) UseLastSafe() bool {
	if s.head.lastSafe == 0 {
		return false
	}
	s.head.insertAt = s.head.lastSafe
	return true
}

// Metas returns the stream offsets of the '<' of the <meta http-equiv>
// tags of the head scanned so far (at most four; more are not recorded).
// Before an Insert they all precede the insertion point.
func (s *Scanner) Metas() []int { return s.head.metas[:s.head.nMetas] }

// Offset returns how many bytes Scan has consumed.
func (s *Scanner) Offset() int { return s.tok.off }

// Flushable returns the stream offset up to which the page may be sent
// before a decision: everything scanned except an unfinished tag, which
// may still turn out to be the insertion point.
func (s *Scanner) Flushable() int {
	if s.tok.tagStart >= 0 {
		return s.tok.tagStart
	}
	return s.tok.off
}

// Scan consumes p, the next bytes of the page, and reports the decision.
// After Insert or GiveUp the Scanner must be Reset before further use.
func (s *Scanner) Scan(p []byte) Result {
	t := &s.tok
	base := t.off
	t.off += len(p)
	r := More
	for i := 0; i < len(p) && r == More; {
		switch t.state.family() {
		case tagFamily:
			i, r = t.tags(p, i, base, s)
		case markupFamily:
			i, r = t.markupDeclaration(p, i, s)
		case rawTextFamily:
			i = t.rawText(p, i, base)
		case scriptFamily:
			i, r = t.scriptData(p, i, base, s)
		}
	}
	return r
}
