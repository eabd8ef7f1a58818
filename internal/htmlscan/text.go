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
			// A '<' is text unless it starts the element's end tag: when
			// p holds enough bytes to tell, it is read here.
			for {
				j := indexByte(p[i:], '<')
				if j < 0 {
					return len(p)
				}
				if i += j; i+1 < len(p) && p[i+1] != '/' {
					i++ // starts no end tag
					continue
				}
				s.endTagAt = base + i
				if n := endTagAt(p[i:], s.rawEnd); n > 0 {
					s.beginEndTag(s.rawEnd)
					return i + n
				}
				if len(p)-i <= len("</")+len(s.rawEnd) {
					break
				}
				i++
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
			// A '<' is text unless it starts "</script" or "<!--": when
			// p holds enough bytes to tell, it is read here.
			for {
				j := indexByte(p[i:], '<')
				if j < 0 {
					return len(p)
				}
				if i += j; i+1 < len(p) && p[i+1] != '/' && p[i+1] != '!' {
					i++ // starts neither an end tag nor an escape
					continue
				}
				s.endTagAt = base + i
				if n := endTagAt(p[i:], "script"); n > 0 {
					s.beginEndTag("script")
					return i + n
				}
				if len(p)-i <= len("</script") || string(p[i:i+4]) == "<!--" {
					break
				}
				i++
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
				s.state = scriptDataEscapedDashState
				break
			}
			// A '<' is text unless it starts "</script" or "<script":
			// when p holds enough bytes to tell, it is read here.
			s.endTagAt = base + i
			if n := endTagAt(p[i:], "script"); n > 0 {
				s.beginEndTag("script")
				return i + n
			}
			if len(p)-i <= len("</script") || startTagAt(p[i:], "script") {
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
				break
			}
			// A '<' is text unless it starts "</script": when p holds
			// enough bytes to tell, it is read here.
			if len(p)-i <= len("</script") || endTagAt(p[i:], "script") > 0 {
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
// completes loaderGlobal, matched across the pieces of the page. Each
// place the global may start is compared at most once, so the check
// stays linear in the script.
func (s *Scanner) mentionsLoader(b []byte) bool {
	if k := s.loader; k > 0 {
		// The last piece ended inside a possible match: finish it first.
		n := min(len(loaderGlobal)-k, len(b))
		if string(b[:n]) == loaderGlobal[k:k+n] {
			s.loader += n
			return s.loader == len(loaderGlobal)
		}
		s.loader = 0
	}
	if containsLoader(b) {
		return true
	}
	// b may end inside a match that the next piece completes: its last
	// '$' among the final bytes, if what follows it starts the global.
	tail := b[max(len(b)-len(loaderGlobal)+1, 0):]
	if d := bytes.LastIndexByte(tail, '$'); d >= 0 && string(tail[d:]) == loaderGlobal[:len(tail)-d] {
		s.loader = len(tail) - d
	}
	return false
}

var loaderGlobalBytes = []byte(loaderGlobal)

// loaderAnchor is the offset of the byte containsLoader looks for first:
// the global's 'F', far rarer in scripts than its '$', which jQuery-style
// code has every few dozen bytes.
const loaderAnchor = len("$product")

// containsLoader reports whether b holds loaderGlobal. It is
// bytes.Contains with another byte to look for first: bytes.Index looks
// for the '$' with bytes.IndexByte and compares the global at each one,
// a call and a comparison per '$'. Like bytes.Index, it hands the rest
// to bytes.Index's vectorised search once false starts come thick, so a
// script full of 'F' stays linear too.
func containsLoader(b []byte) bool {
	const n = len(loaderGlobal)
	end := len(b) - (n - loaderAnchor) + 1 // past the last 'F' that leaves room for the rest
	for i, fails := 0, 0; i+loaderAnchor < end; {
		j := bytes.IndexByte(b[i+loaderAnchor:end], loaderGlobal[loaderAnchor])
		if j < 0 {
			return false
		}
		if i += j; string(b[i:i+n]) == loaderGlobal {
			return true
		}
		i++
		if fails++; fails > 4+i/16 {
			return bytes.Contains(b[i:], loaderGlobalBytes)
		}
	}
	return false
}

// endTagAt returns, for b starting with '<', the length of "</"+name at
// its start when a byte that ends a tag name follows it in b, or 0: a
// fast path for the end of raw text and script data, which otherwise goes
// through the end tag states byte by byte.
func endTagAt(b []byte, name string) int {
	if len(b) <= len("</")+len(name) || b[1] != '/' || !nameAt(b[2:], name) {
		return 0
	}
	return len("</") + len(name)
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

// beginEndTag starts reading the end tag of a raw text or script element
// whose name has just been matched; the next byte is read in the tag name
// state, which ends the name.
func (s *Scanner) beginEndTag(name string) {
	s.endTag = true
	s.nameLen = copy(s.name[:], name)
	s.tagStart = s.endTagAt
	s.state = tagNameState
}
