package conformance

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// xmlTokens reads doc as an XML parser does (strict, as browsers parse
// application/xhtml+xml) into a canonical token list, leaving out the
// snippet's elements, whose parents it returns.
func xmlTokens(doc []byte) (string, []string, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var b strings.Builder
	var stack []string
	var parents []string
	skip := 0
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			fmt.Fprintf(&b, "%q\n", text.String())
			text.Reset()
		}
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, err
		}
		if skip > 0 {
			switch tok.(type) {
			case xml.StartElement:
				skip++
			case xml.EndElement:
				skip--
			}
			continue
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range tok.Attr {
				attr[a.Name.Local] = a.Value
			}
			if isSnippetElement(tok.Name.Local, attr) {
				parent := ""
				if len(stack) > 0 {
					parent = stack[len(stack)-1]
				}
				parents = append(parents, parent)
				skip = 1
			}
			if skip > 0 {
				continue
			}
			flush()
			stack = append(stack, tok.Name.Space+" "+tok.Name.Local)
			fmt.Fprintf(&b, "<%s %s %v>\n", tok.Name.Space, tok.Name.Local, tok.Attr)
		case xml.EndElement:
			flush()
			stack = stack[:len(stack)-1]
			fmt.Fprintf(&b, "</%s>\n", tok.Name.Local)
		case xml.CharData:
			text.Write(tok)
		default:
			flush()
			fmt.Fprintf(&b, "%T %q\n", tok, fmt.Sprint(tok))
		}
	}
	flush()
	return b.String(), parents, nil
}

// checkXMLTree reports whether out, parsed as XML, is well-formed and is
// exactly in's document plus the snippet's two elements as children of the
// XHTML <head>.
func checkXMLTree(in, out []byte) error {
	inTree, _, inErr := xmlTokens(in)
	outTree, parents, err := xmlTokens(out)
	if err != nil {
		if inErr != nil {
			return nil // not well-formed before either: nothing for XML to lose
		}
		return fmt.Errorf("the snippet made the page ill-formed XML: %w", err)
	}
	if inErr != nil {
		return nil
	}
	if inTree != outTree {
		return fmt.Errorf("the XML differs beyond the snippet:\n%s", firstDifference(inTree, outTree))
	}
	if len(parents) != 3 { // the loader's preload and two script elements
		return fmt.Errorf("%d snippet elements, want 3", len(parents))
	}
	for _, p := range parents {
		if p != "http://www.w3.org/1999/xhtml head" {
			return errors.New("a snippet element is a child of " + p + ", not of the XHTML head")
		}
	}
	return nil
}
