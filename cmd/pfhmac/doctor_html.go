package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strings"

	"github.com/pfverify/productfruits"
)

// The page's markup, read by a small scanner: start tags with their
// attributes, end tags, text, and the raw text of script-like elements,
// as an HTML tokenizer reads them (comments, doctypes and processing
// instructions skipped). It does not build a tree: where the head ends is
// worked out from the tokens as a tree builder in the "in head" mode would.

// pushData starts every inline script of the snippet (snippet.go).
const pushData = "(window.__productfruitsGo=window.__productfruitsGo||[]).push("

// tokenKind is what an htmlToken is: text, a start tag or an end tag.
type tokenKind uint8

const (
	tokText tokenKind = iota
	tokStart
	tokEnd
)

// htmlToken is a tag or a run of text, with where it stands in the page,
// so that findings can name byte offsets.
type htmlToken struct {
	kind       tokenKind
	name       string // lower case
	attrs      map[string]string
	text       string // text, or a raw text element's contents
	start, end int    // byte offsets of the tag or text
}

// rawText are the elements whose contents are text up to their end tag
// (noscript: browsers run scripts).
var rawText = map[string]bool{
	"script": true, "style": true, "textarea": true, "title": true, "xmp": true,
	"iframe": true, "noembed": true, "noframes": true, "noscript": true,
}

// scanHTML tokenizes doc.
func scanHTML(doc string) []htmlToken {
	var toks []htmlToken
	text := func(from, to int) {
		if to > from {
			toks = append(toks, htmlToken{kind: tokText, text: doc[from:to], start: from, end: to})
		}
	}
	i := 0
	for i < len(doc) {
		lt := strings.IndexByte(doc[i:], '<')
		if lt < 0 {
			text(i, len(doc))
			break
		}
		text(i, i+lt)
		j := i + lt
		rest := doc[j:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if strings.HasPrefix(rest[4:], ">") || strings.HasPrefix(rest[4:], "->") {
				end = strings.IndexByte(rest[4:], '>') - 2
			}
			if end < 0 {
				return toks
			}
			i = j + 4 + end + 3
		case strings.HasPrefix(rest, "<!"), strings.HasPrefix(rest, "<?"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return toks
			}
			i = j + end + 1
		case strings.HasPrefix(rest, "</") && len(rest) > 2 && isASCIILetter(rest[2]):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return toks
			}
			name := tagName(rest[2:end])
			toks = append(toks, htmlToken{kind: tokEnd, name: name, start: j, end: j + end + 1})
			i = j + end + 1
		case len(rest) > 1 && isASCIILetter(rest[1]):
			t, n := scanStartTag(rest)
			t.start, t.end = j, j+n
			i = j + n
			if rawText[t.name] {
				closeAt := findEndTag(doc, i, t.name)
				t.text = doc[i:closeAt]
				i = closeAt
			}
			toks = append(toks, t)
			if t.name == "plaintext" {
				text(i, len(doc))
				return toks
			}
		default:
			text(j, j+1)
			i = j + 1
		}
	}
	return toks
}

// isASCIILetter reports whether c may start a tag name.
func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// isSpace reports whether c is HTML's ASCII whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// asciiLower lower-cases ASCII letters only, keeping every byte offset.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// tagName returns the lower-cased name at the start of s.
func tagName(s string) string {
	n := 0
	for n < len(s) && !isSpace(s[n]) && s[n] != '/' && s[n] != '>' {
		n++
	}
	return asciiLower(s[:n])
}

// findEndTag returns where name's end tag starts at or after from, or
// len(doc) when it is never closed.
func findEndTag(doc string, from int, name string) int {
	for i := from; ; {
		k := strings.Index(doc[i:], "</")
		if k < 0 {
			return len(doc)
		}
		k += i
		e := k + 2 + len(name)
		if e <= len(doc) && asciiLower(doc[k+2:e]) == name && (e == len(doc) || isSpace(doc[e]) || doc[e] == '/' || doc[e] == '>') {
			return k
		}
		i = k + 2
	}
}

// scanStartTag reads the start tag at the start of s ("<name ...>") and
// returns it and its length. Attribute names are lower-cased, values have
// their character references decoded, and the first of two same-named
// attributes wins.
func scanStartTag(s string) (htmlToken, int) {
	t := htmlToken{kind: tokStart, attrs: map[string]string{}}
	i := 1
	for i < len(s) && !isSpace(s[i]) && s[i] != '/' && s[i] != '>' {
		i++
	}
	t.name = asciiLower(s[1:i])
	for i < len(s) {
		for i < len(s) && (isSpace(s[i]) || s[i] == '/') {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '>' {
			return t, i + 1
		}
		start := i
		i++ // a name may start with '='
		for i < len(s) && !isSpace(s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=' {
			i++
		}
		name := asciiLower(s[start:i])
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		val := ""
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					return t, len(s)
				}
				val = s[i+1 : i+1+end]
				i += end + 2
			} else {
				vs := i
				for i < len(s) && !isSpace(s[i]) && s[i] != '>' {
					i++
				}
				val = s[vs:i]
			}
		}
		if _, dup := t.attrs[name]; !dup {
			t.attrs[name] = html.UnescapeString(val)
		}
	}
	return t, len(s)
}

// headTags are the start tags the "in head" insertion mode takes in (and
// those before it, which open the head implicitly).
var headTags = map[string]bool{
	"html": true, "head": true, "base": true, "basefont": true, "bgsound": true, "link": true, "meta": true,
	"title": true, "noscript": true, "noframes": true, "style": true, "script": true, "template": true,
}

// element is a script or template of the snippet, or another element the
// checks read.
type element struct {
	start, end int // from its start tag to the end of its end tag
	nonce      string
	src        string
	text       string
}

// baseElement is the first <base href>, which browsers resolve a
// script's src against.
type baseElement struct {
	start int
	href  string
}

// metaPolicy is a Content-Security-Policy given in a <meta> element.
type metaPolicy struct {
	start   int
	content string
}

// pageScan is what the checks need of a page.
type pageScan struct {
	data      []element // inline scripts pushing the page data
	anonymous []element // the anonymous page's script
	runtime   []element // the runtime's script element, with a src
	// inlineRuntime is an inline runtime (no endpoint URL to load it from).
	inlineRuntime bool
	loader        *element // the Trusted Types loader template; src from its script
	base          *baseElement
	metaCSP       []metaPolicy
	first         int    // where the snippet starts
	follows       string // the tag (or text) after the snippet's last element
	headEnd       int    // where the head ends
	headEndBy     string // what ends it
}

// hasSnippet reports whether any of the snippet's scripts is on the page.
func (s *pageScan) hasSnippet() bool {
	return len(s.data)+len(s.anonymous)+len(s.runtime) > 0 || s.inlineRuntime
}

// describe names t as a finding shows it: <name>, </name> or text.
func describe(t htmlToken) string {
	switch t.kind {
	case tokStart:
		return "<" + t.name + ">"
	case tokEnd:
		return "</" + t.name + ">"
	}
	return "text"
}

// scanPage finds the snippet's elements, the <base> and the <meta>
// policies the checks read, and where the head ends.
func scanPage(body []byte) *pageScan {
	doc := string(body)
	toks := scanHTML(doc)
	sc := &pageScan{first: -1, headEnd: len(doc), headEndBy: "the end of the document"}
	last := -1 // index of the last token of the snippet
	depth := 0 // template nesting
	var loaderDepth int
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		switch {
		case t.kind == tokStart && t.name == "template":
			depth++
			if v, ok := t.attrs["data-productfruits"]; ok && v == "loader" && sc.loader == nil {
				sc.loader = &element{start: t.start}
				loaderDepth = depth
				sc.mark(t.start)
			}
			continue
		case t.kind == tokEnd && t.name == "template" && depth > 0:
			if sc.loader != nil && loaderDepth == depth {
				sc.loader.end, loaderDepth, last = t.end, 0, k
			}
			depth--
			continue
		}
		if t.kind != tokStart {
			continue
		}
		switch t.name {
		case "base":
			if href, ok := t.attrs["href"]; ok && sc.base == nil {
				sc.base = &baseElement{t.start, href}
			}
		case "meta":
			if strings.EqualFold(strings.TrimSpace(t.attrs["http-equiv"]), "content-security-policy") {
				sc.metaCSP = append(sc.metaCSP, metaPolicy{t.start, t.attrs["content"]})
			}
		case "script":
			if loaderDepth > 0 {
				if sc.loader.src == "" {
					sc.loader.src = t.attrs["src"]
				}
				continue
			}
			mark, ok := t.attrs["data-productfruits"]
			if !ok || depth > 0 {
				continue
			}
			el := element{start: t.start, end: t.end, nonce: t.attrs["nonce"], src: t.attrs["src"], text: t.text}
			if k+1 < len(toks) && toks[k+1].kind == tokEnd && toks[k+1].name == "script" {
				el.end = toks[k+1].end
				last = k + 1
			} else {
				last = k
			}
			_, hasSrc := t.attrs["src"]
			switch {
			case mark == "anonymous":
				sc.anonymous = append(sc.anonymous, el)
			case hasSrc:
				sc.runtime = append(sc.runtime, el)
			case strings.Contains(t.text, pushData+"{"):
				sc.data = append(sc.data, el)
			default:
				sc.inlineRuntime = true
			}
			sc.mark(t.start)
		}
	}
	for k := last + 1; last >= 0 && k < len(toks); k++ {
		if toks[k].kind != tokText || strings.TrimLeft(toks[k].text, " \t\n\r\f") != "" {
			sc.follows = describe(toks[k])
			break
		}
	}
	sc.findHeadEnd(toks)
	return sc
}

// mark records an element of the snippet at at, keeping the earliest.
func (s *pageScan) mark(at int) {
	if s.first < 0 || at < s.first {
		s.first = at
	}
}

// findHeadEnd finds the first token that takes a tree builder out of the
// head: </head>, <body> and any start tag the head does not take,
// non-whitespace text, </body>, </html> or </br>. Template contents never
// end it.
func (s *pageScan) findHeadEnd(toks []htmlToken) {
	depth := 0
	for _, t := range toks {
		switch t.kind {
		case tokStart:
			if t.name == "template" {
				depth++
				continue
			}
			if depth > 0 || headTags[t.name] {
				continue
			}
		case tokEnd:
			if t.name == "template" && depth > 0 {
				depth--
				continue
			}
			if depth > 0 || (t.name != "head" && t.name != "body" && t.name != "html" && t.name != "br") {
				continue
			}
		case tokText:
			if depth > 0 || strings.TrimLeft(t.text, " \t\n\r\f") == "" {
				continue
			}
		}
		s.headEnd, s.headEndBy = t.start, describe(t)
		return
	}
}

// pageData is the page data object the snippet pushes to the runtime.
type pageData struct {
	Workspace string             `json:"workspace"`
	Language  string             `json:"language"`
	User      productfruits.User `json:"user"`
	Identity  string             `json:"identity"`
	TTL       int64              `json:"ttl"`
}

// parsePageData reads the page data object from an inline script's text.
func parsePageData(text string) (*pageData, error) {
	s := strings.TrimSpace(text)
	s = strings.TrimPrefix(s, "//<![CDATA[")
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "//]]>"))
	rest, ok := strings.CutPrefix(s, pushData)
	if !ok {
		return nil, errors.New("the script does not start with the page data push")
	}
	dec := json.NewDecoder(strings.NewReader(rest))
	var pd pageData
	if err := dec.Decode(&pd); err != nil {
		return nil, fmt.Errorf("its page data is not JSON: %w", err)
	}
	if tail := strings.TrimSpace(rest[dec.InputOffset():]); tail != ")" && tail != ");" {
		return nil, errors.New("the script holds more than the page data push")
	}
	if pd.User.Username == "" {
		return nil, errors.New("its page data has no user.username")
	}
	return &pd, nil
}
