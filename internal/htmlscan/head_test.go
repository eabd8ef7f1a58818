package htmlscan

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readTag fills t as the tokenizer leaves it once it has read the tag
// written as "name" or "/name".
func readTag(t *tokenizer, tag string) {
	t.endTag = strings.HasPrefix(tag, "/")
	name := strings.TrimPrefix(tag, "/")
	t.nameLen = copy(t.name[:], name)
	if len(name) > len(t.name) {
		t.nameLen = len(name)
	}
	t.state = dataState
}

// inHead returns a head policy past the start of the document, and the
// tokenizer it feeds back to.
func inHead() (*headPolicy, *tokenizer) {
	h, tok := new(headPolicy), new(tokenizer)
	h.reset(tok)
	h.endProlog(tok)
	return h, tok
}

// TestHeadPolicy holds the head policy to the tree builder's rules
// without the tokenizer: tags are handed to it one by one, each taking 10
// bytes of the stream, and the last decides.
func TestHeadPolicy(t *testing.T) {
	for _, tt := range []struct {
		desc     string
		tags     []string
		want     Result
		insertAt int
	}{
		{"</head>", []string{"html", "head", "meta", "/head"}, Insert, 30},
		{"a start tag the head does not keep", []string{"html", "head", "title", "/title", "div"}, Insert, 40},
		{"a long name", []string{"html", "head", "my-long-element"}, Insert, 20},
		{"end tags the head ignores", []string{"html", "head", "/div", "/template", "/p"}, More, 0},
		{"</body>, </html>, </br>", []string{"head", "/br"}, Insert, 10},
		{"template contents", []string{"head", "template", "div", "/head", "/template", "body"}, Insert, 50},
		{"foreign content in a template", []string{"head", "template", "svg"}, GiveUp, 0},
		{"plaintext in a template", []string{"head", "template", "plaintext"}, GiveUp, 0},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			h, tok := inHead()
			r := More
			for k, tag := range tt.tags {
				require.Equal(t, More, r, "decided before %s", tag)
				readTag(tok, tag)
				r = h.tag(tok, 10*k, 10*k+10)
			}
			assert.Equal(t, tt.want, r)
			if r == Insert {
				assert.Equal(t, tt.insertAt, h.insertAt)
			}
		})
	}
}

// TestHeadPolicyIgnoresTag: every tag ignoresTag reports is one tag
// would do nothing with, in the head and in template contents, in HTML
// and in XML; and it reports the end tags and short template tags the
// benchmarks are full of.
func TestHeadPolicyIgnoresTag(t *testing.T) {
	var names []string
	for _, n := range []string{"p", "a", "br", "x", "td", "li", "div", "svg", "xmp", "meta", "head", "html", "body", "base", "title", "style",
		"script", "template", "plaintext", "my-long-element"} {
		names = append(names, n, "/"+n)
	}
	for _, xml := range []bool{false, true} {
		for _, depth := range []int{0, 1, 2} {
			for _, tag := range names {
				h, tok := inHead()
				h.xml, tok.xml, h.depth = xml, xml, depth
				h.setText(tok)
				readTag(tok, tag)
				if !h.ignoresTag(tok) {
					continue
				}
				h0, tok0 := *h, *tok
				require.Equal(t, More, h.tag(tok, 10, 20), "%s at depth %d, xml %v", tag, depth, xml)
				assert.Equal(t, h0, *h, "%s at depth %d, xml %v", tag, depth, xml)
				assert.Equal(t, tok0, *tok, "%s at depth %d, xml %v", tag, depth, xml)
			}
		}
	}
	h, tok := inHead()
	for _, tag := range []string{"/x", "/p", "/div"} {
		readTag(tok, tag)
		assert.True(t, h.ignoresTag(tok), tag)
	}
	h.depth = 1
	for _, tag := range []string{"p", "/p", "td", "/div"} {
		readTag(tok, tag)
		assert.True(t, h.ignoresTag(tok), "%s in a template", tag)
	}
}

// TestHeadPolicyFeedback: the elements whose text the tokenizer reads in
// another state switch it there; a template makes text not matter.
func TestHeadPolicyFeedback(t *testing.T) {
	for _, tt := range []struct {
		tags   []string
		state  state
		rawEnd string
		text   bool
	}{
		{[]string{"head"}, dataState, "", true},
		{[]string{"head", "style"}, rawTextState, "style", true},
		{[]string{"head", "noscript"}, rawTextState, "noscript", true},
		{[]string{"head", "title"}, rawTextState, "title", true},
		{[]string{"head", "script"}, scriptDataState, "", true},
		{[]string{"head", "template"}, dataState, "", false},
		{[]string{"head", "template", "xmp"}, rawTextState, "xmp", false},
		{[]string{"head", "template", "script"}, scriptDataState, "", false},
		{[]string{"head", "template", "/template"}, dataState, "", true},
	} {
		h, tok := inHead()
		for k, tag := range tt.tags {
			readTag(tok, tag)
			require.Equal(t, More, h.tag(tok, 10*k, 10*k+10), "%v", tt.tags)
		}
		assert.Equal(t, tt.state, tok.state, "%v", tt.tags)
		assert.Equal(t, tt.rawEnd, tok.rawEnd, "%v", tt.tags)
		assert.Equal(t, tt.text, tok.textMatters, "%v", tt.tags)
	}
}

// TestHeadPolicyLastSafe: right after <head>, or right before a later
// element the head keeps; never before the head opens.
func TestHeadPolicyLastSafe(t *testing.T) {
	h, tok := inHead()
	for k, tt := range []struct {
		tag  string
		want int
	}{{"html", 0}, {"head", 20}, {"meta", 20}, {"link", 30}, {"/title", 30}, {"base", 50}} {
		readTag(tok, tt.tag)
		require.Equal(t, More, h.tag(tok, 10*k, 10*k+10))
		assert.Equal(t, tt.want, h.lastSafe, "after %s", tt.tag)
	}
}

// TestHeadPolicyAttributes: a <base> with an href is the insertion point;
// a <meta> with an http-equiv is recorded. What the hooks noted is
// forgotten after each tag.
func TestHeadPolicyAttributes(t *testing.T) {
	h, tok := inHead()
	readTag(tok, "head")
	require.Equal(t, More, h.tag(tok, 0, 6))
	readTag(tok, "meta")
	h.equiv = true
	require.Equal(t, More, h.tag(tok, 6, 20))
	require.Equal(t, More, h.tag(tok, 20, 30), "a second <meta>")
	assert.Equal(t, []int{6}, h.metas[:h.nMetas])
	readTag(tok, "base")
	require.Equal(t, More, h.tag(tok, 30, 40), "a <base> without href")
	h.baseHref = true
	require.Equal(t, Insert, h.tag(tok, 40, 50))
	assert.Equal(t, 40, h.insertAt)

	// In XML, a <base> with an href before the head opens is not the
	// insertion point, and its href is forgotten too.
	h, tok = inHead()
	h.xml, tok.xml = true, true
	readTag(tok, "base")
	h.baseHref = true
	require.Equal(t, More, h.tag(tok, 0, 10))
	readTag(tok, "head")
	require.Equal(t, More, h.tag(tok, 10, 20))
	readTag(tok, "base")
	require.Equal(t, More, h.tag(tok, 20, 30), "a <base> without href")
}

// TestHeadPolicyProlog: before the first tag only whitespace, comments
// and a doctype keep the page a document; the first tag must be <html>
// or <head>.
func TestHeadPolicyProlog(t *testing.T) {
	for _, k := range []markupKind{comment, cdataSection, processingInstruction} {
		h, tok := new(headPolicy), new(tokenizer)
		h.reset(tok)
		assert.Equal(t, More, h.markup(tok, k), "kind %d", k)
		assert.True(t, tok.announce, "kind %d", k)
	}
	for _, k := range []markupKind{bogusComment, endTagOpen} {
		h, tok := new(headPolicy), new(tokenizer)
		h.reset(tok)
		assert.Equal(t, GiveUp, h.markup(tok, k), "kind %d", k)
	}
	h, tok := new(headPolicy), new(tokenizer)
	h.reset(tok)
	assert.Equal(t, GiveUp, h.text(3, 'x'), "text before the first tag")
	require.Equal(t, More, h.markup(tok, doctype))
	assert.False(t, tok.announce, "a doctype starts the document")
	assert.Equal(t, Insert, h.text(3, 'x'))

	for tag, want := range map[string]bool{"html": true, "head": true, "div": false, "/html": false} {
		h, tok := new(headPolicy), new(tokenizer)
		h.reset(tok)
		readTag(tok, tag)
		assert.Equal(t, want, h.documentStart(tok), tag)
		assert.Equal(t, !want, tok.announce, tag)
	}
}

// TestHeadPolicyText: text other than whitespace leaves the head; a
// character reference before the head opens may be whitespace the parser
// drops, so the page is left alone.
func TestHeadPolicyText(t *testing.T) {
	h, tok := inHead()
	assert.Equal(t, GiveUp, h.text(7, '&'))
	assert.Equal(t, Insert, h.text(7, 'x'))
	assert.Equal(t, 7, h.insertAt)
	readTag(tok, "head")
	require.Equal(t, More, h.tag(tok, 0, 6))
	assert.Equal(t, Insert, h.text(9, '&'))
	assert.Equal(t, 9, h.insertAt)
}
