package conformance

import (
	"slices"
	"testing"

	"github.com/pfverify/productfruits/internal/htmlscan"
)

const loader = "https://cdn.example.com/pf.js"

// marker stands for the snippet: two script elements with the marker.
const marker = `<script data-productfruits>m()</script><script async src="` + loader + `" data-productfruits></script>`

// FuzzInsertionMatchesTreeBuilder feeds the scanner any document, whole
// and in pieces of 1 to 8 bytes, and requires the same decision every
// time; where it inserts, golang.org/x/net/html's tree builder must build
// exactly the original tree plus the two script elements as contiguous
// children of <head>.
func FuzzInsertionMatchesTreeBuilder(f *testing.F) {
	for _, s := range []string{
		"<!DOCTYPE html><html><head><title>t</title></head><body></body></html>",
		"<html><head><script><!--<script></script></head>--></script></head>",
		"<html><head><style></head></style><!-- </head> --!></head>",
		"\ufeff<!-- c --><head><template></head></template><body>",
		"<html><head><textarea></head></textarea><meta b='</head>' c=\"<body>\" d=e></head>",
		"<html><head><?x </head>><!x </head>></ x></head>",
		"<!doctype html><title>t</title><p>x",
		"<html><head><meta charset=utf-8><input type=hidden><div>",
		"<html><head>\n  x</head>",
		"<head><svg><![CDATA[</head>]]></svg></head>",
		"<head><frameset></head>",
		"<html><head><noscript><body></noscript><noframes></head></noframes></head>",
		"<!DOCTYPE html><html><head></br>",
		"<html><head><template><template></template></head></template><my-widget>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		at := -1
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
			k := -1
			if got == htmlscan.Insert {
				k = s.InsertAt()
			}
			if size == 0 {
				at = k
			} else if k != at {
				t.Fatalf("pieces of %d: insertion at %d, whole: at %d\n%q", size, k, at, doc)
			}
		}
		if at < 0 {
			return
		}
		out := slices.Concat(doc[:at], []byte(marker), doc[at:])
		if err := checkTree(doc, out, 2); err != nil {
			t.Fatalf("insertion at %d: %v\n%q", at, err, doc)
		}
	})
}
