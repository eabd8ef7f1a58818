package htmlscan

// headPolicy is the tree builder's part the scanner needs: the "in head"
// insertion mode (§13.2.6.4.4; before it, the "before html" and "before
// head" modes lead there for the same tokens). It decides where the head
// ends from the tokens the tokenizer reads, and feeds back where the
// tokenizer reads next: raw text, script data, or text that matters.
type headPolicy struct {
	xml      bool // an XHTML page, read as the XML parser reads it
	prolog   bool // before the first tag: only whitespace, comments, a BOM, a doctype
	headOpen bool // the parser is in the head (not before it, where it drops whitespace)
	depth    int  // <template> nesting: its contents are inert
	baseHref bool // the tag being read is a <base> with an href: URLs after it resolve against it
	equiv    bool // the tag being read is a <meta> with an http-equiv
	insertAt int

	// lastSafe is the stream offset of the last point known to lie in
	// the head, where the snippet may still go when the insertion point
	// is not found within the caller's look-ahead; 0 for none.
	lastSafe int
	// metas are the stream offsets of the head's <meta http-equiv> tags
	// before the insertion point (a Content-Security-Policy may be one),
	// up to len(metas) of them.
	metas  [4]int
	nMetas int
}

// reset starts a page before its first tag, where the policy hears of
// every construct and character to tell a document from a fragment.
func (h *headPolicy) reset(t *tokenizer) {
	h.prolog = true
	t.announce, t.textMatters = true, true
}

// setText tells the tokenizer whether text matters: in the head any
// character other than whitespace makes the parser leave it; template
// contents, and text in XML, change nothing.
func (h *headPolicy) setText(t *tokenizer) {
	t.textMatters = h.prolog || h.depth == 0 && !h.xml
}

// endProlog ends the part of the page before its first tag.
func (h *headPolicy) endProlog(t *tokenizer) {
	h.prolog, t.announce = false, false
	h.setText(t)
}

// text decides on the character c at stream offset at, the first of text
// other than whitespace outside template contents.
func (h *headPolicy) text(at int, c byte) Result {
	switch {
	case h.prolog:
		return GiveUp // not a document
	case c == '&' && !h.headOpen:
		// A character reference may stand for whitespace, which the
		// parser drops before the head opens but keeps in it: the
		// snippet would change the tree.
		return GiveUp
	}
	h.insertAt = at
	return Insert
}

// markup decides on a construct that starts before the first tag: only
// comments and a doctype (and, in XML, CDATA sections and processing
// instructions) keep the page a document.
func (h *headPolicy) markup(t *tokenizer, k markupKind) Result {
	switch k {
	case comment, cdataSection, processingInstruction:
		return More
	case doctype:
		h.endProlog(t)
		return More
	}
	return GiveUp
}

// documentStart reports whether the first tag of the page is <html> or
// <head> (or comes after a doctype): a whole document rather than a
// fragment.
func (h *headPolicy) documentStart(t *tokenizer) bool {
	if t.endTag || !(t.nameIs("html") || t.nameIs("head")) {
		return false
	}
	h.endProlog(t)
	return true
}

// ignoresTag reports tags that tag ignores, told from the first letter
// of their name or its length alone: every end tag but </head>, </body>,
// </html>, </br> and </template>, and in template contents every tag
// shorter than any templateTag acts on.
func (h *headPolicy) ignoresTag(t *tokenizer) bool {
	return t.endTag && !endTagMatters[t.name[0]] || h.depth > 0 && t.nameLen < len("svg")
}

// endTagMatters are the first letters of the end tags tag acts on.
var endTagMatters = [256]bool{'h': true, 'b': true, 't': true}

// tag acts on the tag just read, from its '<' at stream offset start to
// right after its '>' at end: the first token that makes the parser leave
// the head is the insertion point; template contents are skipped as a
// whole; and the elements whose content the tokenizer reads in another
// state switch it there.
func (h *headPolicy) tag(t *tokenizer, start, end int) Result {
	name, long := t.tagName()
	base, equiv := h.baseHref, h.equiv
	h.baseHref, h.equiv = false, false
	if h.xml {
		return h.xmlTag(t, name, long, start, base, equiv)
	}
	if t.endTag {
		switch {
		case long:
		case h.depth == 0 && headEnd(name):
			h.insertAt = start
			return Insert
		case string(name) == "template" && h.depth > 0:
			h.depth--
			h.setText(t)
		}
		return More // the head ignores every other end tag
	}
	if h.depth > 0 {
		return h.templateTag(t, name, long)
	}
	if long {
		h.insertAt = start
		return Insert
	}
	// The start tags the head keeps; any other makes the parser leave it.
	// Right before one of them, once the head is open, the snippet would
	// still be in the head (lastSafe).
	safe := start
	switch string(name) {
	case "html":
		return More
	case "head":
		safe = end // before <head> the snippet would open a head of its own
	case "base":
		if base {
			// Every relative URL after it resolves against its href,
			// the runtime's among them: the snippet goes before it.
			h.insertAt = start
			return Insert
		}
	case "meta":
		h.noteMeta(start, equiv)
	case "basefont", "bgsound", "link":
	case "title": // RCDATA
		t.readRawText("title")
	case "style", "noscript", "noframes": // RAWTEXT, scripting enabled
		t.readRawText(rawTextEnd(name))
	case "script":
		t.readScriptData()
	case "template":
		h.depth++
		h.setText(t)
	default:
		h.insertAt = start
		return Insert
	}
	if h.headOpen || safe == end {
		h.lastSafe = safe
	}
	h.headOpen = true // <head>, or an element that opens it implicitly
	return More
}

// noteMeta records a <meta http-equiv> of the head, for the caller to read
// (Metas).
func (h *headPolicy) noteMeta(start int, equiv bool) {
	if equiv && h.nMetas < len(h.metas) {
		h.metas[h.nMetas] = start
		h.nMetas++
	}
}

// xmlTag acts on a tag of an XHTML page: the XML parser closes nothing
// implicitly and reads no element as raw text, so only </head> ends the
// head, and template contents are skipped as a whole. Every other tag
// (an XHTML head may hold any) costs a switch on its name.
func (h *headPolicy) xmlTag(t *tokenizer, name []byte, long bool, start int, base, equiv bool) Result {
	if long {
		return More
	}
	if t.endTag {
		switch {
		case string(name) == "head" && h.depth == 0:
			h.insertAt = start
			return Insert
		case string(name) == "template" && h.depth > 0:
			h.depth--
		}
		return More
	}
	switch string(name) {
	case "template":
		if !t.slash {
			h.depth++
		}
	case "head":
		h.headOpen = h.headOpen || h.depth == 0
	case "base":
		if base && h.headOpen && h.depth == 0 {
			h.insertAt = start // as in HTML: relative URLs after it resolve against it
			return Insert
		}
	case "meta":
		if h.depth == 0 {
			h.noteMeta(start, equiv)
		}
	}
	return More
}

// templateTag acts on a start tag inside <template>, whose contents the
// parser keeps apart: only where the template ends matters, so the raw
// text and script elements must be read as the tokenizer reads them.
// Foreign content (svg, math) would need CDATA sections and tag rules of
// its own: the page is left alone rather than guessed at.
func (h *headPolicy) templateTag(t *tokenizer, name []byte, long bool) Result {
	if long || len(name) < len("svg") {
		return More // p, a, li, td...: none of the names below is this short
	}
	switch string(name) {
	case "template":
		h.depth++
	case "script":
		t.readScriptData()
	case "plaintext", "svg", "math":
		return GiveUp
	default:
		if end := rawTextEnd(name); end != "" {
			t.readRawText(end)
		}
	}
	return More
}

// headEnd reports the end tags that end the head: </head>, and </body>,
// </html> and </br>, which the head treats like any other content.
func headEnd(name []byte) bool {
	switch string(name) {
	case "head", "body", "html", "br":
		return true
	}
	return false
}

// rawTextEnd returns, for an element the tree builder reads as RAWTEXT or
// RCDATA (scripting enabled, so <noscript> too), the end tag name that
// ends its text; "" for any other element.
func rawTextEnd(name []byte) string {
	switch string(name) {
	case "style":
		return "style"
	case "xmp":
		return "xmp"
	case "iframe":
		return "iframe"
	case "noembed":
		return "noembed"
	case "noframes":
		return "noframes"
	case "noscript":
		return "noscript"
	case "title": // RCDATA
		return "title"
	case "textarea": // RCDATA
		return "textarea"
	}
	return ""
}
