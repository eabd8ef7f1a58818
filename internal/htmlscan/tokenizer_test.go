package htmlscan

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStateFamilies: every state carries the family that runs it.
func TestStateFamilies(t *testing.T) {
	for _, tt := range []struct {
		first, last state
		family      family
	}{
		{dataState, byteOrderMarkState, tagFamily},
		{markupDeclarationOpenState, processingInstructionState, markupFamily},
		{rawTextState, rawTextEndTagNameState, rawTextFamily},
		{scriptDataState, scriptDataDoubleEscapeEndState, scriptFamily},
	} {
		for st := tt.first; st <= tt.last; st++ {
			assert.Equal(t, tt.family, st.family(), "state %d", st)
		}
	}
}

func TestEndTagAt(t *testing.T) {
	for _, tt := range []struct {
		b    string
		want int
	}{
		{"</style>", len("</style")},
		{"</STYLE ", len("</style")},
		{"</style/", len("</style")},
		{"</styles>", 0},
		{"</styl>", -1}, // no longer than "</style": not read further
		{"</x", -1},
		{"</xx style>", 0},
		{"</", -1},
		{"</style", -1}, // the byte after the name is not there yet
	} {
		assert.Equal(t, tt.want, endTagAt([]byte(tt.b), "style"), "%q", tt.b)
	}
}

// TestScriptEndTagAt: the eight bytes compared at once match what
// endTagAt matches, in any case, and nothing else: no byte that differs
// from one of "</script" by 0x20 but a letter's case.
func TestScriptEndTagAt(t *testing.T) {
	for _, tt := range []struct {
		b    string
		want int
	}{
		{"</script>", len("</script")},
		{"</SCRIPT ", len("</script")},
		{"</ScRiPt/", len("</script")},
		{"</scripts>", 0},
		{"</scrip>", -1},
		{"</script", -1},
		{"</", -1},
		{"\x1c/script>", 0},
		{"<\x0fscript>", 0},
		{"</\x13cript>", 0},
		{"</scrip\x14>", 0},
		{"</script!", 0},
	} {
		assert.Equal(t, tt.want, scriptEndTagAt([]byte(tt.b)), "%q", tt.b)
	}
}

// TestTextUntilEndTag: the fast path of raw text and script data stops at
// the end tag, at a '<' that p ends too soon to tell, and in script data
// at "<!--"; every other '<' is text.
func TestTextUntilEndTag(t *testing.T) {
	for _, tt := range []struct {
		text    string
		escapes bool
		at, n   int
	}{
		{"a < b <c </d </style>", false, 13, len("</style")},
		{"a < b", false, 5, 0},
		{"a <", false, 2, 0},
		{"a </sty", false, 2, 0},
		{"a <!-- </style>", false, 7, len("</style")},
		{"a <!-- </script>", true, 2, 0},
		{"a <!x </script>", true, 6, len("</script")},
		{"a <!-", true, 2, 0},
	} {
		var tok tokenizer
		tok.readRawText("style")
		if tt.escapes {
			tok.readScriptData()
		}
		tok.off = 100 + len(tt.text) // Scan counts the piece in first
		at, n := tok.textUntilEndTag([]byte(tt.text), 0)
		assert.Equal(t, tt.at, at, "%q", tt.text)
		assert.Equal(t, tt.n, n, "%q", tt.text)
		if at < len(tt.text) && !strings.HasPrefix(tt.text[at:], "<!") {
			assert.Equal(t, 100+at, tok.endTagAt, "%q: the stream offset of the '<' that may start an end tag", tt.text)
		}
	}
}

// TestTokenizerFeedback: the head policy tells the tokenizer how to read
// what follows a tag.
func TestTokenizerFeedback(t *testing.T) {
	for _, tt := range []struct {
		desc, page string
		xml        bool
		state      state
		rawEnd     string
		text       bool // textMatters
		announce   bool
	}{
		{"before the first tag", " \n", false, dataState, "", true, true},
		{"after a doctype", "<!DOCTYPE html>", false, dataState, "", true, false},
		{"in the head", "<html><head>", false, dataState, "", true, false},
		{"in a style", "<html><head><style>", false, rawTextState, "style", true, false},
		{"in a title", "<html><head><title>", false, rawTextState, "title", true, false},
		{"in a script", "<html><head><script>", false, scriptDataState, "", true, false},
		{"in a template", "<html><head><template>", false, dataState, "", false, false},
		{"a textarea in a template", "<html><head><template><textarea>", false, rawTextState, "textarea", false, false},
		{"after a template", "<html><head><template></template>", false, dataState, "", true, false},
		{"XML", "<html><head>", true, dataState, "", false, false},
		{"XML: no raw text", "<html><head><style>", true, dataState, "", false, false},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			var s Scanner
			s.Reset(testLoader, testLoaderAttr)
			if tt.xml {
				s.SetXML()
			}
			require.Equal(t, More, s.Scan([]byte(tt.page)))
			assert.Equal(t, tt.state, s.tok.state)
			assert.Equal(t, tt.rawEnd, s.tok.rawEnd)
			assert.Equal(t, tt.text, s.tok.textMatters)
			assert.Equal(t, tt.announce, s.tok.announce)
		})
	}
}

// TestTokenizerAttributes: the tokenizer records the names and streams
// the values of only the attributes the hooks ask for.
func TestTokenizerAttributes(t *testing.T) {
	for _, tt := range []struct {
		desc, tag string
		attrOn    bool   // the last attribute name was asked for
		attr      string // and read as
		valueOn   bool
	}{
		{"a <meta>'s name starting with h", "<meta HTTP-EQUIV", true, "http-equiv", false},
		{"a <meta>'s other names", "<meta name", false, "", false},
		{"any name of a script", "<script ASYNC", true, "async", false},
		{"a script's src value", "<script src='https://cdn.example.com/", true, "src", true},
		{"a script's other src value", "<script src='/x", true, "src", false},
		{"a <link>", "<link href", false, "", false},
		{"a script in a template", "<template><script src='https://cdn", false, "", false},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			var s Scanner
			s.Reset(testLoader, testLoaderAttr)
			require.Equal(t, More, s.Scan([]byte("<html><head>"+tt.tag)))
			assert.Equal(t, tt.attrOn, s.tok.attrOn)
			if tt.attrOn {
				assert.Equal(t, tt.attr, string(s.tok.attr[:s.tok.attrLen]))
			}
			assert.Equal(t, tt.valueOn, s.tok.valueOn)
		})
	}
}

// TestHasDashOrLess: the word test of the double escaped text loop finds
// '-' and '<' in every position and nothing else.
func TestHasDashOrLess(t *testing.T) {
	for _, bg := range []byte{'a', 0, 0x80, 0xff, ',', '.', ';', '='} {
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				var b [8]byte
				for k := range b {
					b[k] = bg
				}
				b[pos] = byte(c)
				want := c == '-' || c == '<'
				assert.Equal(t, want, hasDashOrLess(binary.LittleEndian.Uint64(b[:])), "byte %#x at %d among %#x", c, pos, bg)
			}
		}
	}
}
