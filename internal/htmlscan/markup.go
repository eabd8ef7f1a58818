package htmlscan

import "bytes"

// markupDeclaration reads from the markup declaration open state (after
// "<!") through comments, bogus comments and doctypes (and, in XML, CDATA
// sections and processing instructions), from p[i:], until
// the data state is reached again or p ends. It returns where it stopped.
// Only where each construct ends matters here, never its content.
func (s *Scanner) markupDeclaration(p []byte, i int) (int, Result) {
	for i < len(p) {
		c := p[i]
		switch s.state {
		case markupDeclarationOpenState:
			// The spec looks ahead for "--" or "DOCTYPE"; streamed, the
			// look-ahead is a match in progress. Before the first tag only
			// comments and a doctype keep the page a document.
			if s.matched == 0 {
				switch {
				case c == '-':
					s.keyword = "--"
				case s.prolog && lower(c) == 'd':
					s.keyword = "doctype"
				case s.xml && c == '[':
					s.keyword = "[cdata["
				case s.prolog:
					return i, GiveUp
				default:
					s.state = bogusCommentState
					continue
				}
			} else if lower(c) != s.keyword[s.matched] {
				if s.prolog {
					return i, GiveUp
				}
				s.state = bogusCommentState
				continue
			}
			if s.matched++; s.matched == len(s.keyword) {
				switch s.keyword {
				case "--":
					s.state = commentStartState
				case "[cdata[":
					s.state, s.matched = cdataSectionState, 0
				default:
					s.prolog = false
					s.state = doctypeState
				}
			}

		case commentStartState:
			switch c {
			case '-':
				s.state = commentStartDashState
			case '>':
				if s.xml {
					s.state = commentState // XML ends comments at "-->" only
					break
				}
				s.state = dataState // abrupt closing of an empty comment: <!-->
				return i + 1, More
			default:
				s.state = commentState
				continue
			}

		case commentStartDashState:
			switch c {
			case '-':
				s.state = commentEndState
			case '>':
				if s.xml {
					s.state = commentState
					break
				}
				s.state = dataState // abrupt closing: <!--->
				return i + 1, More
			default:
				s.state = commentState
				continue
			}

		case commentState:
			// The comment less-than sign states ("<!--" inside a comment)
			// lead to the same end states as plain dashes: nothing but "--"
			// can start the end of a comment, and a lone '-' is text.
			for {
				j := indexByte(p[i:], '-')
				if j < 0 {
					return len(p), More
				}
				if i += j; i+1 == len(p) || p[i+1] == '-' {
					break
				}
				i++
			}
			s.state = commentEndDashState

		case commentEndDashState:
			if c != '-' {
				s.state = commentState
				continue
			}
			s.state = commentEndState

		case commentEndState:
			switch c {
			case '>':
				s.state = dataState
				return i + 1, More
			case '!':
				s.state = commentEndBangState
			case '-':
			default:
				s.state = commentState
				continue
			}

		case commentEndBangState:
			switch c {
			case '-':
				s.state = commentEndDashState
			case '>':
				if s.xml {
					s.state = commentState
					break
				}
				s.state = dataState // "--!>" ends a comment too
				return i + 1, More
			default:
				s.state = commentState
				continue
			}

		case bogusCommentState, doctypeState:
			j := indexByte(p[i:], '>')
			if s.xml && s.state == doctypeState {
				if k := bytes.IndexByte(p[i:], '['); k >= 0 && (j < 0 || k < j) {
					// An internal subset may hold '>' and declare
					// entities: not worth guessing at.
					return i, GiveUp
				}
			}
			if j < 0 {
				return len(p), More
			}
			s.state = dataState
			return i + j + 1, More

		case cdataSectionState:
			// XML: "]]>" ends it; matched counts the ']' just before.
			if s.matched == 0 {
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
				s.matched = min(s.matched+1, 2)
			case c == '>' && s.matched == 2:
				s.state = dataState
				return i + 1, More
			default:
				s.matched = 0
			}

		case processingInstructionState:
			// XML: "?>" ends it; matched notes a '?' that ended the
			// last piece.
			j := indexByte(p[i:], '>')
			if j < 0 {
				s.matched = 0
				if p[len(p)-1] == '?' {
					s.matched = 1
				}
				return len(p), More
			}
			if j > 0 && p[i+j-1] == '?' || j == 0 && s.matched == 1 {
				s.state = dataState
				return i + j + 1, More
			}
			s.matched = 0
			i += j

		default:
			return i, More
		}
		i++
	}
	return i, More
}
