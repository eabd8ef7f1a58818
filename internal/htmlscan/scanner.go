// Package htmlscan finds where the Product Fruits snippet goes in an HTML
// page that arrives in pieces.
package htmlscan

import "bytes"

// MarkerAttr is the attribute every script element of the snippet carries:
// a page whose script has it already holds the snippet.
const MarkerAttr = "data-productfruits"

// InsertAt returns the stream offset of the insertion point once Scan has
// returned Insert.
func (s *Scanner) InsertAt() int { return s.insertAt }

// Flushable returns the stream offset up to which the page may be sent
// before the decision: everything scanned except an unfinished tag, which
// may still turn out to be the insertion point.
func (s *Scanner) Flushable() int {
	if s.tagStart >= 0 {
		return s.tagStart
	}
	return s.off
}

// Offset returns how many bytes Scan has consumed.
func (s *Scanner) Offset() int { return s.off }

// The scanner: a streaming subset of the WHATWG HTML tokenizer, just
// enough to tell real tags from text, comments, attribute values and the
// contents of raw text elements. It keeps its whole state between calls,
// so a page may arrive in pieces split anywhere, and it never looks back at
// earlier bytes, so they need not be kept contiguous.

type Result uint8

const (
	More   Result = iota // no decision yet
	Insert               // the insertion point is at insertAt
	GiveUp               // leave the page untouched
)

type scanState uint8

const (
	stData scanState = iota
	stBOM
	stTagOpen    // after '<'
	stEndTagOpen // after "</"
	stTagName
	stBeforeAttrName
	stAttrName
	stAfterAttrName
	stBeforeAttrValue
	stAttrValueQuoted
	stAttrValueUnquoted
	stAfterAttrValue
	stMarkupOpen // after "<!"
	stMarkupDash // after "<!-"
	stDoctype    // matching "doctype" in the prolog
	stComment
	stBogusComment
	stRawText
	stScript
)

const (
	bom          = "\xef\xbb\xbf"
	doctype      = "doctype"
	scriptName   = "script"
	scriptGlobal = "$productFruits"
)

// Scanner finds where the snippet goes: right before the first real
// </head> or, in a page without one before it, the <body> start tag.
// (A </head> after <body> is ignored by browsers, so the first of the
// two is the right spot.)
type Scanner struct {
	state    scanState
	prolog   bool // only whitespace, comments and a BOM so far
	off      int  // stream offset of the next byte
	tagStart int  // stream offset of the '<' of the tag being read, or -1
	insertAt int

	endTag  bool
	name    [10]byte // tag name, lower-cased; long enough for "plaintext"
	nameLen int      // may exceed len(name): then no name we know
	attr    [len(MarkerAttr)]byte
	attrLen int
	quote   byte
	kw      int // progress through the BOM or "doctype"

	// A <script> start tag outside <template> is checked for being the
	// snippet itself: the marker attribute or the loader's src.
	script   bool
	marked   bool
	srcValue bool
	srcIdx   [2]int    // match progress per urls entry; -1 once different
	urls     [2]string // the loader URL, raw and as written in an attribute

	raw    string // end tag name that closes the raw text element
	rawIdx int    // progress through "</"+raw
	lt     uint8  // script: inside "<", "</script", "<!--" or "<script"
	esc    uint8  // script data: 0 plain, 1 escaped, 2 double escaped
	seqIdx int    // progress through "script" after "</" or "<"
	dashes int    // consecutive '-' so far: "-->" ends comments and escapes
	dollar int    // progress through "$productFruits"
	live   bool   // the script runs (not in a <template>): it may be the loader
	depth  int    // <template> nesting: its contents are inert
	clen   int    // comment bytes so far, capped at 2, for <!--> and <!--->
	bang   bool   // "--!" seen: '>' ends the comment too
	seqAt  int    // stream offset of the '<' that may start an end tag
}

func (s *Scanner) Reset(scriptURL, scriptAttr string) {
	*s = Scanner{prolog: true, tagStart: -1, urls: [2]string{scriptURL, scriptAttr}}
}

// Bytes that end a tag name, an attribute name and an unquoted attribute
// value; tables keep the scanner's inner loops short.
var nameStop, attrStop, unquotedStop [256]bool

func init() {
	for _, c := range []byte(" \t\n\f\r") {
		nameStop[c], attrStop[c], unquotedStop[c] = true, true, true
	}
	nameStop['/'], nameStop['>'] = true, true
	attrStop['/'], attrStop['='], attrStop['>'] = true, true, true
	unquotedStop['>'] = true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func (s *Scanner) nameIs(n string) bool {
	return s.nameLen == len(n) && string(s.name[:s.nameLen]) == n
}

func (s *Scanner) setName(n string) {
	s.nameLen = copy(s.name[:], n)
}

func (s *Scanner) beginAttr(c byte) {
	s.attrLen = 0
	if s.script {
		s.addAttr(c)
	}
	s.state = stAttrName
}

func (s *Scanner) addAttr(c byte) {
	if s.attrLen < len(s.attr) {
		s.attr[s.attrLen] = lower(c)
	}
	s.attrLen++
}

func (s *Scanner) attrIs(n string) bool {
	return s.attrLen == len(n) && string(s.attr[:s.attrLen]) == n
}

// endAttrName notes the attributes that make a script tag the snippet.
func (s *Scanner) endAttrName() {
	s.srcValue = false
	if !s.script {
		return
	}
	if s.attrIs(MarkerAttr) {
		s.marked = true
	}
	s.srcValue = s.attrIs("src")
}

func (s *Scanner) beginValue() {
	s.srcIdx = [2]int{0, 0}
}

// matchSrc compares an attribute value with the loader URL as it streams
// by; surrounding whitespace is ignored, as browsers strip it from URLs.
func (s *Scanner) matchSrc(c byte) {
	for k, u := range s.urls {
		i := s.srcIdx[k]
		switch {
		case i < 0:
		case i == len(u):
			if !isSpace(c) {
				s.srcIdx[k] = -1
			}
		case i == 0 && isSpace(c):
		case u[i] == c:
			s.srcIdx[k]++
		default:
			s.srcIdx[k] = -1
		}
	}
	if s.srcIdx[0] < 0 && s.srcIdx[1] < 0 {
		s.srcValue = false // the rest of the value can be skipped
	}
}

func (s *Scanner) endValue() {
	if s.srcValue {
		for k, u := range s.urls {
			if u != "" && s.srcIdx[k] == len(u) {
				s.marked = true
			}
		}
	}
	s.srcValue = false
}

// endName checks the first tag of the page: only <html> or <head> (or a
// doctype) make it a whole document rather than a fragment.
func (s *Scanner) endName() bool {
	if s.prolog {
		if s.endTag || !(s.nameIs("html") || s.nameIs("head")) {
			return false
		}
		s.prolog = false
	}
	s.script = !s.endTag && s.depth == 0 && s.nameIs(scriptName)
	s.marked = false
	return true
}

// tagDone acts on a complete tag whose '>' is at stream offset at.
func (s *Scanner) tagDone() Result {
	start := s.tagStart
	s.tagStart = -1
	s.state = stData
	if s.endTag {
		switch {
		case s.nameIs("head") && s.depth == 0:
			s.insertAt = start
			return Insert
		case s.nameIs("template") && s.depth > 0:
			s.depth--
		}
		return More
	}
	if s.script && s.marked {
		return GiveUp // the page already carries the snippet
	}
	switch string(s.name[:min(s.nameLen, len(s.name))]) {
	case "body":
		if s.nameLen == 4 && s.depth == 0 {
			s.insertAt = start
			return Insert
		}
	case "template":
		if s.nameLen == 8 {
			s.depth++
		}
	case scriptName:
		if s.nameLen == 6 {
			s.state = stScript
			s.lt, s.esc, s.dashes, s.dollar = 0, 0, 0, 0
			s.live = s.depth == 0
		}
	case "style":
		s.enterRaw("style")
	case "title":
		s.enterRaw("title")
	case "textarea":
		s.enterRaw("textarea")
	case "xmp":
		s.enterRaw("xmp")
	case "iframe":
		s.enterRaw("iframe")
	case "noembed":
		s.enterRaw("noembed")
	case "noframes":
		s.enterRaw("noframes")
	case "noscript":
		s.enterRaw("noscript")
	case "plaintext":
		if s.nameLen == 9 {
			return GiveUp // nothing after it is markup any more
		}
	}
	return More
}

// enterRaw starts the text of an element that ends only at </name>; the
// name checks against nameLen, since name holds a prefix of longer names.
func (s *Scanner) enterRaw(name string) {
	if s.nameLen == len(name) {
		s.state, s.raw, s.rawIdx = stRawText, name, 0
	}
}

// scan consumes p, the next bytes of the page.
func (s *Scanner) Scan(p []byte) Result {
	base := s.off
	s.off += len(p)
	for i := 0; i < len(p); {
		c := p[i]
		switch s.state {
		case stData:
			if s.prolog {
				switch {
				case c == '<':
					s.state = stTagOpen
					s.tagStart = base + i
				case c == bom[0] && base+i == 0:
					s.state, s.kw = stBOM, 1
				case !isSpace(c):
					return GiveUp
				}
				break
			}
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				return More
			}
			i += j
			s.tagStart = base + i
			i++
			if i < len(p) && isAlpha(p[i]) {
				// The common case, straight into the name loop.
				s.endTag, s.nameLen, s.state = false, 0, stTagName
			} else {
				s.state = stTagOpen
			}
			continue

		case stBOM:
			if c != bom[s.kw] {
				return GiveUp
			}
			if s.kw++; s.kw == len(bom) {
				s.state = stData
			}

		case stTagOpen:
			switch {
			case c == '!':
				s.state = stMarkupOpen
				s.tagStart = -1
			case c == '/':
				if s.prolog {
					return GiveUp
				}
				s.state = stEndTagOpen
			case isAlpha(c):
				s.endTag, s.nameLen, s.state = false, 0, stTagName
				continue
			case s.prolog:
				return GiveUp
			case c == '?':
				s.state = stBogusComment
				s.tagStart = -1
			default:
				// Not a tag: '<' was text; c is looked at again as text.
				s.state = stData
				s.tagStart = -1
				continue
			}

		case stEndTagOpen:
			switch {
			case isAlpha(c):
				s.endTag, s.nameLen, s.state = true, 0, stTagName
				continue
			case c == '>':
				s.state = stData
				s.tagStart = -1
			default:
				s.state = stBogusComment
				s.tagStart = -1
				continue
			}

		case stTagName:
			n := s.nameLen
			for ; i < len(p) && !nameStop[p[i]]; i++ {
				if n < len(s.name) {
					s.name[n] = lower(p[i])
				}
				n++
			}
			s.nameLen = n
			if i == len(p) {
				return More
			}
			if !s.endName() {
				return GiveUp
			}
			if p[i] != '>' {
				s.state = stBeforeAttrName
				break
			}
			if r := s.tagDone(); r != More {
				return r
			}

		case stBeforeAttrName:
			for ; i < len(p) && (isSpace(p[i]) || p[i] == '/'); i++ {
			}
			if i == len(p) {
				return More
			}
			if p[i] != '>' {
				s.beginAttr(p[i])
				break
			}
			if r := s.tagDone(); r != More {
				return r
			}

		case stAttrName:
			// Only a script's attribute names matter (the marker, src).
			for ; i < len(p) && !attrStop[p[i]]; i++ {
				if s.script {
					s.addAttr(p[i])
				}
			}
			if i == len(p) {
				return More
			}
			s.endAttrName()
			switch p[i] {
			case '/':
				s.state = stBeforeAttrName
			case '=':
				s.state = stBeforeAttrValue
			case '>':
				if r := s.tagDone(); r != More {
					return r
				}
			default:
				s.state = stAfterAttrName
			}

		case stAfterAttrName:
			switch {
			case isSpace(c):
			case c == '/':
				s.state = stBeforeAttrName
			case c == '=':
				s.state = stBeforeAttrValue
			case c == '>':
				if r := s.tagDone(); r != More {
					return r
				}
			default:
				s.beginAttr(c)
			}

		case stBeforeAttrValue:
			switch {
			case isSpace(c):
			case c == '"' || c == '\'':
				s.quote = c
				s.beginValue()
				s.state = stAttrValueQuoted
			case c == '>':
				s.srcValue = false
				if r := s.tagDone(); r != More {
					return r
				}
			default:
				s.beginValue()
				s.state = stAttrValueUnquoted
				continue
			}

		case stAttrValueQuoted:
			for ; i < len(p) && s.srcValue && p[i] != s.quote; i++ {
				s.matchSrc(p[i])
			}
			if i < len(p) && p[i] != s.quote {
				j := bytes.IndexByte(p[i:], s.quote)
				if j < 0 {
					return More
				}
				i += j
			}
			if i == len(p) {
				return More
			}
			s.endValue()
			s.state = stAfterAttrValue

		case stAttrValueUnquoted:
			for ; i < len(p) && !unquotedStop[p[i]]; i++ {
				if s.srcValue {
					s.matchSrc(p[i])
				}
			}
			if i == len(p) {
				return More
			}
			s.endValue()
			if p[i] != '>' {
				s.state = stBeforeAttrName
				break
			}
			if r := s.tagDone(); r != More {
				return r
			}

		case stAfterAttrValue:
			switch {
			case isSpace(c) || c == '/':
				s.state = stBeforeAttrName
			case c == '>':
				if r := s.tagDone(); r != More {
					return r
				}
			default:
				s.state = stBeforeAttrName
				continue
			}

		case stMarkupOpen:
			switch {
			case c == '-':
				s.state = stMarkupDash
			case s.prolog && lower(c) == doctype[0]:
				s.state, s.kw = stDoctype, 1
			case s.prolog:
				return GiveUp
			default:
				s.state = stBogusComment
				continue
			}

		case stMarkupDash:
			switch {
			case c == '-':
				s.state = stComment
				s.clen, s.dashes, s.bang = 0, 0, false
			case s.prolog:
				return GiveUp
			default:
				s.state = stBogusComment
				continue
			}

		case stDoctype:
			if lower(c) != doctype[s.kw] {
				return GiveUp
			}
			if s.kw++; s.kw == len(doctype) {
				s.prolog = false
				s.state = stBogusComment
			}

		case stComment:
			if s.comment(c) {
				s.state = stData
			} else if s.dashes == 0 && !s.bang && s.clen == 2 {
				// Until the next '-' nothing can end the comment.
				j := bytes.IndexByte(p[i+1:], '-')
				if j < 0 {
					return More
				}
				i += j + 1
				continue
			}

		case stBogusComment:
			j := bytes.IndexByte(p[i:], '>')
			if j < 0 {
				return More
			}
			i += j
			s.state = stData

		case stRawText:
			switch s.rawIdx {
			case 0:
				j := bytes.IndexByte(p[i:], '<')
				if j < 0 {
					return More
				}
				i += j
				s.seqAt = base + i
				if n := endTagAt(p[i:], s.raw); n > 0 {
					s.beginEndTag(s.raw)
					i += n
					continue
				}
				s.rawIdx = 1
			case 1:
				if c != '/' {
					s.rawIdx = 0
					continue
				}
				s.rawIdx = 2
			default:
				if k := s.rawIdx - 2; k < len(s.raw) {
					if lower(c) != s.raw[k] {
						s.rawIdx = 0
						continue
					}
					s.rawIdx++
					break
				}
				s.rawIdx = 0
				if isSpace(c) || c == '/' || c == '>' {
					s.beginEndTag(s.raw)
				}
				continue
			}

		case stScript:
			if s.lt == 0 && s.esc == 0 && s.dollar == 0 {
				// Plain script text: only '<' and, in a live script, '$'
				// can matter, so skip to the first of them.
				rest := p[i:]
				j := bytes.IndexByte(rest, '<')
				if s.live {
					end := len(rest)
					if j >= 0 {
						end = j
					}
					if d := bytes.IndexByte(rest[:end], '$'); d >= 0 {
						j = d
					}
				}
				if j < 0 {
					return More
				}
				i += j
				c = p[i]
				if c == '<' {
					if n := endTagAt(p[i:], scriptName); n > 0 {
						s.seqAt = base + i
						s.beginEndTag(scriptName)
						i += n
						continue
					}
				}
			}
			if s.live {
				if c == scriptGlobal[s.dollar] {
					if s.dollar++; s.dollar == len(scriptGlobal) {
						return GiveUp // the page already runs the loader
					}
				} else if c == '$' {
					s.dollar = 1
				} else {
					s.dollar = 0
				}
			}
			if s.scriptByte(c, base+i) {
				continue
			}
		}
		i++
	}
	return More
}

// endTagAt returns the length of "</"+name at the start of b when a byte
// that ends a tag name follows it in b, or 0: a fast path for the end of
// raw text, which otherwise goes byte by byte.
func endTagAt(b []byte, name string) int {
	n := 2 + len(name)
	if len(b) <= n || b[0] != '<' || b[1] != '/' || !nameStop[b[n]] {
		return 0
	}
	for k := 0; k < len(name); k++ {
		if lower(b[2+k]) != name[k] {
			return 0
		}
	}
	return n
}

// beginEndTag starts reading the end tag of a raw text or script element
// whose name has just been matched; the next byte is read as in a tag name.
func (s *Scanner) beginEndTag(name string) {
	s.endTag = true
	s.setName(name)
	s.tagStart = s.seqAt
	s.state = stTagName
}

// comment consumes one byte of a comment and reports whether it ended it:
// at "-->", "--!>", or the abrupt "<!-->" and "<!--->" browsers accept.
func (s *Scanner) comment(c byte) bool {
	end := false
	switch c {
	case '-':
		if s.bang {
			s.bang, s.dashes = false, 1
		} else {
			s.dashes++
		}
	case '!':
		s.bang = s.dashes >= 2 && !s.bang
		if !s.bang {
			s.dashes = 0
		}
	case '>':
		end = s.dashes >= 2 || s.bang || s.clen == 0 || (s.clen == 1 && s.dashes == 1)
		s.dashes, s.bang = 0, false
	default:
		s.dashes, s.bang = 0, false
	}
	if s.clen < 2 {
		s.clen++
	}
	return end
}

// scriptByte consumes one byte of script data, following the tokenizer's
// escape states so that "</script>" inside "<!-- <script> ... -->" does
// not end the element. It reports whether c must be read again in the
// state it switched to.
func (s *Scanner) scriptByte(c byte, at int) bool {
	switch s.lt {
	case 0:
		switch c {
		case '<':
			s.lt = 1
			s.seqAt = at
			s.dashes = 0
		case '-':
			if s.esc > 0 {
				s.dashes++
			}
		case '>':
			if s.esc > 0 && s.dashes >= 2 {
				s.esc = 0
			}
			s.dashes = 0
		default:
			s.dashes = 0
		}
		return false
	case 1: // after '<'
		switch {
		case c == '/':
			s.lt, s.seqIdx = 2, 0
		case c == '!' && s.esc == 0:
			s.lt = 3
		case s.esc == 1 && lower(c) == scriptName[0]:
			s.lt, s.seqIdx = 5, 1
		default:
			s.lt = 0
			return s.scriptByte(c, at)
		}
	case 2, 5: // "</" or, when escaped, "<" followed by (part of) "script"
		if s.seqIdx < len(scriptName) {
			if lower(c) != scriptName[s.seqIdx] {
				s.lt = 0
				return s.scriptByte(c, at)
			}
			s.seqIdx++
			return false
		}
		closing := s.lt == 2
		s.lt = 0
		if !(isSpace(c) || c == '/' || c == '>') {
			return s.scriptByte(c, at)
		}
		switch {
		case !closing:
			s.esc = 2
		case s.esc == 2:
			s.esc = 1
		default:
			s.beginEndTag(scriptName)
			return true
		}
	case 3: // "<!"
		if c != '-' {
			s.lt = 0
			return s.scriptByte(c, at)
		}
		s.lt = 4
	case 4: // "<!-"
		s.lt = 0
		if c != '-' {
			return s.scriptByte(c, at)
		}
		s.esc, s.dashes = 1, 2
	}
	return false
}
