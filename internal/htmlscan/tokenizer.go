package htmlscan

import "bytes"

// tokenizer is the streaming subset of the WHATWG HTML tokenizer
// (§13.2.5): it tells tags from text, comments, attribute values and the
// contents of raw text and script elements, and knows nothing of heads or
// snippets. It reports what it reads to a Scanner's hooks (hooks.go); the
// head policy feeds back which state text starts in after a tag
// (readRawText, readScriptData) and how much the data state must say
// (textMatters, announce), as a tree builder feeds back to a tokenizer.
type tokenizer struct {
	state    state
	xml      bool // read as the XML parser reads (see Scanner.SetXML)
	off      int  // stream offset of the next byte
	tagStart int  // stream offset of the '<' of the tag being read, or -1

	// Feedback from the head policy.
	textMatters bool // text other than whitespace is reported (out.text); else skipped
	announce    bool // every markup construct is reported as it starts (out.markup)

	// The tag being read. name doubles as the spec's temporary buffer
	// while a raw text or script end tag is matched.
	endTag  bool
	name    [10]byte // lower-cased; long enough for "plaintext"
	nameLen int      // may exceed len(name): then no name the hooks know
	quote   byte     // the quote of a quoted attribute value
	slash   bool     // the last byte before '>' was '/': self-closing in XML
	attrOn  bool     // the hooks asked for the attribute name being read
	attr    attrName // the attribute name asked for, lower-cased
	attrLen int
	valueOn bool // the hooks asked for the attribute value being read

	keyword  string // what the markup declaration open state is matching
	matched  int    // bytes of keyword or BOM matched; in XML, of "]]>" or "?>"
	rawEnd   string // raw text: the name of the end tag that ends it
	endTagAt int    // stream offset of the '<' that may start a raw text end tag
}

// attrName holds an attribute name the hooks asked for: long enough for
// the longest name any of them looks for.
type attrName [18]byte

// state is a tokenizer state, named as in §13.2.5. Some spec states are
// folded into a neighbour where they cannot change where a tag, comment or
// raw text ends; the comments at the states say which. Its high bits are
// its family.
type state uint8

// family is the function that runs a state: the tag states (tags), the
// markup declarations (markupDeclaration, markup.go), raw text and script
// data (text.go). Each state carries its own, so Scan dispatches on it
// whatever the order of the constants.
type family uint8

const (
	tagFamily family = iota + 1
	markupFamily
	rawTextFamily
	scriptFamily
)

// familyShift leaves room for 32 states per family.
const familyShift = 5

func (s state) family() family { return family(s >> familyShift) }

const (
	dataState state = state(tagFamily)<<familyShift + iota
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
)

const (
	markupDeclarationOpenState state = state(markupFamily)<<familyShift + iota // matching "--" or "DOCTYPE" (the spec's look-ahead)
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
)

const (
	rawTextState state = state(rawTextFamily)<<familyShift + iota // RAWTEXT, and RCDATA: character references change no boundary
	rawTextLessThanSignState
	rawTextEndTagOpenState
	rawTextEndTagNameState
)

const (
	scriptDataState state = state(scriptFamily)<<familyShift + iota
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

// markupKind names a construct that out.markup hears of as it starts.
type markupKind uint8

const (
	endTagOpen            markupKind = iota // "</", whatever follows
	bogusComment                            // "<?", "<!x", "</ x"
	comment                                 // "<!--"
	doctype                                 // "<!DOCTYPE"
	cdataSection                            // XML: "<![CDATA["
	processingInstruction                   // XML: "<?"
)

// reset prepares t for a new page: it starts at the stream's first byte,
// where a BOM may be.
func (t *tokenizer) reset() {
	t.state, t.tagStart = byteOrderMarkState, -1
}

// readRawText makes the text after the tag just read RAWTEXT or RCDATA,
// ended by the end tag called end.
func (t *tokenizer) readRawText(end string) {
	t.state, t.rawEnd = rawTextState, end
}

// readScriptData makes the text after the tag just read script data.
func (t *tokenizer) readScriptData() {
	t.state = scriptDataState
}

// tagName returns the lower-cased name of the tag just read; long is true
// when it is too long for the buffer, and then no name the hooks know.
func (t *tokenizer) tagName() (name []byte, long bool) {
	return t.name[:min(t.nameLen, len(t.name))], t.nameLen > len(t.name)
}

// begin reports the start of a markup construct when announce asks for it.
func (t *tokenizer) begin(k markupKind, out *Scanner) Result {
	if !t.announce {
		return More
	}
	return out.markup(t, k)
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

// tags runs the data state and the tag states on p[i:] until p ends, out
// decides, or a markup declaration, raw text or script data takes over;
// a bogus comment that a tag open state starts ("<?", "</ ") it reads
// too, back to the data state without a return. These states are labels
// of one function rather than cases of a switch: "goto" is the spec's
// "switch to" after i++ consumed the byte, and its "reconsume in"
// without; the state is stored only when the function returns.
func (t *tokenizer) tags(p []byte, i, base int, out *Scanner) (int, Result) {
	switch t.state {
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
	if t.textMatters {
		// Compared unsigned, i needs no bounds check.
		for uint(i) < uint(len(p)) && isSpace(p[i]) {
			i++
		}
	} else if j := indexByte(p[i:], '<'); j >= 0 {
		i += j
	} else {
		i = len(p)
	}
	if i == len(p) {
		return t.suspend(dataState, i)
	}
	if p[i] != '<' {
		if r := out.text(base+i, p[i]); r != More {
			return i, r
		}
		i++
		goto data
	}
	t.tagStart = base + i
	i++

tagOpen:
	if i == len(p) {
		return t.suspend(tagOpenState, i)
	}
	switch c := p[i]; {
	case isAlpha(c):
		t.endTag, t.nameLen = false, 0
		goto tagName
	case c == '/':
		if r := t.begin(endTagOpen, out); r != More {
			return i, r
		}
		i++
		goto endTagOpen
	case c == '!':
		t.state, t.keyword, t.matched = markupDeclarationOpenState, "", 0
	case c == '?' && t.xml:
		t.state, t.matched = processingInstructionState, 0
		if r := t.begin(processingInstruction, out); r != More {
			return i, r
		}
	case c == '?':
		if r := t.begin(bogusComment, out); r != More {
			return i, r
		}
		goto bogusComment
	default:
		// Not a tag: '<' was text.
		if t.textMatters {
			if r := out.text(t.tagStart, '<'); r != More {
				return i, r
			}
		}
		if c == '<' {
			t.tagStart = base + i // the data state would open a tag here
			i++
			goto tagOpen
		}
		t.tagStart = -1
		goto data
	}
	t.tagStart = -1
	return i + 1, More

endTagOpen:
	if i == len(p) {
		return t.suspend(endTagOpenState, i)
	}
	switch c := p[i]; {
	case isAlpha(c):
		t.endTag, t.nameLen = true, 0
		goto tagName
	case c == '>':
		t.tagStart = -1
		i++
		goto data
	}
	if r := t.begin(bogusComment, out); r != More {
		return i, r
	}

bogusComment:
	// Reconsumed in the bogus comment state, read here as far as p goes;
	// markupDeclaration reads the rest of one that p cuts.
	t.tagStart = -1
	if j := indexByte(p[i:], '>'); j >= 0 {
		i += j + 1
		goto data
	}
	return t.suspend(bogusCommentState, len(p))

tagName:
	{
		// Compared unsigned, i and n need no bounds checks; every byte
		// that ends a name is at most '>', so letters skip the table.
		n := t.nameLen
		for ; uint(i) < uint(len(p)); i++ {
			c := p[i]
			if c <= '>' && nameStop[c] {
				break
			}
			if uint(n) < uint(len(t.name)) {
				t.name[n] = foldCase(c)
			}
			n++
		}
		t.nameLen = n
	}
	if i == len(p) {
		return t.suspend(tagNameState, i)
	}
	if t.announce {
		if r := out.firstTagName(t); r != More {
			return i, r
		}
	}
	out.tagName(t)
	if t.slash = p[i] == '/'; p[i] == '>' {
		goto emit
	}
	i++

beforeAttributeName:
	// '/' moves to the self-closing start tag state, which goes back here
	// for anything but '>': skipping it is the same.
	for ; i < len(p) && (isSpace(p[i]) || p[i] == '/'); i++ {
		t.slash = p[i] == '/'
	}
	if i == len(p) {
		return t.suspend(beforeAttributeNameState, i)
	}
	if p[i] == '>' {
		goto emit
	}
	t.beginAttr(p[i], out)
	if p[i] == '=' {
		// An '=' here starts the attribute's name.
		if t.attrOn {
			t.addAttr('=')
		}
		i++
	}

attributeName:
	if t.attrOn {
		for ; i < len(p) && !attrStop[p[i]]; i++ {
			t.addAttr(p[i])
		}
	} else {
		for i < len(p) && !attrStop[p[i]] {
			i++
		}
	}
	if i == len(p) {
		return t.suspend(attributeNameState, i)
	}
	t.valueOn = t.attrOn && t.attrLen <= len(t.attr) && out.attrName(t.attr[:t.attrLen])
	if p[i] == '=' {
		i++
		goto beforeAttributeValue
	}
	// Whitespace, '/' and '>' are reconsumed in the after attribute name
	// state.

afterAttributeName:
	for i < len(p) && isSpace(p[i]) {
		i++
	}
	if i == len(p) {
		return t.suspend(afterAttributeNameState, i)
	}
	switch p[i] {
	case '>':
		goto emit
	case '=':
		i++
		goto beforeAttributeValue
	case '/':
		t.slash = true
		i++
		goto beforeAttributeName
	}
	t.beginAttr(p[i], out)
	goto attributeName

beforeAttributeValue:
	for i < len(p) && isSpace(p[i]) {
		i++
	}
	if i == len(p) {
		return t.suspend(beforeAttributeValueState, i)
	}
	switch p[i] {
	case '"', '\'':
		t.quote = p[i]
		t.beginValue(out)
		i++
		goto attributeValueQuoted
	case '>':
		t.valueOn = false
		goto emit
	}
	t.beginValue(out)
	goto attributeValueUnquoted

attributeValueQuoted:
	for ; i < len(p) && t.valueOn && p[i] != t.quote; i++ {
		t.valueOn = out.valueByte(p[i])
	}
	if j := bytes.IndexByte(p[i:], t.quote); j >= 0 {
		i += j
	} else {
		return t.suspend(attributeValueQuotedState, len(p))
	}
	t.endValue(out)
	i++

afterAttributeValueQuoted:
	if i == len(p) {
		return t.suspend(afterAttributeValueQuotedState, i)
	}
	if p[i] == '>' {
		goto emit
	}
	// Whitespace and '/' are read there; anything else is an attribute
	// missing the whitespace before it, reconsumed there.
	goto beforeAttributeName

attributeValueUnquoted:
	for ; i < len(p) && t.valueOn && !unquotedStop[p[i]]; i++ {
		t.valueOn = out.valueByte(p[i])
	}
	for i < len(p) && !unquotedStop[p[i]] {
		i++
	}
	if i == len(p) {
		return t.suspend(attributeValueUnquotedState, i)
	}
	t.endValue(out)
	if p[i] == '>' {
		goto emit
	}
	i++
	goto beforeAttributeName

byteOrderMark:
	// §13.2.3.1: a UTF-8 BOM at the start of the stream is stripped
	// before tokenizing; the bytes of a broken one are text.
	for ; t.matched < len(bom); t.matched++ {
		if i == len(p) {
			return t.suspend(byteOrderMarkState, i)
		}
		if p[i] != bom[t.matched] {
			if t.matched == 0 {
				goto data
			}
			if r := out.text(0, bom[0]); r != More {
				return i, r
			}
			goto data
		}
		i++
	}
	goto data

emit:
	// p[i] is the tag's '>'.
	i++
	{
		start := t.tagStart
		t.tagStart, t.state = -1, dataState
		if out.ignoresTag(t) {
			goto data
		}
		if r := out.tag(t, start, base+i); r != More {
			return i, r
		}
	}
	if t.state == dataState {
		goto data
	}
	return i, More
}

const bom = "\xef\xbb\xbf"

// suspend stops reading at the end of a piece in state st; the next piece
// goes on there.
func (t *tokenizer) suspend(st state, i int) (int, Result) {
	t.state = st
	return i, More
}

// beginAttr starts an attribute name at c, recorded when the hooks ask.
func (t *tokenizer) beginAttr(c byte, out *Scanner) {
	t.attrLen, t.slash = 0, false
	t.attrOn = out.attrStart(c)
}

func (t *tokenizer) addAttr(c byte) {
	if t.attrLen < len(t.attr) {
		t.attr[t.attrLen] = lower(c)
	}
	t.attrLen++
}

func (t *tokenizer) beginValue(out *Scanner) {
	if t.valueOn {
		out.valueStart()
	}
}

func (t *tokenizer) endValue(out *Scanner) {
	if t.valueOn {
		out.valueEnd()
	}
	t.valueOn = false
}

// appendName adds c to the tag name or temporary buffer.
func (t *tokenizer) appendName(c byte) {
	if t.nameLen < len(t.name) {
		t.name[t.nameLen] = foldCase(c)
	}
	t.nameLen++
}

func (t *tokenizer) nameIs(n string) bool {
	return t.nameLen == len(n) && string(t.name[:t.nameLen]) == n
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
