package htmlscan

import (
	"bytes"
	"encoding/binary"
)

// rawText reads the text of a RAWTEXT or RCDATA element (style, title,
// textarea, ...) from p[i:] until its end tag's name is complete or p
// ends. On the end tag it leaves the tag name state to finish the tag, as
// for any other tag, and returns the index of the byte after the name.
func (t *tokenizer) rawText(p []byte, i, base int) int {
	for i < len(p) {
		c := p[i]
		switch t.state {
		case rawTextState:
			j, n := t.textUntilEndTag(p, i)
			if n > 0 {
				t.beginEndTag(t.rawEnd)
				return j + n
			}
			if j == len(p) {
				return j
			}
			i = j
			t.state = rawTextLessThanSignState

		case rawTextLessThanSignState:
			if c != '/' {
				t.state = rawTextState
				continue
			}
			t.state = rawTextEndTagOpenState

		case rawTextEndTagOpenState:
			if !isAlpha(c) {
				t.state = rawTextState
				continue
			}
			t.nameLen = 0
			t.state = rawTextEndTagNameState
			continue

		case rawTextEndTagNameState:
			if isAlpha(c) {
				t.appendName(c)
				break
			}
			if endsTagName(c) && t.nameIs(t.rawEnd) {
				t.beginEndTag(t.rawEnd)
				return i
			}
			t.state = rawTextState
			continue

		default:
			return i
		}
		i++
	}
	return i
}

// textUntilEndTag reads raw text (in the raw text state) or script data
// (in the script data state) from p[i:], the whole piece Scan was given,
// where a '<' is text unless it starts the element's end tag (or, in
// script data, "<!--"): it returns the index of the first '<' that does, and the
// length of "</"+name when it is the end tag; the index of one that p ends
// too soon to tell, and 0; or len(p).
func (t *tokenizer) textUntilEndTag(p []byte, i int) (int, int) {
	// Only p and i are carried round the loop: the rest is read from t
	// when a '<' needs it, so that few values are reloaded after each
	// call of indexByteNear.
	for {
		// indexByte, by index: a '<' right at i costs no slicing.
		if i == len(p) {
			return i, 0
		}
		if p[i] != '<' {
			j := indexByteNear(p[i:], '<')
			if j < 0 {
				return len(p), 0
			}
			i += j
		}
		if i+1 < len(p) && p[i+1] != '/' {
			if p[i+1] == '!' && t.state == scriptDataState && (len(p)-i < len("<!--") || string(p[i:i+4]) == "<!--") {
				return i, 0
			}
			i++
			continue
		}
		name := t.rawEnd
		if t.state == scriptDataState {
			name = "script"
		}
		switch n := endTagAt(p[i:], name); {
		case n > 0:
			t.endTagAt = t.off - len(p) + i
			return i, n
		case n < 0:
			t.endTagAt = t.off - len(p) + i
			return i, 0
		}
		i++
	}
}

// endTagAt returns, for b starting with "</" (or shorter than that), the
// length of "</"+name when a byte that ends a tag name follows it, -1
// when b is too short to tell (no longer than "</"+name), and 0 when it
// is another end tag or no tag at all.
func endTagAt(b []byte, name string) int {
	switch {
	case len(b) <= len("</")+len(name):
		return -1
	case nameAt(b[2:], name):
		return len("</") + len(name)
	}
	return 0
}

// scriptData reads the text of a script element from p[i:], through the
// script data escaped and double escaped states that old pages rely on
// ("<!-- <script> ... </script> -->" does not end the element), until its
// end tag's name is complete or p ends. out hears of the text it read.
func (t *tokenizer) scriptData(p []byte, i, base int, out *Scanner) (int, Result) {
	start := i
	i = t.scriptStates(p, i, base)
	return i, out.scriptText(p[start:i])
}

func (t *tokenizer) scriptStates(p []byte, i, base int) int {
	for i < len(p) {
		c := p[i]
		switch t.state {
		case scriptDataState:
			j, n := t.textUntilEndTag(p, i)
			if n > 0 {
				t.beginEndTag("script")
				return j + n
			}
			if j == len(p) {
				return j
			}
			i = j
			t.state = scriptDataLessThanSignState

		case scriptDataLessThanSignState:
			switch c {
			case '/':
				t.state = scriptDataEndTagOpenState
			case '!':
				t.state = scriptDataEscapeStartState
			default:
				t.state = scriptDataState
				continue
			}

		case scriptDataEndTagOpenState:
			if !isAlpha(c) {
				t.state = scriptDataState
				continue
			}
			t.nameLen = 0
			t.state = scriptDataEndTagNameState
			continue

		case scriptDataEndTagNameState:
			if isAlpha(c) {
				t.appendName(c)
				break
			}
			if endsTagName(c) && t.nameIs("script") {
				t.beginEndTag("script")
				return i
			}
			t.state = scriptDataState
			continue

		case scriptDataEscapeStartState:
			if c != '-' {
				t.state = scriptDataState
				continue
			}
			t.state = scriptDataEscapeStartDashState

		case scriptDataEscapeStartDashState:
			if c != '-' {
				t.state = scriptDataState
				continue
			}
			t.state = scriptDataEscapedDashDashState

		case scriptDataEscapedState:
			// A '<' followed by neither '/' nor a letter is text.
			for ; i < len(p); i++ {
				if c := p[i]; c == '-' || c == '<' && (i+1 == len(p) || p[i+1] == '/' || isAlpha(p[i+1])) {
					break
				}
			}
			if i == len(p) {
				return i
			}
			if p[i] == '-' {
				t.state = scriptDataEscapedDashState
				break
			}
			// "<script" escapes the script twice.
			t.endTagAt = base + i
			if i+1 < len(p) && p[i+1] != '/' {
				if len(p)-i <= len("<script") || startTagAt(p[i:], "script") {
					t.state = scriptDataEscapedLessThanSignState
				}
				break
			}
			switch n := endTagAt(p[i:], "script"); {
			case n > 0:
				t.beginEndTag("script")
				return i + n
			case n < 0:
				t.state = scriptDataEscapedLessThanSignState
			}

		case scriptDataEscapedDashState, scriptDataEscapedDashDashState:
			switch {
			case c == '-':
				t.state = scriptDataEscapedDashDashState
			case c == '<':
				t.endTagAt = base + i
				t.state = scriptDataEscapedLessThanSignState
			case c == '>' && t.state == scriptDataEscapedDashDashState:
				t.state = scriptDataState // "-->" ends the escape
			default:
				t.state = scriptDataEscapedState
			}

		case scriptDataEscapedLessThanSignState:
			switch {
			case c == '/':
				t.state = scriptDataEscapedEndTagOpenState
			case isAlpha(c):
				t.nameLen = 0
				t.state = scriptDataDoubleEscapeStartState
				continue
			default:
				t.state = scriptDataEscapedState
				continue
			}

		case scriptDataEscapedEndTagOpenState:
			if !isAlpha(c) {
				t.state = scriptDataEscapedState
				continue
			}
			t.nameLen = 0
			t.state = scriptDataEscapedEndTagNameState
			continue

		case scriptDataEscapedEndTagNameState:
			if isAlpha(c) {
				t.appendName(c)
				break
			}
			if endsTagName(c) && t.nameIs("script") {
				t.beginEndTag("script")
				return i
			}
			t.state = scriptDataEscapedState
			continue

		case scriptDataDoubleEscapeStartState:
			switch {
			case isAlpha(c):
				t.appendName(c)
			case endsTagName(c) && t.nameIs("script"):
				t.state = scriptDataDoubleEscapedState // "<!-- <script>"
			case endsTagName(c):
				t.state = scriptDataEscapedState
			default:
				t.state = scriptDataEscapedState
				continue
			}

		case scriptDataDoubleEscapedState, scriptDataDoubleEscapedDashState,
			scriptDataDoubleEscapedDashDashState,
			scriptDataDoubleEscapedLessThanSignState, scriptDataDoubleEscapeEndState:
			i = t.doubleEscaped(p, i)
			continue

		default:
			return i
		}
		i++
	}
	return i
}

// scriptEndTagAt is endTagAt(b, "script") with the eight bytes of
// "</script" compared at once, its letters in either case: in double
// escaped script data every "</" is checked, and a byte-by-byte match of
// the name, inlined there, runs short of registers.
func scriptEndTagAt(b []byte) int {
	const (
		// "</script", little-endian.
		tag = '<' | '/'<<8 | 's'<<16 | 'c'<<24 | 'r'<<32 | 'i'<<40 | 'p'<<48 | 't'<<56
		// Lower-cases the letters; '<' and '/' are compared exactly.
		fold = 0x2020202020200000
	)
	if len(b) <= len("</script") {
		return -1
	}
	if binary.LittleEndian.Uint64(b)|fold != tag || !nameStop[b[len("</script")]] {
		return 0
	}
	return len("</script")
}

// startTagAt reports, for b starting with '<', whether "<"+name and a
// byte that ends a tag name follow: in escaped script data, "<script"
// escapes it twice.
func startTagAt(b []byte, name string) bool {
	return len(b) > len("<")+len(name) && nameAt(b[1:], name)
}

// nameAt reports whether b starts with name, in any case, and a byte that
// ends a tag name; b must be longer than name.
func nameAt(b []byte, name string) bool {
	for k := 0; k < len(name); k++ {
		if lower(b[k]) != name[k] {
			return false
		}
	}
	return nameStop[b[len(name)]]
}

// hasDashOrLess reports whether any of the eight bytes in x is '-' or
// '<' (the classic test for a zero byte, on x xor each of them).
func hasDashOrLess(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	d, l := x^(ones*'-'), x^(ones*'<')
	return ((d-ones)&^d|(l-ones)&^l)&highs != 0
}

// doubleEscaped runs the script data double escaped states from p[i:]
// until they go back to the escaped or the plain script data state, or p
// ends, and returns where it stopped. The states are labels, as the tag
// and comment states are; t.state is written where it stops.
func (t *tokenizer) doubleEscaped(p []byte, i int) int {
	switch t.state {
	case scriptDataDoubleEscapedDashState:
		goto dash
	case scriptDataDoubleEscapedDashDashState:
		goto dashDash
	case scriptDataDoubleEscapedLessThanSignState:
		goto lessThanSign
	case scriptDataDoubleEscapeEndState:
		goto end
	}

text:
	if i < len(p) && p[i] == '-' {
		i++ // as indexByte does, a '-' right here costs no loop
		goto dash
	}
	{
		// Here "</script" ends the double escape, not the element; any
		// other '<' is text. Indexed from 0 and unsigned, the loop
		// needs no bounds check.
		q, k := p[i:], uint(0)
		for {
			// Byte by byte for the next eight bytes; past them, eight
			// at a time while none is '-' or '<'.
			for {
				m := min(k+8, uint(len(q)))
				for k < m && q[k] != '-' && q[k] != '<' {
					k++
				}
				if k < m || m == uint(len(q)) {
					break
				}
				for k+8 <= uint(len(q)) && !hasDashOrLess(binary.LittleEndian.Uint64(q[k:])) {
					k += 8
				}
			}
			if k >= uint(len(q)) || q[k] == '-' || k+1 == uint(len(q)) {
				break
			}
			if q[k+1] == '/' {
				if scriptEndTagAt(q[k:]) != 0 {
					break
				}
				k++ // the '/' is neither '-' nor '<': no need to look at it again
			}
			k++
		}
		i += int(k)
	}
	if i == len(p) {
		t.state = scriptDataDoubleEscapedState
		return i
	}
	if p[i] == '-' {
		i++
		goto dash
	}
	i++
	goto lessThanSign

dash:
	if i == len(p) {
		t.state = scriptDataDoubleEscapedDashState
		return i
	}
	switch p[i] {
	case '-':
		i++
		goto dashDash
	case '<':
		i++
		goto lessThanSign
	}
	i++
	goto text

dashDash:
	for i < len(p) && p[i] == '-' {
		i++
	}
	if i == len(p) {
		t.state = scriptDataDoubleEscapedDashDashState
		return i
	}
	switch p[i] {
	case '<':
		i++
		goto lessThanSign
	case '>':
		t.state = scriptDataState
		return i + 1
	}
	i++
	goto text

lessThanSign:
	if i == len(p) {
		t.state = scriptDataDoubleEscapedLessThanSignState
		return i
	}
	if p[i] != '/' {
		goto text
	}
	t.nameLen = 0
	i++

end:
	for ; i < len(p) && isAlpha(p[i]); i++ {
		t.appendName(p[i])
	}
	if i == len(p) {
		t.state = scriptDataDoubleEscapeEndState
		return i
	}
	if !endsTagName(p[i]) {
		goto text
	}
	if t.nameIs("script") {
		t.state = scriptDataEscapedState // back to singly escaped
		return i + 1
	}
	i++
	goto text
}

// beginEndTag starts reading the end tag of a raw text or script element
// whose name has just been matched; the next byte is read in the tag name
// state, which ends the name.
func (t *tokenizer) beginEndTag(name string) {
	t.endTag = true
	t.nameLen = copy(t.name[:], name)
	t.tagStart = t.endTagAt
	t.state = tagNameState
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

// near is how many bytes indexByteNear reads itself before it calls
// bytes.IndexByte.
const near = 8

func indexByteNear(b []byte, c byte) int {
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
