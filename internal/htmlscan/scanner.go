// Package htmlscan finds where the Product Fruits snippet goes in an HTML
// page that arrives in pieces: where a WHATWG tree builder would still be
// in the page's head, right before the first token that makes it leave:
// </head>, or any token the head does not take (a start tag such as
// <body>, <div>, <input> or <svg>, non-whitespace text, </body>), so that
// pages whose head is only closed implicitly get the snippet in it too.
//
// The Scanner is a streaming subset of the WHATWG HTML tokenizer (HTML
// Living Standard, §13.2.5 "Tokenization"), just enough to tell real tags
// from text, comments, attribute values and the contents of raw text and
// script elements. Its states carry the names of the tokenizer states they
// mirror. It keeps its whole state between calls, so a page may arrive
// split anywhere, and it never looks back at earlier bytes, so the caller
// need not keep them. It gives up on pages that are not whole documents,
// that already carry the snippet, or whose rest is not markup.
package htmlscan

import (
	"bytes"
)

// MarkerAttr is the attribute every script element of the snippet carries:
// a page with a script element that has it already holds the snippet.
const MarkerAttr = "data-productfruits"

// loaderGlobal is the global the product's loader code uses: a page whose
// own script mentions it runs the loader already.
const loaderGlobal = "$productFruits"

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

// state is a tokenizer state, named as in §13.2.5. Some spec states are
// folded into a neighbour where they cannot change where a tag, comment or
// raw text ends; the comments at the states say which.
type state uint8

const (
	dataState state = iota
	tagOpenState
	endTagOpenState
	tagNameState
	beforeAttributeNameState // also the self-closing start tag state
	attributeNameState
	afterAttributeNameState
	beforeAttributeValueState
	attributeValueQuotedState // double- and single-quoted: quote says which
	attributeValueUnquotedState
	afterAttributeValueQuotedState
	byteOrderMarkState // §13.2.3.1: a UTF-8 BOM is stripped before tokenizing

	// The cold states, each family in its own function (markup.go, text.go).
	markupDeclarationOpenState // matching "--" or "DOCTYPE" (the spec's look-ahead)
	commentStartState
	commentStartDashState
	commentState // also the comment less-than sign states
	commentEndDashState
	commentEndState
	commentEndBangState
	bogusCommentState
	doctypeState // every DOCTYPE state: the first '>' ends it

	// XML only, for application/xhtml+xml pages (see SetXML).
	cdataSectionState
	processingInstructionState

	rawTextState // RAWTEXT, and RCDATA: character references change no boundary
	rawTextLessThanSignState
	rawTextEndTagOpenState
	rawTextEndTagNameState

	scriptDataState
	scriptDataLessThanSignState
	scriptDataEndTagOpenState
	scriptDataEndTagNameState
	scriptDataEscapeStartState
	scriptDataEscapeStartDashState
	scriptDataEscapedState
	scriptDataEscapedDashState
	scriptDataEscapedDashDashState
	scriptDataEscapedLessThanSignState
	scriptDataEscapedEndTagOpenState
	scriptDataEscapedEndTagNameState
	scriptDataDoubleEscapeStartState
	scriptDataDoubleEscapedState
	scriptDataDoubleEscapedDashState
	scriptDataDoubleEscapedDashDashState
	scriptDataDoubleEscapedLessThanSignState
	scriptDataDoubleEscapeEndState
)

// Scanner finds the insertion point of one page. The zero value is not
// ready: call Reset first. A Scanner is reused by calling Reset again.
type Scanner struct {
	state    state
	prolog   bool // before the first tag: only whitespace, comments, a BOM, a doctype
	xml      bool // an XHTML page, read as the XML parser reads it
	headOpen bool // the parser is in the head (not before it, where it drops whitespace)
	off      int  // stream offset of the next byte
	tagStart int  // stream offset of the '<' of the tag being read, or -1
	insertAt int

	// The tag being read. name doubles as the spec's temporary buffer
	// while a raw text or script end tag is matched.
	endTag  bool
	name    [10]byte // lower-cased; long enough for "plaintext"
	nameLen int      // may exceed len(name): then no name we know
	quote   byte     // the quote of a quoted attribute value
	slash   bool     // the last byte before '>' was '/': self-closing in XML

	// A <script> start tag outside <template> is checked for being the
	// snippet itself: the marker attribute or the loader's src.
	script   bool
	marked   bool
	watch    watched               // whose attribute names matter: a script, a <base> or a <meta> in the head
	baseHref bool                  // the <base> being read has an href: URLs after it resolve against it
	equiv    bool                  // the <meta> being read has an http-equiv
	attrOn   bool                  // the attribute name being read is recorded in attr
	attr     [len(MarkerAttr)]byte // attribute name, lower-cased
	attrLen  int
	srcValue bool      // reading a src value that may still be the loader's
	srcIdx   [2]int    // match progress per urls entry; -1 once different
	urls     [2]string // the loader URL, raw and as written in an attribute

	keyword  string // what the markup declaration open state is matching
	matched  int    // bytes of keyword or BOM matched; in XML, of "]]>" or "?>"
	rawEnd   string // raw text: the name of the end tag that ends it
	endTagAt int    // stream offset of the '<' that may start a raw text end tag
	live     bool   // the script runs (not in a <template>): it may be the loader
	loader   int    // bytes of loaderGlobal matched at the end of the last piece
	depth    int    // <template> nesting: its contents are inert

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

// watched says which start tag's attribute names the scanner reads.
type watched uint8

const (
	watchNone   watched = iota
	watchScript         // the marker, src
	watchBase           // href
	watchMeta           // http-equiv
)

// Reset prepares s for a new page. scriptURL is the product's loader URL
// and scriptAttr the same URL escaped for an attribute: a script element
// whose src is either is the loader, so the page carries the snippet.
func (s *Scanner) Reset(scriptURL, scriptAttr string) {
	// Zeroed in place, then set: a struct literal would be built on the
	// caller's stack first.
	*s = Scanner{}
	s.prolog, s.tagStart = true, -1
	s.urls[0], s.urls[1] = scriptURL, scriptAttr
}

// SetXML makes s read the page as an XML parser does, for pages served as
// application/xhtml+xml: no raw text elements, CDATA sections and
// processing instructions, self-closing tags, and a head that ends only
// at </head> (XML closes nothing implicitly). Call it after Reset,
// before the first Scan.
func (s *Scanner) SetXML() { s.xml = true }

// InsertAt returns the stream offset of the insertion point once Scan has
// returned Insert.
func (s *Scanner) InsertAt() int { return s.insertAt }

// LastSafe returns the stream offset of the last point the scanner knows
// to lie inside the head, where the snippet may go when the insertion
// point is not found within the caller's look-ahead (right after <head>,
// or right before a later element the head keeps); 0 when there is none.
func (s *Scanner) LastSafe() int { return s.lastSafe }

// UseLastSafe makes LastSafe the insertion point, for a page whose head
// runs past the caller's look-ahead, and reports whether there is one.
func (s *Scanner) UseLastSafe() bool {
	if s.lastSafe == 0 {
		return false
	}
	s.insertAt = s.lastSafe
	return true
}

// Metas returns the stream offsets of the '<' of the <meta http-equiv>
// tags of the head scanned so far (at most four; more are not recorded).
// Before an Insert they all precede the insertion point.
func (s *Scanner) Metas() []int { return s.metas[:s.nMetas] }

// Offset returns how many bytes Scan has consumed.
func (s *Scanner) Offset() int { return s.off }

// Flushable returns the stream offset up to which the page may be sent
// before a decision: everything scanned except an unfinished tag, which
// may still turn out to be the insertion point.
func (s *Scanner) Flushable() int {
	if s.tagStart >= 0 {
		return s.tagStart
	}
	return s.off
}

// Bytes that end a tag name, an attribute name and an unquoted attribute
// value; tables keep the hot loops short.
var nameStop, attrStop, unquotedStop [256]bool

func init() {
	for _, c := range []byte(" \t\n\f\r") {
		nameStop[c], attrStop[c], unquotedStop[c] = true, true, true
	}
	nameStop['/'], nameStop['>'] = true, true
	attrStop['/'], attrStop['='], attrStop['>'] = true, true, true
	unquotedStop['>'] = true
}

// Scan consumes p, the next bytes of the page, and reports the decision.
// After Insert or GiveUp the Scanner must be Reset before further use.
func (s *Scanner) Scan(p []byte) Result {
	base := s.off
	s.off += len(p)
	r := More
	for i := 0; i < len(p) && r == More; {
		switch {
		case s.state <= byteOrderMarkState:
			i, r = s.tags(p, i, base)
		case s.state < rawTextState:
			i, r = s.markupDeclaration(p, i)
		case s.state < scriptDataState:
			i = s.rawText(p, i, base)
		default:
			i, r = s.scriptData(p, i, base)
		}
	}
	return r
}

// tags runs the data state and the tag states on p[i:] until p ends, a
// decision is made, or a comment, raw text or script data takes over.
// Most of a head is tags, so these states are labels of one function
// rather than cases of a switch: "goto" is the spec's "switch to" after
// i++ consumed the byte, and its "reconsume in" without; the state is
// stored only when the function returns.
func (s *Scanner) tags(p []byte, i, base int) (int, Result) {
	switch s.state {
	case tagOpenState:
		goto tagOpen
	case endTagOpenState:
		goto endTagOpen
	case tagNameState:
		goto tagName
	case beforeAttributeNameState:
		goto beforeAttributeName
	case attributeNameState:
		goto attributeName
	case afterAttributeNameState:
		goto afterAttributeName
	case beforeAttributeValueState:
		goto beforeAttributeValue
	case attributeValueQuotedState:
		goto attributeValueQuoted
	case attributeValueUnquotedState:
		goto attributeValueUnquoted
	case afterAttributeValueQuotedState:
		goto afterAttributeValueQuoted
	case byteOrderMarkState:
		goto byteOrderMark
	}

data:
	switch {
	case s.prolog:
		// Before the first tag a document may have only whitespace and
		// a leading BOM.
		for i < len(p) && isSpace(p[i]) {
			i++
		}
		if i < len(p) && p[i] == bom[0] && base+i == 0 {
			s.matched = 1
			i++
			goto byteOrderMark
		}
	case s.depth == 0 && !s.xml:
		// In the head only whitespace is text; any other character
		// makes the parser leave it (§13.2.6.4.4).
		for i < len(p) && isSpace(p[i]) {
			i++
		}
	default:
		// Template contents, and text in XML, are skipped.
		if j := indexByte(p[i:], '<'); j >= 0 {
			i += j
		} else {
			i = len(p)
		}
	}
	if i == len(p) {
		s.state = dataState
		return i, More
	}
	if p[i] != '<' {
		switch {
		case s.prolog:
			return i, GiveUp
		case p[i] == '&' && !s.headOpen:
			// A character reference may stand for whitespace, which
			// the parser drops before the head opens but keeps in it:
			// the snippet would change the tree.
			return i, GiveUp
		}
		s.insertAt = base + i
		return i, Insert
	}
	s.tagStart = base + i
	i++

tagOpen:
	if i == len(p) {
		s.state = tagOpenState
		return i, More
	}
	switch c := p[i]; {
	case isAlpha(c):
		s.endTag, s.nameLen = false, 0
		goto tagName
	case c == '/':
		if s.prolog {
			return i, GiveUp
		}
		i++
		goto endTagOpen
	case c == '!':
		s.state, s.keyword, s.matched = markupDeclarationOpenState, "", 0
	case c == '?' && s.xml:
		s.state, s.matched = processingInstructionState, 0
	case s.prolog:
		return i, GiveUp
	case c == '?':
		s.state = bogusCommentState
	default:
		// Not a tag: '<' was text, which ends the head.
		if s.depth == 0 && !s.xml {
			s.insertAt = s.tagStart
			return i, Insert
		}
		if c == '<' {
			s.tagStart = base + i // the data state would open a tag here
			i++
			goto tagOpen
		}
		s.tagStart = -1
		goto data
	}
	s.tagStart = -1
	return i + 1, More

endTagOpen:
	if i == len(p) {
		s.state = endTagOpenState
		return i, More
	}
	switch c := p[i]; {
	case isAlpha(c):
		s.endTag, s.nameLen = true, 0
		goto tagName
	case c == '>':
		s.tagStart = -1
		i++
		goto data
	}
	s.state, s.tagStart = bogusCommentState, -1
	return i, More

tagName:
	{
		n := s.nameLen
		for ; i < len(p) && !nameStop[p[i]]; i++ {
			if n < len(s.name) {
				s.name[n] = foldCase(p[i])
			}
			n++
		}
		s.nameLen = n
	}
	if i == len(p) {
		s.state = tagNameState
		return i, More
	}
	if s.prolog && !s.documentStart() {
		return i, GiveUp
	}
	s.watch = watchNone
	if !s.endTag && s.depth == 0 {
		s.watch = watchedTag(s.name[:min(s.nameLen, len(s.name))])
		s.marked, s.baseHref, s.equiv = false, false, false
	}
	s.script = s.watch == watchScript
	if s.slash = p[i] == '/'; p[i] == '>' {
		goto emit
	}
	i++

beforeAttributeName:
	// '/' moves to the self-closing start tag state, which goes back here
	// for anything but '>': skipping it is the same.
	for ; i < len(p) && (isSpace(p[i]) || p[i] == '/'); i++ {
		s.slash = p[i] == '/'
	}
	if i == len(p) {
		s.state = beforeAttributeNameState
		return i, More
	}
	if p[i] == '>' {
		goto emit
	}
	s.attrLen, s.slash = 0, false
	s.attrOn = s.watchAttr(p[i])
	if p[i] == '=' {
		// An '=' here starts the attribute's name.
		if s.attrOn {
			s.addAttr('=')
		}
		i++
	}

attributeName:
	// Only the watched tags' attribute names matter.
	if s.attrOn {
		for ; i < len(p) && !attrStop[p[i]]; i++ {
			s.addAttr(p[i])
		}
	} else {
		for i < len(p) && !attrStop[p[i]] {
			i++
		}
	}
	if i == len(p) {
		s.state = attributeNameState
		return i, More
	}
	s.endAttrName()
	switch p[i] {
	case '>':
		goto emit
	case '=':
		i++
		goto beforeAttributeValue
	case '/':
		s.slash = true
		i++
		goto beforeAttributeName
	}
	i++

afterAttributeName:
	for i < len(p) && isSpace(p[i]) {
		i++
	}
	if i == len(p) {
		s.state = afterAttributeNameState
		return i, More
	}
	switch p[i] {
	case '>':
		goto emit
	case '=':
		i++
		goto beforeAttributeValue
	case '/':
		s.slash = true
		i++
		goto beforeAttributeName
	}
	s.attrLen, s.slash = 0, false
	s.attrOn = s.watchAttr(p[i])
	goto attributeName

beforeAttributeValue:
	for i < len(p) && isSpace(p[i]) {
		i++
	}
	if i == len(p) {
		s.state = beforeAttributeValueState
		return i, More
	}
	switch p[i] {
	case '"', '\'':
		s.quote = p[i]
		s.beginValue()
		i++
		goto attributeValueQuoted
	case '>':
		s.srcValue = false
		goto emit
	}
	s.beginValue()
	goto attributeValueUnquoted

attributeValueQuoted:
	for ; i < len(p) && s.srcValue && p[i] != s.quote; i++ {
		s.matchSrc(p[i])
	}
	if j := bytes.IndexByte(p[i:], s.quote); j >= 0 {
		i += j
	} else {
		s.state = attributeValueQuotedState
		return len(p), More
	}
	s.endValue()
	i++

afterAttributeValueQuoted:
	if i == len(p) {
		s.state = afterAttributeValueQuotedState
		return i, More
	}
	if p[i] == '>' {
		goto emit
	}
	// Whitespace and '/' are read there; anything else is an attribute
	// missing the whitespace before it, reconsumed there.
	goto beforeAttributeName

attributeValueUnquoted:
	for ; i < len(p) && s.srcValue && !unquotedStop[p[i]]; i++ {
		s.matchSrc(p[i])
	}
	for i < len(p) && !unquotedStop[p[i]] {
		i++
	}
	if i == len(p) {
		s.state = attributeValueUnquotedState
		return i, More
	}
	s.endValue()
	if p[i] == '>' {
		goto emit
	}
	i++
	goto beforeAttributeName

byteOrderMark:
	// §13.2.3.1: a UTF-8 BOM is stripped before tokenizing.
	for ; s.matched < len(bom); s.matched++ {
		if i == len(p) {
			s.state = byteOrderMarkState
			return i, More
		}
		if p[i] != bom[s.matched] {
			return i, GiveUp
		}
		i++
	}
	goto data

emit:
	// p[i] is the tag's '>'.
	i++
	if r := s.emitTag(base + i); r != More {
		return i, r
	}
	if s.state == dataState {
		goto data
	}
	return i, More
}

const bom = "\xef\xbb\xbf"

// documentStart reports whether the first tag of the page is <html> or
// <head> (or comes after a doctype): a whole document rather than a
// fragment.
func (s *Scanner) documentStart() bool {
	if s.endTag || !(s.nameIs("html") || s.nameIs("head")) {
		return false
	}
	s.prolog = false
	return true
}

// emitTag acts on the tag just completed by its '>' as the tree builder
// would in the "in head" insertion mode (§13.2.6.4.4; before it, the
// "before html" and "before head" modes lead there for the same tokens):
// the first token that makes it leave the head is the insertion point;
// template contents are skipped as a whole; and the elements whose
// content the tokenizer reads in another state switch it there.
// end is the stream offset right after the tag's '>'.
func (s *Scanner) emitTag(end int) Result {
	start := s.tagStart
	s.tagStart = -1
	s.state = dataState
	long := s.nameLen > len(s.name) // no name that matters here is that long
	name := s.name[:min(s.nameLen, len(s.name))]
	if s.xml {
		return s.emitXMLTag(name, long, start)
	}
	if s.endTag {
		switch {
		case long:
		case s.depth == 0 && headEnd(name):
			s.insertAt = start
			return Insert
		case string(name) == "template" && s.depth > 0:
			s.depth--
		}
		return More // the head ignores every other end tag
	}
	if s.depth > 0 {
		return s.emitTemplateTag(name, long)
	}
	if long {
		s.insertAt = start
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
		if s.baseHref {
			// Every relative URL after it resolves against its href,
			// the runtime's among them: the snippet goes before it.
			s.insertAt = start
			return Insert
		}
	case "meta":
		s.noteMeta(start)
	case "basefont", "bgsound", "link":
	case "title": // RCDATA
		s.state, s.rawEnd = rawTextState, "title"
	case "style", "noscript", "noframes": // RAWTEXT, scripting enabled
		s.state, s.rawEnd = rawTextState, rawTextEnd(name)
	case "script":
		if s.marked {
			return GiveUp // the page already carries the snippet
		}
		s.state, s.live, s.loader = scriptDataState, true, 0
	case "template":
		s.depth++
	default:
		s.insertAt = start
		return Insert
	}
	if s.headOpen || safe == end {
		s.lastSafe = safe
	}
	s.headOpen = true // <head>, or an element that opens it implicitly
	return More
}

// noteMeta records a <meta http-equiv> of the head, for the caller to read
// (Metas).
func (s *Scanner) noteMeta(start int) {
	if s.equiv && s.nMetas < len(s.metas) {
		s.metas[s.nMetas] = start
		s.nMetas++
	}
}

// emitXMLTag acts on a tag of an XHTML page: the XML parser closes
// nothing implicitly and reads no element as raw text, so only </head>
// ends the head, and template contents are skipped as a whole.
func (s *Scanner) emitXMLTag(name []byte, long bool, start int) Result {
	switch {
	case long:
	case s.endTag && string(name) == "head" && s.depth == 0:
		s.insertAt = start
		return Insert
	case s.endTag && string(name) == "template" && s.depth > 0:
		s.depth--
	case !s.endTag && string(name) == "template" && !s.slash:
		s.depth++
	case s.script && s.marked:
		return GiveUp // the page already carries the snippet
	case s.endTag || s.depth > 0:
	case string(name) == "head":
		s.headOpen = true
	case s.headOpen && string(name) == "base" && s.baseHref:
		s.insertAt = start // as in HTML: relative URLs after it resolve against it
		return Insert
	case string(name) == "meta":
		s.noteMeta(start)
	}
	return More
}

// emitTemplateTag acts on a start tag inside <template>, whose contents
// the parser keeps apart: only where the template ends matters, so the
// raw text and script elements must be read as the tokenizer reads them.
// Foreign content (svg, math) would need CDATA sections and tag rules of
// its own: the page is left alone rather than guessed at.
func (s *Scanner) emitTemplateTag(name []byte, long bool) Result {
	if long || len(name) < len("svg") {
		return More // p, a, li, td...: none of the names below is this short
	}
	switch string(name) {
	case "template":
		s.depth++
	case "script":
		s.state, s.live, s.loader = scriptDataState, false, 0
	case "plaintext", "svg", "math":
		return GiveUp
	default:
		if end := rawTextEnd(name); end != "" {
			s.state, s.rawEnd = rawTextState, end
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

func (s *Scanner) nameIs(n string) bool {
	return s.nameLen == len(n) && string(s.name[:s.nameLen]) == n
}

// appendName adds c to the tag name or temporary buffer.
func (s *Scanner) appendName(c byte) {
	if s.nameLen < len(s.name) {
		s.name[s.nameLen] = foldCase(c)
	}
	s.nameLen++
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

// watchedTag says whether a start tag of the head (its lower-cased name)
// is one whose attribute names the scanner reads.
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

// watchAttr reports whether the attribute name starting with c may be one
// the tag being read is watched for: every name of a script (the marker,
// src); only names starting with 'h' of <base> and <meta> (href,
// http-equiv), so their other attributes cost nothing.
func (s *Scanner) watchAttr(c byte) bool {
	return s.watch == watchScript || s.watch != watchNone && c|0x20 == 'h'
}

// endAttrName notes the attributes that matter: those that make a script
// tag the snippet, a <base>'s href and a <meta>'s http-equiv.
func (s *Scanner) endAttrName() {
	s.srcValue = false
	if !s.attrOn {
		return
	}
	switch s.watch {
	case watchScript:
		if s.attrIs(MarkerAttr) {
			s.marked = true
		}
		s.srcValue = s.attrIs("src")
	case watchBase:
		s.baseHref = s.baseHref || s.attrIs("href")
	case watchMeta:
		s.equiv = s.equiv || s.attrIs("http-equiv")
	}
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

// indexByte is bytes.IndexByte for content where c may come thick as
// well as rare. Inlined, it tells a c right at the start without a call;
// indexByteNear reads the next bytes itself, so that a page full of c
// costs a short loop per c rather than a call of bytes.IndexByte, and a
// page without it still costs one such call.
func indexByte(b []byte, c byte) int {
	if len(b) > 0 && b[0] == c {
		return 0
	}
	return indexByteNear(b, c)
}

func indexByteNear(b []byte, c byte) int {
	const near = 8
	for k := 0; k < len(b) && k < near; k++ {
		if b[k] == c {
			return k
		}
	}
	if len(b) <= near {
		return -1
	}
	if j := bytes.IndexByte(b[near:], c); j >= 0 {
		return near + j
	}
	return -1
}

func isSpace(c byte) bool {
	return c <= ' ' && 1<<c&(1<<' '|1<<'\t'|1<<'\n'|1<<'\f'|1<<'\r') != 0
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// endsTagName reports the bytes after which an end tag's name is complete.
func endsTagName(c byte) bool { return isSpace(c) || c == '/' || c == '>' }

// foldCase lower-cases the letters of a tag name without a branch. It
// changes other bytes too, but never into a letter: names compared only
// with names of letters match exactly when their lower case does.
func foldCase(c byte) byte { return c | 0x20 }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
