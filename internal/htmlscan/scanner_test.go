package htmlscan

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testLoader = "https://cdn.example.com/pf.js?a=1&b=2"

// testLoaderAttr is testLoader as an HTML attribute carries it.
const testLoaderAttr = "https://cdn.example.com/pf.js?a=1&amp;b=2"

// scanTests: in html, "^" marks the expected insertion point; without it
// the page is given up (want GiveUp) or still undecided at its end (More).
var scanTests = []struct {
	desc string
	html string
	want Result
}{
	// Where the snippet goes.
	{"before </head>", "<html><head><title>t</title>^</head><body></body></html>", Insert},
	{"upper-case end tag", "<HTML><HEAD>^</HEAD>", Insert},
	{"end tag with space and slash", "<head>^</head \n/>", Insert},
	{"end tag with attributes", "<head>^</head a='>'>", Insert},
	{"body without </head>", "<html><head><meta charset=utf-8>^<body class=x>", Insert},
	{"self-closing body", "<html>^<body/>", Insert},
	{"first of </head> and <body>", "<html><head>^</head><body></head>", Insert},
	{"doctype first", "<!DOCTYPE html>\n<html><head>^</head>", Insert},
	{"doctype ends at its first '>'", "<!doctype html PUBLIC \"a>^b\"><head></head>", Insert},
	{"comments in the prolog", "<!-- a --><!----><!---><head>^</head>", Insert},
	{"leading whitespace and BOM", "\xef\xbb\xbf \n\t<html><head>^</head>", Insert},
	{"head first", "<head>^</head>", Insert},

	// Look-alikes that are not the insertion point.
	{"end tags the head ignores", "<html><head></headx></bodyx></hea></header></div></p></template>^</head>", Insert},
	{"start tags the head keeps", "<html><head><head><html lang=x><base target=_top><basefont><bgsound><link rel=a><meta charset=utf-8>^</head>", Insert},
	{"before a <base href>", "<html><head><meta charset=utf-8>^<base href=https://cdn.example.com/><link rel=a></head>", Insert},
	{"before a <base> with href in any case", "<html><head>^<BASE target=_top HREF='/x/'></head>", Insert},
	{"a <base href> that opens the head", "<html>^<base href=/x/><head></head>", Insert},
	{"href of another tag, hreflang of base", "<html><head><link href=/x><base target=x hreflang=y data-href=z>^</head>", Insert},
	{"a longer name leaves the head", "<html><head>^<header></header></head>", Insert},
	{"</head> in a comment", "<html><head><!-- </head> <body> -->^</head>", Insert},
	{"comment ended by --!>", "<html><head><!-- </head> --!>^</head>", Insert},
	{"comment with dashes", "<html><head><!-- a -- b --- </head> ---->^</head>", Insert},
	{"comment with bang not at end", "<html><head><!-- --!x </head> -->^</head>", Insert},
	{"comment with nested <!--", "<html><head><!-- <!-- </head> -->^</head>", Insert},
	{"abrupt empty comments", "<html><head><!--><!--->^</head>", Insert},
	{"bogus comment <!x>", "<html><head><!x </head>^</head>", Insert},
	{"bogus comment <?", "<html><head><?php echo '</head' ?>^</head>", Insert},
	{"bogus comment </ space", "<html><head></ x>^</head>", Insert},
	{"empty end tag", "<html><head></>^</head>", Insert},
	{"<!- is bogus", "<html><head><!-x>^</head>", Insert},
	{"CDATA outside foreign content is bogus", "<html><head><![CDATA[</head>^]]></head>", Insert},
	{"text leaves the head", "<html><head>\n  ^a < b</head>", Insert},
	{"'<' as text leaves the head", "<html><head> ^< b</head>", Insert},
	{"a character reference is text", "<html><head>^&nbsp;</head>", Insert},
	{"a character reference before the head opens", "<html>&#0009;<head></head>", GiveUp},
	{"a character reference after an implicit head", "<html><title>t</title>^&#9;</head>", Insert},
	{"NUL is text", "<html><head>^\x00</head>", Insert},
	{"double-quoted attribute", "<html><head><meta content=\"</head><body>\">^</head>", Insert},
	{"single-quoted attribute", "<html><head><meta content='</head><body>'>^</head>", Insert},
	{"unquoted attribute", "<html><head><meta content=a</head>^</head>", Insert},
	{"attribute without value", "<html><head><meta b c = d e=>^</head>", Insert},
	{"attribute names with quotes", "<html><head><meta \"=x '=y \"z>^</head>", Insert},
	{"title is RCDATA", "<html><head><title></head><body></title>^</head>", Insert},
	{"in a template, textarea is RCDATA", "<html><head><template><textarea></template></textarea></template>^</head>", Insert},
	{"style is RAWTEXT", "<html><head><style>a{} </head> <!-- </style>^</head>", Insert},
	{"noframes and noscript are RAWTEXT", "<html><head><noframes></head></noframes><noscript></head><body></noscript>^</head>", Insert},
	{"in a template, xmp, iframe, noembed are RAWTEXT", "<html><head><template><xmp></template></xmp><iframe></template></iframe><noembed></template></noembed></template>^</head>", Insert},
	{"template contents take anything", "<html><head><template></head><body><div>text</div><p></template>^</head>", Insert},
	{"raw text end tag look-alikes", "<html><head><style></styles></styl </style/>^</head>", Insert},
	{"raw text end tag in upper case", "<html><head><STYLE></head></StYlE>^</head>", Insert},
	{"script text", "<html><head><script>if (a </head> b) {}</script>^</head>", Insert},
	{"script end tag look-alikes", "<html><head><script></scripts></scrip> </script >^</head>", Insert},
	{"script escaped", "<html><head><script><!-- </head> --></script>^</head>", Insert},
	{"script double escaped", "<html><head><script><!--<script></script></head>--></script>^</head>", Insert},
	{"script double escape ended by </script>", "<html><head><script><!--<script></script></script>^</head>", Insert},
	{"script escape ended by -->", "<html><head><script><!-- x --> </script>^</head>", Insert},
	{"script <!-- not escaped after <!-", "<html><head><script><!-x</script>^</head>", Insert},
	{"script <scripty> does not double escape", "<html><head><script><!--<scripty></script>^</head>", Insert},
	{"template contents are inert", "<html><head><template></head><body></template>^</head>", Insert},
	{"nested templates", "<html><head><template><template></template></head></template>^</head>", Insert},
	{"stray </template>", "<html><head></template>^</head>", Insert},
	{"script in a template is inert", "<html><head><template><script>$productFruits</script></template>^</head>", Insert},
	{"another src", "<html><head><script src=\"https://cdn.example.com/pf.js\"></script>^</head>", Insert},
	{"src of another element", "<html><head><link src=\"" + testLoader + "\">^</head>", Insert},
	{"marker on another element", "<html><head><meta data-productfruits>^</head>", Insert},
	{"marker-like attribute", "<html><head><script data-productfruitsx></script>^</head>", Insert},
	{"$ in a script", "<html><head><script>$ $$ $productFruit $product_Fruits</script>^</head>", Insert},

	// Heads closed implicitly, as minifiers leave them.
	{"minified page", "<!doctype html><title>t</title>^<p>x", Insert},
	{"hidden input", "<html><head><meta charset=utf-8>^<input type=hidden name=a>", Insert},
	{"div", "<html><head>^<div>", Insert},
	{"tracking img", "<html><head><title>t</title>^<img src=/t.gif></head>", Insert},
	{"iframe", "<html><head>^<iframe src=/x></iframe></head>", Insert},
	{"custom element", "<html><head>^<my-widget></my-widget></head>", Insert},
	{"svg", "<html><head>^<svg></head>", Insert},
	{"math", "<html><head>^<math></head>", Insert},
	{"frameset", "<html><head>^<frameset></head>", Insert},
	{"textarea", "<html><head>^<textarea></head></textarea>", Insert},
	{"plaintext", "<html><head>^<plaintext></head>", Insert},
	{"</body>", "<html><head>^</body>", Insert},
	{"</html>", "<html><head>^</html>", Insert},
	{"</br>", "<html><head>^</br>", Insert},
	{"no head tag", "<html>^<body>", Insert},

	// Pages left alone.
	{"fragment", "<div>hello</div></head>", GiveUp},
	{"text first", "hello <html><head></head>", GiveUp},
	{"end tag first", "</head><html>", GiveUp},
	{"processing instruction first", "<?xml version=\"1.0\"?><html><head></head>", GiveUp},
	{"bogus comment first", "<!x><html><head></head>", GiveUp},
	{"BOM not first", " \xef\xbb\xbf<html><head></head>", GiveUp},
	{"marker attribute", "<html><head><script data-productfruits>x</script></head>", GiveUp},
	{"marker attribute in upper case", "<html><head><SCRIPT DATA-PRODUCTFRUITS=1></SCRIPT></head>", GiveUp},
	{"loader src", "<html><head><script async src=\"" + testLoader + "\"></script></head>", GiveUp},
	{"loader src escaped, with spaces", "<html><head><script src=' " + testLoaderAttr + "\n'></script></head>", GiveUp},
	{"loader src unquoted", "<html><head><script src=" + testLoaderAttr + "></script></head>", GiveUp},
	{"loader global in a script", "<html><head><script>window.$productFruits=[]</script></head>", GiveUp},
	{"loader global in an escaped script", "<html><head><script><!-- $productFruits --></script></head>", GiveUp},
	{"loader global after dollars", "<html><head><script>$$$pro$$productFruits.push(1)</script></head>", GiveUp},
	{"near misses of the loader global", "<html><head><script>$productFruit $productfruits $$productFruit productFruits</script>^</head>", Insert},
	{"loader global at the start of a script", "<html><head><script>$productFruits</script></head>", GiveUp},
	{"loader global after Fs", "<html><head><script>F FFruits $FFF$productFruits</script></head>", GiveUp},
	{"loader global after many near misses", "<html><head><script>" + strings.Repeat("$productFruit F", 40) + "$productFruits</script></head>", GiveUp},
	{"loader global split across two scripts", "<html><head><script>$product</script><script>Fruits</script>^</head>", Insert},
	{"loader global split across a template's script and the next", "<html><head><template><script>$product</script></template><script>Fruits</script>^</head>", Insert},
	{"a script after a template's runs", "<html><head><template><script></script></template><script>$productFruits</script></head>", GiveUp},
	{"marker attribute in a template", "<html><head><template><script data-productfruits></script></template>^</head>", Insert},
	{"marker attribute on an end tag", "<html><head><script></script data-productfruits>^</head>", Insert},
	{"many near misses of the loader global", "<html><head><script>" + strings.Repeat("$productFruit F", 40) + "</script>^</head>", Insert},
	{"plaintext in a template", "<html><head><template><plaintext></head>", GiveUp},
	{"svg in a template", "<html><head><template><svg><![CDATA[ > </template> ]]></svg></template></head>", GiveUp},
	{"math in a template", "<html><head><template><math></template></head>", GiveUp},

	// Undecided at the end of the input.
	{"no </head> nor <body>", "<html><head><title>x</title>", More},
	{"unfinished end tag", "<html><head></head", More},
	{"unclosed comment", "<html><head><!-- </head>", More},
	{"unclosed script", "<html><head><script></head>", More},
	{"empty", "", More},
}

// xmlScanTests are read with SetXML, as application/xhtml+xml pages.
var xmlScanTests = []struct {
	desc string
	html string
	want Result
}{
	{"XML: before a <base href> in the head", "<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>t</title>^<base href=\"/x/\"/></head>", Insert},
	{"XML: a <base> without href", "<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><base target=\"_top\"/>^</head>", Insert},
	{"XML declaration and doctype", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>t</title>^</head>", Insert},
	{"text and other elements stay in the head", "<html><head>text<div/><p>x</p>^</head>", Insert},
	{"CDATA section", "<html><head><script><![CDATA[ if (a < b && c) \"</head>\" ]] ]]></script>^</head>", Insert},
	{"<!--> does not end a comment", "<html><head><!--> </head> -->^</head>", Insert},
	{"--!> does not end a comment", "<html><head><!-- --!> </head> -->^</head>", Insert},
	{"processing instruction with '>'", "<html><head><?pi a>b </head> ?>^</head>", Insert},
	{"script and style are not raw text", "<html><head><script>a</script><style><![CDATA[</head>]]></style>^</head>", Insert},
	{"self-closing template", "<html><head><template/>^</head>", Insert},
	{"template contents", "<html><head><template><p></p></template>^</head>", Insert},
	{"doctype with an internal subset", "<!DOCTYPE html [ <!ENTITY x \"</head>\"> ]><html><head></head>", GiveUp},
	{"marker attribute", "<html><head><script data-productfruits=\"\"/></head>", GiveUp},
	{"empty head", "<html><head/><body></body></html>", More},
}

// scanPieces scans page in the given pieces and returns the result, the
// insertion point, and the largest Flushable seen before the decision.
func scanPieces(pieces [][]byte, xml bool) (Result, int, int) {
	var s Scanner
	s.Reset(testLoader, testLoaderAttr)
	if xml {
		s.SetXML()
	}
	flushed := 0
	for _, p := range pieces {
		if r := s.Scan(p); r != More {
			return r, s.InsertAt(), flushed
		}
		flushed = max(flushed, s.Flushable())
	}
	return More, -1, flushed
}

func TestScan(t *testing.T) {
	for _, tt := range scanTests {
		t.Run(tt.desc, func(t *testing.T) { checkScan(t, tt.html, tt.want, false) })
	}
}

func TestScanXML(t *testing.T) {
	for _, tt := range xmlScanTests {
		t.Run(tt.desc, func(t *testing.T) { checkScan(t, tt.html, tt.want, true) })
	}
}

// checkScan scans html ("^" marking the insertion point) whole, at every
// two-piece split and byte by byte.
func checkScan(t *testing.T, html string, want Result, xml bool) {
	t.Helper()
	page := []byte(strings.Replace(html, "^", "", 1))
	at := strings.Index(html, "^")
	require.Equal(t, want == Insert, at >= 0, "test case: ^ marks exactly the Insert cases")
	check := func(how string, pieces [][]byte) {
		t.Helper()
		r, got, flushed := scanPieces(pieces, xml)
		require.Equal(t, want, r, how)
		if r == Insert {
			require.Equal(t, at, got, how)
			require.LessOrEqual(t, flushed, got, "%s: Flushable let bytes past the insertion point go", how)
		}
	}
	check("one piece", [][]byte{page})
	for k := 0; k <= len(page); k++ {
		check(fmt.Sprintf("split at %d", k), [][]byte{page[:k], page[k:]})
	}
	var bytewise [][]byte
	for k := range page {
		bytewise = append(bytewise, page[k:k+1])
	}
	check("byte by byte", bytewise)
}

func TestScanOffsets(t *testing.T) {
	var s Scanner
	s.Reset(testLoader, testLoaderAttr)
	assert.Equal(t, More, s.Scan([]byte("<html><head><title>x</title><meta a")))
	assert.Equal(t, 35, s.Offset())
	assert.Equal(t, 28, s.Flushable(), "the unfinished <meta> tag is held back")
	assert.Equal(t, More, s.Scan([]byte("='b'>\n  ")))
	assert.Equal(t, s.Offset(), s.Flushable(), "no tag open: everything may go")
	assert.Equal(t, Insert, s.Scan([]byte("</head>")))
	assert.Equal(t, 43, s.InsertAt())

	s.Reset(testLoader, testLoaderAttr)
	assert.Equal(t, 0, s.Offset(), "Reset starts a new page")
	assert.Equal(t, Insert, s.Scan([]byte("<head></head>")))
	assert.Equal(t, 6, s.InsertAt())
}

// TestScanLastSafe: the last point known to be in the head is right
// after <head> or right before a later element the head keeps, never
// inside a raw text or script element, never before the head opened.
func TestScanLastSafe(t *testing.T) {
	for _, tt := range []struct{ desc, page string }{
		{"none before the head opens", "<!doctype html><html lang=en>"},
		{"right after <head>", "<html><head>^"},
		{"before the last kept element", "<html><head><meta charset=utf-8><title>x</title>^<script>var a = '<meta>';"},
		{"a start tag inside a script is text", "<html><head><link rel=a>^<script>'<link rel=b>'"},
		{"implicit head", "<html><meta charset=utf-8>^<style>a{}"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			want := max(strings.Index(tt.page, "^"), 0)
			page := []byte(strings.Replace(tt.page, "^", "", 1))
			for k := 0; k <= len(page); k++ {
				var s Scanner
				s.Reset(testLoader, testLoaderAttr)
				require.Equal(t, More, s.Scan(page[:k]))
				require.Equal(t, More, s.Scan(page[k:]))
				require.Equal(t, want, s.LastSafe(), "split at %d", k)
			}
		})
	}
}

// TestScanMetas: the <meta http-equiv> tags of the head are recorded, at
// their '<', and no other.
func TestScanMetas(t *testing.T) {
	page := "<html><head><meta charset=utf-8><META HTTP-EQUIV=content-security-policy content=\"script-src 'nonce-a'\">" +
		"<script>'<meta http-equiv=x>'</script><template><meta http-equiv=y></template><meta name=x http-equiv=refresh>"
	want := []int{strings.Index(page, "<META"), strings.LastIndex(page, "<meta name")}
	for k := 0; k <= len(page); k++ {
		var s Scanner
		s.Reset(testLoader, testLoaderAttr)
		s.Scan([]byte(page[:k]))
		s.Scan([]byte(page[k:]))
		require.Equal(t, want, s.Metas(), "split at %d", k)
	}
}

func TestScanLinearInDollars(t *testing.T) {
	// Every '$' is compared once: a script full of them scans like any
	// other, and a match split across pieces is still found.
	page := []byte("<html><head><script>" + strings.Repeat("$p", 5000) + "$product")
	var s Scanner
	s.Reset(testLoader, testLoaderAttr)
	require.Equal(t, More, s.Scan(page))
	assert.Equal(t, GiveUp, s.Scan([]byte("Fruits")))
}

// benchHeads are heads shaped like real ones: tag-dense, and a large
// inline style.
var benchHeads = map[string][]byte{
	"tags-1KiB": []byte(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">` +
		strings.Repeat(`<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/static/app.css?v=123">`, 8) +
		`<title>Dashboard</title><script src="/static/app.js" defer></script></head>`),
	"css-30KiB": []byte(`<!DOCTYPE html><html><head><style>` +
		strings.Repeat(`.btn-primary{color:#fff;background-color:#0d6efd;border-color:#0d6efd}`, 30<<10/72) +
		`</style></head>`),
}

func init() {
	// The same head closed implicitly, as minifiers leave it: the first
	// <div> of the body ends it.
	benchHeads["tags-1KiB-implicit"] = bytes.Replace(benchHeads["tags-1KiB"], []byte("</head>"), []byte("<div>"), 1)
}

func BenchmarkScan(b *testing.B) {
	for _, name := range []string{"tags-1KiB", "tags-1KiB-implicit", "css-30KiB"} {
		head := benchHeads[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(head)))
			var s Scanner
			for b.Loop() {
				s.Reset(testLoader, testLoaderAttr)
				if s.Scan(head) != Insert {
					b.Fatal("no insertion point")
				}
			}
		})
		if strings.HasSuffix(name, "-implicit") {
			continue
		}
		b.Run(name+"/bytes.Index", func(b *testing.B) {
			// The floor: finding "</head>" without reading the page.
			b.ReportAllocs()
			b.SetBytes(int64(len(head)))
			for b.Loop() {
				if !bytes.Contains(head, []byte("</head>")) {
					b.Fatal("no </head>")
				}
			}
		})
		if name != "tags-1KiB" {
			continue
		}
		b.Run(name+"/quote-hop", func(b *testing.B) {
			// Less than any scanner that honours quoted attribute values
			// can do: see quoteHop.
			b.ReportAllocs()
			b.SetBytes(int64(len(head)))
			for b.Loop() {
				if quoteHop(head) == 0 {
					b.Fatal("no tags")
				}
			}
		})
	}
}

func TestQuoteHop(t *testing.T) {
	head := benchHeads["tags-1KiB"]
	assert.Equal(t, bytes.Count(head, []byte("<")), quoteHop(head), "every tag, none inside a value")
	assert.Equal(t, 2, quoteHop([]byte(`<a href="x>y"><b>`)), "a '>' in a value does not end the tag")
	assert.Equal(t, 0, quoteHop([]byte(`<a href="x>`)))
}

// quoteHopStop are the bytes quoteHop stops at inside a tag.
var quoteHopStop = [256]bool{'"': true, '>': true}

// quoteHop counts the tags of head the cheapest way we found that still
// sees where each ends: bytes.IndexByte to the next '<', then one table
// look-up per byte to the '>' that ends the tag, with double-quoted
// values skipped by bytes.IndexByte. It reads no names, no single
// quotes, no states, and gets comments, raw text and scripts wrong, so
// it is not a scanner: it is a floor under what one costs, measured
// beside it. (Three branches per byte instead of the table,
// bytes.IndexByte for every stop, and eight bytes at a time by word
// arithmetic were each slower.)
func quoteHop(head []byte) int {
	n := 0
	for i := 0; i < len(head); i++ {
		j := bytes.IndexByte(head[i:], '<')
		if j < 0 {
			break
		}
		for i += j + 1; i < len(head); {
			if !quoteHopStop[head[i]] {
				i++
				continue
			}
			if head[i] == '>' {
				break
			}
			k := bytes.IndexByte(head[i+1:], '"')
			if k < 0 {
				return n
			}
			i += k + 2
		}
		n++
	}
	return n
}

// stateFamilies are pages that keep the scanner in one family of states
// for 64 KiB: each repeats a pattern between a prefix that enters the
// state and a suffix that leaves it and ends the head.
//
// The first pattern of each is its baseline, "plain": what the state
// ordinarily holds (script without '<', '$' or '-', CSS without '<',
// comment text without '-', a tag's ordinary attributes, ...). Most
// states read plain content with one bytes.IndexByte call for the byte
// that may end it, tens of GB/s; the tag states, escaped script data and
// the head itself read every byte. The other patterns are the bytes that
// make the state change or look as if they might, as thick as they come:
// each of those must be looked at, so where plain is an IndexByte skip
// they cannot come near its speed. What they must not do is cost more
// than a few times the slowest plain content, the scanner reading every
// byte: go -C bench run ./scantable prints both ratios.
var stateFamilies = []struct {
	state          string
	prefix, suffix string
	xml            bool
	patterns       []string // "plain" first
}{
	{"data-in-template", "<html><head><template>", "</template></head>", false,
		[]string{"plain text in a template, not markup ", "<", "< ", "<!x>", "</ x>", "&", "<p>", "</p>"}},
	{"head", "<!DOCTYPE html><html><head>", "</head>", false,
		[]string{`<meta name="viewport" content="width=device-width">` + "\n", "<meta>", "\n", "</x>", "<!---->", "<!-x>", "<?x>", "<!DOCTYPE>", "</>"}},
	{"tag-name", "<html><head><meta", "></head>", false,
		[]string{"metametameta", "M", "-", "\x00", "'", "\""}},
	{"attributes", "<html><head><meta ", "></head>", false,
		[]string{` name="value"`, " ", "/", "a", "=", `"`, "'", `""`, `a=""`, `a=''`, "a=b ", "a ", "a=", "<"}},
	{"attribute-value", "<html><head><meta content=\"", "\"></head>", false,
		[]string{"plain attribute value ", "'", ">", "<", "&", "=", "</head>"}},
	{"attribute-value-unquoted", "<html><head><meta content=", "></head>", false,
		[]string{"plainvalue", `"`, "'", "=", "<", "`"}},
	{"script-src", "<html><head><script src=\"", "\"></script></head>", false,
		[]string{"https://cdn.example.com/other/script.js?v=1 ", "h", "https://cdn.example.com/pf.js?a=1&b="}},
	{"script", "<!DOCTYPE html><html><head><script>", "</script></head>", false,
		[]string{"var a = b + c; function f(x) { return x * 2; }\n", "var a = $(b).on(c, function (x) { return x * 2; }); $.ajax(u);\n", "$", "$F", "$productFruit ", "<", "</", "</scrip", "</scriptx", "<!", "<!-", "-", "/", "<script>", "-->"}},
	{"script-escaped", "<!DOCTYPE html><html><head><script><!--", "--></script></head>", false,
		[]string{"var a = b + c; function f(x) { return x * 2; }\n", "-", "-x", "--x", "<", "</", "</scrip", "<!--", "<x", "$"}},
	{"script-double-escaped", "<!DOCTYPE html><html><head><script><!--<script>", "</script>--></script></head>", false,
		[]string{"var a = b + c; function f(x) { return x * 2; }\n", "-", "-x", "--x", "<", "</", "</scrip", "<script>", "<!--"}},
	{"rawtext", "<!DOCTYPE html><html><head><style>", "</style></head>", false,
		[]string{".btn{color:#fff;margin:0 auto}\n", "<", "</", "</styl", "</stylex", "<!--", "-->"}},
	{"rcdata", "<!DOCTYPE html><html><head><title>", "</title></head>", false,
		[]string{"A plain page title ", "<", "</", "</titl", "&amp;"}},
	{"comment", "<!DOCTYPE html><html><head><!--", "--></head>", false,
		[]string{"a comment without dashes ", "-", "-x", "--x", "--!x", "<!--", "<!-", "a>"}},
	{"bogus-comment", "<!DOCTYPE html><html><head><!x", "></head>", false,
		[]string{"a bogus comment ", "-", "<", "!"}},
	{"doctype", "<!DOCTYPE html", "><html><head></head>", false,
		[]string{` PUBLIC "-//W3C//DTD XHTML 1.0//EN"`, `"`, "'", "<", "["}},
	{"xml-data", `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head>`, "</head>", true,
		[]string{"text that XML keeps in the head ", "<", "&", "<p/>", "</p>"}},
	{"cdata", `<html xmlns="http://www.w3.org/1999/xhtml"><head><script><![CDATA[`, "]]></script></head>", true,
		[]string{"var a = b + c; function f(x) { return x * 2; }\n", "]", "]x", "]]x", ">", "<"}},
	{"processing-instruction", `<html xmlns="http://www.w3.org/1999/xhtml"><head><?pi `, "?></head>", true,
		[]string{"a processing instruction ", "?", "?x", ">", "<"}},
	{"xml-comment", `<html xmlns="http://www.w3.org/1999/xhtml"><head><!--`, "--></head>", true,
		[]string{"a comment without dashes ", "-", "-x", "--!>x", "<!-->"}},
}

// statePage is a family's page for one pattern: prefix, the pattern
// repeated to at most size bytes, suffix.
func statePage(prefix, pattern, suffix string, size int) []byte {
	return []byte(prefix + strings.Repeat(pattern, size/len(pattern)) + suffix)
}

// BenchmarkScanStates scans 64 KiB in each state per pattern.
func BenchmarkScanStates(b *testing.B) {
	for _, f := range stateFamilies {
		for k, pattern := range f.patterns {
			name := "plain"
			if k > 0 {
				name = fmt.Sprintf("%q", pattern)
			}
			page := statePage(f.prefix, pattern, f.suffix, 64<<10)
			b.Run(f.state+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(page)))
				var s Scanner
				for b.Loop() {
					s.Reset(testLoader, testLoaderAttr)
					if f.xml {
						s.SetXML()
					}
					if s.Scan(page) != Insert {
						b.Fatal("no insertion point")
					}
				}
			})
		}
	}
}

// BenchmarkScanStatesFloor is a floor under the "script" family's "<"
// row: the standard library's vectorised search for "</", the two bytes
// a '<' in script data needs to be looked at for, over the same page. It
// reads 32 bytes at a time and decides nothing; go -C bench run ./scantable
// sets it beside the plain script baseline.
func BenchmarkScanStatesFloor(b *testing.B) {
	page := statePage("<!DOCTYPE html><html><head><script>", "<", "</script></head>", 64<<10)
	b.Run(`script/"<"/bytes.Index`, func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if bytes.Index(page, []byte("</")) != len(page)-len("</script></head>") {
				b.Fatal("the page's '<' are not all alike")
			}
		}
	})
}

// TestScanStatePages checks that every page of BenchmarkScanStates is
// undecided until its suffix, whole, in pieces and byte by byte (a shorter
// page), so that the benchmark measures the state it names, and that no
// page allocates.
func TestScanStatePages(t *testing.T) {
	for _, f := range stateFamilies {
		for _, pattern := range f.patterns {
			for _, c := range []struct{ size, piece int }{{64 << 10, 64 << 10}, {64 << 10, 4093}, {256, 1}} {
				page := statePage(f.prefix, pattern, f.suffix, c.size)
				r, _, _ := scanPieces(split(page[:len(page)-len(f.suffix)], c.piece), f.xml)
				assert.Equal(t, More, r, "%s %q before the suffix, in pieces of %d", f.state, pattern, c.piece)
				r, _, _ = scanPieces(split(page, c.piece), f.xml)
				assert.Equal(t, Insert, r, "%s %q in pieces of %d", f.state, pattern, c.piece)
			}
			page := statePage(f.prefix, pattern, f.suffix, 64<<10)
			var s Scanner
			allocs := testing.AllocsPerRun(10, func() {
				s.Reset(testLoader, testLoaderAttr)
				if f.xml {
					s.SetXML()
				}
				s.Scan(page)
			})
			assert.Zero(t, allocs, "%s %q", f.state, pattern)
		}
	}
}

func split(p []byte, size int) [][]byte {
	var pieces [][]byte
	for len(p) > size {
		pieces = append(pieces, p[:size])
		p = p[size:]
	}
	return append(pieces, p)
}
