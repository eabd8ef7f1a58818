package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pfverify/productfruits"
	"golang.org/x/net/html"
)

// isSnippet reports the snippet's elements: the script elements, which
// carry the marker, and the loader's preload, which does not.
func isSnippet(n *html.Node) bool {
	if n.Type != html.ElementNode || (n.Data != "script" && n.Data != "link") {
		return false
	}
	attr := map[string]string{}
	for _, a := range n.Attr {
		attr[a.Key] = a.Val
	}
	return isSnippetElement(n.Data, attr)
}

// isSnippetElement reports whether the element named name with attributes
// attr is one of the snippet's: marked, or the preload of the loader.
func isSnippetElement(name string, attr map[string]string) bool {
	if _, ok := attr["data-productfruits"]; ok {
		return true
	}
	return name == "link" && attr["rel"] == "preload" && attr["as"] == "script" && attr["href"] == productfruits.DefaultScriptURL
}

// dump writes the tree under n in a canonical form, leaving out the nodes
// skip selects and merging the text nodes that then become neighbours, as
// the DOM's normalize() would.
func dump(b *strings.Builder, n *html.Node, depth int, skip func(*html.Node) bool) {
	indent := strings.Repeat("  ", depth)
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			fmt.Fprintf(b, "%s%q\n", indent, text.String())
			text.Reset()
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if skip != nil && skip(c) {
			continue
		}
		switch c.Type {
		case html.TextNode:
			text.WriteString(c.Data)
			continue
		case html.ElementNode:
			flush()
			attrs := make([]string, 0, len(c.Attr))
			for _, a := range c.Attr {
				attrs = append(attrs, fmt.Sprintf("%s:%s=%q", a.Namespace, a.Key, a.Val))
			}
			slices.Sort(attrs)
			fmt.Fprintf(b, "%s<%s %s> %s\n", indent, c.Namespace, c.Data, strings.Join(attrs, " "))
		case html.CommentNode:
			flush()
			fmt.Fprintf(b, "%s<!-- %q -->\n", indent, c.Data)
		case html.DoctypeNode:
			flush()
			fmt.Fprintf(b, "%s<!DOCTYPE %q %v>\n", indent, c.Data, c.Attr)
		default:
			flush()
			fmt.Fprintf(b, "%s? %d %q\n", indent, c.Type, c.Data)
		}
		dump(b, c, depth+1, skip)
	}
	flush()
}

// parseTree parses doc as a browser does: a leading UTF-8 byte order mark
// is taken off by the decoder before the tree builder sees the text
// (x/net/html, which takes bytes, would read it as a character).
func parseTree(doc []byte, skip func(*html.Node) bool) (*html.Node, string, error) {
	doc = bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf"))
	root, err := html.Parse(bytes.NewReader(doc))
	if err != nil {
		return nil, "", err
	}
	var b strings.Builder
	dump(&b, root, 0, skip)
	return root, b.String(), nil
}

// checkTree reports whether out, parsed by golang.org/x/net/html's tree
// builder, is exactly in's tree plus the snippet's script elements
// (want of them) as contiguous children of <head>.
func checkTree(in, out []byte, want int) error {
	_, inTree, err := parseTree(in, nil)
	if err != nil {
		return err
	}
	root, outTree, err := parseTree(out, isSnippet)
	if err != nil {
		return err
	}
	if inTree != outTree {
		return fmt.Errorf("the tree differs beyond the snippet:\n%s", firstDifference(inTree, outTree))
	}
	var found []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if isSnippet(n) {
			found = append(found, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	if len(found) != want {
		return fmt.Errorf("%d snippet elements in the tree, want %d", len(found), want)
	}
	for i, n := range found {
		if n.Parent == nil || n.Parent.Type != html.ElementNode || n.Parent.Data != "head" || n.Parent.Namespace != "" {
			where := "nowhere"
			if n.Parent != nil {
				where = "<" + n.Parent.Data + ">"
			}
			return fmt.Errorf("snippet element %d is a child of %s, not of <head>", i, where)
		}
		if i > 0 && found[i-1].NextSibling != n {
			return errors.New("the snippet's elements are not contiguous")
		}
	}
	return nil
}

func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  original: %.200s\n  injected: %.200s", i+1, x, y)
		}
	}
	return "(no line differs)"
}

// insertionPoint returns k when out is in with snip inserted at k.
func insertionPoint(in, out, snip []byte) (int, bool) {
	if len(out) != len(in)+len(snip) {
		return 0, false
	}
	prefix := 0
	for prefix < len(in) && out[prefix] == in[prefix] {
		prefix++
	}
	suffix := 0
	for suffix < len(in) && out[len(out)-1-suffix] == in[len(in)-1-suffix] {
		suffix++
	}
	for k := max(0, len(in)-suffix); k <= prefix; k++ {
		if bytes.Equal(out[k:k+len(snip)], snip) {
			return k, true
		}
	}
	return 0, false
}
