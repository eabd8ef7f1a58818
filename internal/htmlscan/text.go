package htmlscan

import "bytes"

// rawText reads the text of a RAWTEXT or RCDATA element (style, title,
// textarea, ...) from p[i:] until its end tag's name is complete or p
// ends. On the end tag it leaves the tag name state to finish the tag, as
// for any other tag, and returns the index of the byte after the name.
func (s *Scanner) rawText(p []byte, i, base int) int {
	for i < len(p) {
		c := p[i]
		switch s.state {
		case rawTextState:
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				return len(p)
			}
			i += j
			s.endTagAt = base + i
			if n := endTagAt(p[i:], s.rawEnd); n > 0 {
				s.beginEndTag(s.rawEnd)
				return i + n
			}
			s.state = rawTextLessThanSignState

		case rawTextLessThanSignState:
			if c != '/' {
				s.state = rawTextState
				continue
			}
			s.state = rawTextEndTagOpenState

		case rawTextEndTagOpenState:
			if !isAlpha(c) {
				s.state = rawTextState
				continue
			}
			s.nameLen = 0
			s.state = rawTextEndTagNameState
			continue

		case rawTextEndTagNameState:
			if isAlpha(c) {
				s.appendName(c)
				break
			}
			if endsTagName(c) && s.nameIs(s.rawEnd) {
				s.beginEndTag(s.rawEnd)
				return i
			}
			s.state = rawTextState
			continue

		default:
			return i
		}
		i++
	}
	return i
}

// scriptData reads the text of a script element from p[i:], through the
// script data escaped and double escaped states that old pages rely on
// ("<!-- <script> ... </script> -->" does not end the element), until its
// end tag's name is complete or p ends. A live script that mentions the
// loader's global gives the page up: it runs the loader already.
func (s *Scanner) scriptData(p []byte, i, base int) (int, Result) {
	start := i
	i = s.scriptStates(p, i, base)
	if s.live && s.mentionsLoader(p[start:i]) {
		return i, GiveUp
	}
	return i, More
}

func (s *Scanner) scriptStates(p []byte, i, base int) int {
	for i < len(p) {
		c := p[i]
		switch s.state {
		case scriptDataState:
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				return len(p)
			}
			i += j
			s.endTagAt = base + i
			if n := endTagAt(p[i:], "script"); n > 0 {
				s.beginEndTag("script")
				return i + n
			}
			s.state = scriptDataLessThanSignState

		case scriptDataLessThanSignState:
			switch c {
			case '/':
				s.state = scriptDataEndTagOpenState
			case '!':
				s.state = scriptDataEscapeStartState
			default:
				s.state = scriptDataState
				continue
			}

		case scriptDataEndTagOpenState:
			if !isAlpha(c) {
				s.state = scriptDataState
				continue
			}
			s.nameLen = 0
			s.state = scriptDataEndTagNameState
			continue

		case scriptDataEndTagNameState:
			if isAlpha(c) {
				s.appendName(c)
				break
			}
			if endsTagName(c) && s.nameIs("script") {
				s.beginEndTag("script")
				return i
			}
			s.state = scriptDataState
			continue

		case scriptDataEscapeStartState:
			if c != '-' {
				s.state = scriptDataState
				continue
			}
			s.state = scriptDataEscapeStartDashState

		case scriptDataEscapeStartDashState:
			if c != '-' {
				s.state = scriptDataState
				continue
			}
			s.state = scriptDataEscapedDashDashState

		case scriptDataEscapedState:
			for i < len(p) && p[i] != '-' && p[i] != '<' {
				i++
			}
			if i == len(p) {
				return i
			}
			if p[i] == '-' {
				s.state = scriptDataEscapedDashState
			} else {
				s.endTagAt = base + i
				s.state = scriptDataEscapedLessThanSignState
			}

		case scriptDataEscapedDashState, scriptDataEscapedDashDashState:
			switch {
			case c == '-':
				s.state = scriptDataEscapedDashDashState
			case c == '<':
				s.endTagAt = base + i
				s.state = scriptDataEscapedLessThanSignState
			case c == '>' && s.state == scriptDataEscapedDashDashState:
				s.state = scriptDataState // "-->" ends the escape
			default:
				s.state = scriptDataEscapedState
			}

		case scriptDataEscapedLessThanSignState:
			switch {
			case c == '/':
				s.state = scriptDataEscapedEndTagOpenState
			case isAlpha(c):
				s.nameLen = 0
				s.state = scriptDataDoubleEscapeStartState
				continue
			default:
				s.state = scriptDataEscapedState
				continue
			}

		case scriptDataEscapedEndTagOpenState:
			if !isAlpha(c) {
				s.state = scriptDataEscapedState
				continue
			}
			s.nameLen = 0
			s.state = scriptDataEscapedEndTagNameState
			continue

		case scriptDataEscapedEndTagNameState:
			if isAlpha(c) {
				s.appendName(c)
				break
			}
			if endsTagName(c) && s.nameIs("script") {
				s.beginEndTag("script")
				return i
			}
			s.state = scriptDataEscapedState
			continue

		case scriptDataDoubleEscapeStartState:
			switch {
			case isAlpha(c):
				s.appendName(c)
			case endsTagName(c) && s.nameIs("script"):
				s.state = scriptDataDoubleEscapedState // "<!-- <script>"
			case endsTagName(c):
				s.state = scriptDataEscapedState
			default:
				s.state = scriptDataEscapedState
				continue
			}

		case scriptDataDoubleEscapedState:
			for i < len(p) && p[i] != '-' && p[i] != '<' {
				i++
			}
			if i == len(p) {
				return i
			}
			if p[i] == '-' {
				s.state = scriptDataDoubleEscapedDashState
			} else {
				s.state = scriptDataDoubleEscapedLessThanSignState
			}

		case scriptDataDoubleEscapedDashState, scriptDataDoubleEscapedDashDashState:
			switch {
			case c == '-':
				s.state = scriptDataDoubleEscapedDashDashState
			case c == '<':
				s.state = scriptDataDoubleEscapedLessThanSignState
			case c == '>' && s.state == scriptDataDoubleEscapedDashDashState:
				s.state = scriptDataState
			default:
				s.state = scriptDataDoubleEscapedState
			}

		case scriptDataDoubleEscapedLessThanSignState:
			if c != '/' {
				s.state = scriptDataDoubleEscapedState
				continue
			}
			s.nameLen = 0
			s.state = scriptDataDoubleEscapeEndState

		case scriptDataDoubleEscapeEndState:
			switch {
			case isAlpha(c):
				s.appendName(c)
			case endsTagName(c) && s.nameIs("script"):
				s.state = scriptDataEscapedState // back to singly escaped
			case endsTagName(c):
				s.state = scriptDataDoubleEscapedState
			default:
				s.state = scriptDataDoubleEscapedState
				continue
			}

		default:
			return i
		}
		i++
	}
	return i
}

// mentionsLoader reports whether b, the next bytes of a live script,
// completes loaderGlobal, matched across the pieces of the page. Each '$'
// is compared at most once, so the check stays linear in the script.
func (s *Scanner) mentionsLoader(b []byte) bool {
	for len(b) > 0 {
		if k := s.loader; k > 0 {
			n := min(len(loaderGlobal)-k, len(b))
			if string(b[:n]) == loaderGlobal[k:k+n] {
				s.loader += n
				return s.loader == len(loaderGlobal)
			}
			s.loader = 0
		}
		d := bytes.IndexByte(b, '$')
		if d < 0 {
			return false
		}
		b = b[d:]
		n := min(len(loaderGlobal), len(b))
		if string(b[:n]) == loaderGlobal[:n] {
			if n == len(loaderGlobal) {
				return true
			}
			s.loader = n // b ends inside a possible match
			return false
		}
		b = b[1:]
	}
	return false
}

// endTagAt returns the length of "</"+name at the start of b when a byte
// that ends a tag name follows it in b, or 0: a fast path for the end of
// raw text and script data, which otherwise goes through the end tag
// states byte by byte.
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
// whose name has just been matched; the next byte is read in the tag name
// state, which ends the name.
func (s *Scanner) beginEndTag(name string) {
	s.endTag = true
	s.nameLen = copy(s.name[:], name)
	s.tagStart = s.endTagAt
	s.state = tagNameState
}
