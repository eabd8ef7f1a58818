package htmlscan

import "bytes"

// markupDeclaration reads from the markup declaration open state (after
// "<!") through comments, bogus comments and doctypes (and, in XML, CDATA
// sections and processing instructions), from p[i:], until
// the data state is reached again or p ends. It returns where it stopped.
// Only where each construct ends matters here, never its content.
func (t *tokenizer) markupDeclaration(p []byte, i int, out *Scanner) (int, Result) {
	for i < len(p) {
		c := p[i]
		switch t.state {
		case markupDeclarationOpenState:
			// The spec looks ahead for "--" or "DOCTYPE"; streamed, the
			// look-ahead is a match in progress. A doctype is looked for
			// only while out hears of every construct, before the first
			// tag: later the tree builder ignores it, and it ends at the
			// same '>' as the bogus comment it is read as.
			if t.matched == 0 {
				switch {
				case c == '-' && i+1 < len(p) && p[i+1] == '-':
					// The whole look-ahead at once: straight into the
					// comment.
					t.state = commentStartState
					if r := t.begin(comment, out); r != More {
						return i + 1, r
					}
					return t.comment(p, i+2), More
				case c == '-' && i+1 < len(p):
					goto bogus // "<!-x"
				case c == '-':
					t.keyword = "--"
				case t.announce && lower(c) == 'd':
					t.keyword = "doctype"
				case t.xml && c == '[':
					t.keyword = "[cdata["
				default:
					goto bogus
				}
			} else if lower(c) != t.keyword[t.matched] {
				goto bogus
			}
			if t.matched++; t.matched == len(t.keyword) {
				var k markupKind
				switch t.keyword {
				case "--":
					t.state, k = commentStartState, comment
				case "[cdata[":
					t.state, t.matched, k = cdataSectionState, 0, cdataSection
				default:
					t.state, k = doctypeState, doctype
				}
				if r := t.begin(k, out); r != More {
					return i, r
				}
			}
			break
		bogus:
			t.state = bogusCommentState
			if r := t.begin(bogusComment, out); r != More {
				return i, r
			}
			// Reconsumed in the bogus comment state, read here.
			if j := indexByte(p[i:], '>'); j >= 0 {
				t.state = dataState
				return i + j + 1, More
			}
			return len(p), More

		case commentStartState, commentStartDashState, commentState,
			commentEndDashState, commentEndState, commentEndBangState:
			// The comment runs to its end or to the end of p.
			return t.comment(p, i), More

		case bogusCommentState, doctypeState:
			j := indexByte(p[i:], '>')
			if t.xml && t.state == doctypeState {
				if k := bytes.IndexByte(p[i:], '['); k >= 0 && (j < 0 || k < j) {
					// An internal subset may hold '>' and declare
					// entities: not worth guessing at.
					return i, GiveUp
				}
			}
			if j < 0 {
				return len(p), More
			}
			t.state = dataState
			return i + j + 1, More

		case cdataSectionState:
			// XML: "]]>" ends it; matched counts the ']' just before.
			if t.matched == 0 {
				// A ']' not followed by another is text.
				for {
					j := indexByte(p[i:], ']')
					if j < 0 {
						return len(p), More
					}
					if i += j; i+1 == len(p) || p[i+1] == ']' {
						break
					}
					i++
				}
				c = ']'
			}
			switch {
			case c == ']':
				t.matched = min(t.matched+1, 2)
			case c == '>' && t.matched == 2:
				t.state = dataState
				return i + 1, More
			default:
				t.matched = 0
			}

		case processingInstructionState:
			// XML: "?>" ends it; matched notes a '?' that ended the
			// last piece.
			j := indexByte(p[i:], '>')
			if j < 0 {
				t.matched = 0
				if p[len(p)-1] == '?' {
					t.matched = 1
				}
				return len(p), More
			}
			if j > 0 && p[i+j-1] == '?' || j == 0 && t.matched == 1 {
				t.state = dataState
				return i + j + 1, More
			}
			t.matched = 0
			i += j

		default:
			return i, More
		}
		i++
	}
	return i, More
}

// comment runs the comment states from p[i:] until the comment ends (the
// data state) or p ends, and returns where it stopped. The states are
// labels, so that a byte moves from one to the next without going
// through the state in t; t.state is written where it stops.
func (t *tokenizer) comment(p []byte, i int) int {
	switch t.state {
	case commentStartState:
		goto start
	case commentStartDashState:
		goto startDash
	case commentEndDashState:
		goto endDash
	case commentEndState:
		goto end
	case commentEndBangState:
		goto endBang
	}
	goto text

start:
	if i == len(p) {
		t.state = commentStartState
		return i
	}
	switch p[i] {
	case '-':
		i++
		goto startDash
	case '>':
		if t.xml {
			i++ // XML ends comments at "-->" only
			goto text
		}
		t.state = dataState // abrupt closing of an empty comment: <!-->
		return i + 1
	}
	goto text

startDash:
	if i == len(p) {
		t.state = commentStartDashState
		return i
	}
	switch p[i] {
	case '-':
		i++
		goto end
	case '>':
		if t.xml {
			i++
			goto text
		}
		t.state = dataState // abrupt closing: <!--->
		return i + 1
	}
	goto text

text:
	// The comment less-than sign states ("<!--" inside a comment) lead
	// to the same end states as plain dashes: nothing but "--" can start
	// the end of a comment, and a lone '-' is text.
	for {
		// The next bytes are read here and the rest by bytes.IndexByte,
		// as indexByteNear does, but without a call: a comment where
		// dashes come thick ("<!-", "-x") costs a short loop per dash.
		j := i
		for n := min(i+near, len(p)); j < n && p[j] != '-'; j++ {
		}
		if j == len(p) {
			t.state = commentState
			return j
		}
		if p[j] != '-' {
			k := bytes.IndexByte(p[j:], '-')
			if k < 0 {
				t.state = commentState
				return len(p)
			}
			j += k
		}
		if i = j + 1; i == len(p) {
			t.state = commentEndDashState
			return i
		}
		if p[i] == '-' {
			i++
			goto end
		}
	}

endDash:
	if i == len(p) {
		t.state = commentEndDashState
		return i
	}
	if p[i] != '-' {
		goto text
	}
	i++

end:
	for i < len(p) && p[i] == '-' {
		i++ // "---": the last two may still end the comment
	}
	if i == len(p) {
		t.state = commentEndState
		return i
	}
	switch p[i] {
	case '>':
		t.state = dataState
		return i + 1
	case '!':
		i++
		goto endBang
	}
	goto text

endBang:
	if i == len(p) {
		t.state = commentEndBangState
		return i
	}
	switch p[i] {
	case '-':
		i++
		goto endDash
	case '>':
		if t.xml {
			i++
			goto text
		}
		t.state = dataState // "--!>" ends a comment too
		return i + 1
	}
	goto text
}
