package htmlscan

// The tokenizer's hooks: the only calls it makes out of itself. Each
// hands what the tokenizer read to the layer that wants it: tags, text
// and markup to the head policy, the attributes and text of a script to
// the product's watch, and a <base>'s or <meta>'s attribute names to the
// head policy again. They are methods of Scanner, which holds the three
// layers; the tokenizer knows no other of its methods or fields.

// watched says which start tag's attribute names the hooks ask for.
type watched uint8

const (
	watchNone   watched = iota
	watchScript         // the product's: the marker, src
	watchBase           // the head's: href
	watchMeta           // the head's: http-equiv
)

// tagName hears of every tag once its name is read, before its
// attributes.
func (s *Scanner) tagName(t *tokenizer) {
	s.watch = watchNone
	if !t.endTag && s.head.depth == 0 {
		s.watch = watchedTag(t.name[:min(t.nameLen, len(t.name))])
	}
}

// firstTagName hears of the name of the page's first tag, while the head
// policy asks for every construct.
func (s *Scanner) firstTagName(t *tokenizer) Result {
	if !s.head.documentStart(t) {
		return GiveUp
	}
	return More
}

// watchedTag says whose attribute names a start tag of the head (its
// lower-cased name) has.
func watchedTag(name []byte) watched {
	switch len(name) {
	case 4:
		if string(name) == "base" {
			return watchBase
		}
		if string(name) == "meta" {
			return watchMeta
		}
	case 6:
		if string(name) == "script" {
			return watchScript
		}
	}
	return watchNone
}

// attrStart reports whether the attribute name starting with c may be one
// the tag being read is watched for: every name of a script (the marker,
// src); only names starting with 'h' of <base> and <meta> (href,
// http-equiv), so their other attributes cost nothing.
func (s *Scanner) attrStart(c byte) bool {
	return s.watch == watchScript || s.watch != watchNone && c|0x20 == 'h'
}

// attrName hears of an attribute name attrStart asked for, and reports
// whether its value is wanted too.
func (s *Scanner) attrName(name []byte) bool {
	switch s.watch {
	case watchScript:
		return s.product.attrName(name)
	case watchBase:
		s.head.baseHref = s.head.baseHref || string(name) == "href"
	case watchMeta:
		s.head.equiv = s.head.equiv || string(name) == "http-equiv"
	}
	return false
}

// valueStart, valueByte and valueEnd stream a wanted attribute value;
// valueByte reports whether the rest of it is still wanted.
func (s *Scanner) valueStart()           { s.product.valueStart() }
func (s *Scanner) valueByte(c byte) bool { return s.product.valueByte(c) }
func (s *Scanner) valueEnd()             { s.product.valueEnd() }

// ignoresTag reports whether tag would do nothing with the tag just read,
// as far as the head policy tells it cheaply: the tokenizer asks before
// calling tag, which costs a call the compiler does not inline. The
// product marks only script start tags of the head, which tag always
// hears of.
func (s *Scanner) ignoresTag(t *tokenizer) bool { return s.head.ignoresTag(t) }

// tag hears of a tag once its '>' is read; start and end are the stream
// offsets of its '<' and right after its '>'.
func (s *Scanner) tag(t *tokenizer, start, end int) Result {
	if s.product.marked {
		return GiveUp // the page already carries the snippet
	}
	return s.head.tag(t, start, end)
}

// text hears of the first character of text other than whitespace, at
// stream offset at, while the head policy asks for it.
func (s *Scanner) text(at int, c byte) Result { return s.head.text(at, c) }

// markup hears of each markup construct as it starts, while the head
// policy asks for it.
func (s *Scanner) markup(t *tokenizer, k markupKind) Result { return s.head.markup(t, k) }

// scriptText hears of the next bytes of a script element's text: a
// script start tag of the head (the last tag read) is live, one in
// template contents is inert.
func (s *Scanner) scriptText(b []byte) Result {
	if s.watch == watchScript && s.product.mentionsLoader(b) {
		return GiveUp // the page runs the loader already
	}
	return More
}
