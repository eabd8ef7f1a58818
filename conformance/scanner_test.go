package conformance

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/pfverify/productfruits/internal/htmlscan"
)

const loader = "https://cdn.example.com/pf.js"

// tokenizerDecision is what htmlscan.Scanner must decide for doc, worked
// out from golang.org/x/net/html's tokenizer: the first </head> or <body>
// outside <template> is the insertion point, unless the document does not
// start with <html>, <head> or a doctype (after whitespace, comments and a
// BOM), or already holds the snippet (a script with the marker attribute
// or the loader's src, a live script mentioning $productFruits), or a
// <plaintext> comes first.
func tokenizerDecision(doc []byte) (htmlscan.Result, int) {
	z := html.NewTokenizer(bytes.NewReader(doc))
	off, depth := 0, 0
	prolog, inLiveScript := true, false
	for {
		tt := z.Next()
		raw := z.Raw()
		at := off
		off += len(raw)
		if tt == html.ErrorToken {
			return htmlscan.More, -1
		}
		tok := z.Token()
		if prolog {
			switch tt {
			case html.TextToken:
				text := raw
				if at == 0 {
					text = bytes.TrimPrefix(text, []byte("\ufeff"))
				}
				if len(bytes.Trim(text, " \t\n\f\r")) > 0 {
					return htmlscan.GiveUp, -1
				}
				continue
			case html.CommentToken:
				if !bytes.HasPrefix(raw, []byte("<!--")) {
					return htmlscan.GiveUp, -1 // a bogus comment: <?xml ...?>, <!x>
				}
				continue
			case html.DoctypeToken:
				prolog = false
				continue
			case html.StartTagToken, html.SelfClosingTagToken:
				if tok.Data != "html" && tok.Data != "head" {
					return htmlscan.GiveUp, -1
				}
				prolog = false
			default:
				return htmlscan.GiveUp, -1
			}
		}
		if inLiveScript && tt == html.TextToken && strings.Contains(string(raw), "$productFruits") {
			return htmlscan.GiveUp, -1
		}
		inLiveScript = false
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			switch tok.Data {
			case "body":
				if depth == 0 {
					return htmlscan.Insert, at
				}
			case "template":
				depth++
			case "plaintext":
				return htmlscan.GiveUp, -1
			case "script":
				if depth > 0 {
					break
				}
				for _, a := range tok.Attr {
					if a.Key == htmlscan.MarkerAttr || a.Key == "src" && strings.Trim(a.Val, " \t\n\f\r") == loader {
						return htmlscan.GiveUp, -1
					}
				}
				inLiveScript = true
			}
		case html.EndTagToken:
			switch tok.Data {
			case "head":
				if depth == 0 {
					return htmlscan.Insert, at
				}
			case "template":
				if depth > 0 {
					depth--
				}
			}
		}
	}
}

// FuzzScannerMatchesTokenizer checks the scanner's insertion point (or
// that there is none) against x/net/html's tokenizer on any document, fed whole and in
// pieces of every size from 1 to 8 bytes.
func FuzzScannerMatchesTokenizer(f *testing.F) {
	for _, s := range []string{
		"<!DOCTYPE html><html><head><title>t</title></head><body></body></html>",
		"<html><head><script><!--<script></script></head>--></script></head>",
		"<html><head><style></head></style><!-- </head> --!></head>",
		"\ufeff<!-- c --><head><template></head></template><body>",
		"<html><head><script src=\"" + loader + "\"></script></head>",
		"<html><head><script data-productfruits></script></head>",
		"<html><head><script>$productFruits</script></head>",
		"<html><head><textarea></head></textarea><a b='</head>' c=\"<body>\" d=e></head>",
		"<html><head><?x </head>><!x </head>></ x></head>",
		"<HTML><HEAD></HEAD>",
		"<head><plaintext></head>",
		"<html><head><noscript></head></noscript><iframe></head></iframe></head>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		_, wantAt := tokenizerDecision(doc)
		for size := 0; size <= 8; size++ {
			var s htmlscan.Scanner
			s.Reset(loader, loader)
			got := htmlscan.More
			if size == 0 {
				got = s.Scan(doc)
			} else {
				for i := 0; i < len(doc) && got == htmlscan.More; i += size {
					got = s.Scan(doc[i:min(i+size, len(doc))])
				}
			}
			// At the end of the page, undecided and given up are the
			// same: the page goes out untouched.
			gotAt := -1
			if got == htmlscan.Insert {
				gotAt = s.InsertAt()
			}
			if gotAt != wantAt {
				t.Fatalf("pieces of %d: scanner inserts at %d, tokenizer at %d (-1: nowhere)\n%q", size, gotAt, wantAt, doc)
			}
		}
	})
}
