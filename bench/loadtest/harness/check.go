package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pfverify/productfruits"
)

// CrossTalkError means a response carried a user object signed for
// someone other than the user who asked.
type CrossTalkError struct{ Want, Got string }

// Error describes whose user object reached which client.
func (e *CrossTalkError) Error() string {
	return fmt.Sprintf("cross-talk: asked as %q, got the user object of %q", e.Want, e.Got)
}

// IsCrossTalk reports whether err is a CrossTalkError.
func IsCrossTalk(err error) bool {
	var ct *CrossTalkError
	return errors.As(err, &ct)
}

// VerifyUser checks that u is the signed user object of want: same
// username and an HMAC that s verifies at now.
func VerifyUser(s *productfruits.Signer, u productfruits.User, want string, now time.Time) error {
	if u.Username != want {
		return &CrossTalkError{Want: want, Got: u.Username}
	}
	if u.HMAC == nil {
		return errors.New("user object without hmac")
	}
	if err := s.Verify(want, *u.HMAC, now); err != nil {
		return fmt.Errorf("user object of %q does not verify: %w", want, err)
	}
	return nil
}

const snippetMarker = "data-productfruits"

// Element is one script element of the snippet within a page.
type Element struct {
	Start, End int    // the element's bytes in the page
	Tag        []byte // the opening tag
	Content    []byte // between the opening and the closing tag
}

// Snippet is a run of adjacent script elements marked data-productfruits
// (whitespace between them allowed), with the loader's preload before
// them on a user's page.
type Snippet struct {
	Start, End int
	Elements   []Element
}

// FindSnippets returns every snippet in page, in order.
func FindSnippets(page []byte) ([]Snippet, error) { return findSnippets(page, -1) }

// FirstSnippet returns the first snippet in page, scanning no further than
// its end.
func FirstSnippet(page []byte) (Snippet, bool, error) {
	out, err := findSnippets(page, 1)
	if err != nil || len(out) == 0 {
		return Snippet{}, false, err
	}
	return out[0], true, nil
}

func findSnippets(page []byte, limit int) ([]Snippet, error) {
	var out []Snippet
	i := 0
	if limit == 1 {
		// Skip to the script element before the first marker: the pages
		// here have many tags before it, and this runs for every response.
		at := bytes.Index(page, []byte(snippetMarker))
		if at < 0 {
			return nil, nil
		}
		i = max(bytes.LastIndex(page[:at], []byte("<script")), 0)
	}
	for {
		j := bytes.Index(page[i:], []byte("<script"))
		if j < 0 {
			return out, nil
		}
		start := i + j
		gt := bytes.IndexByte(page[start:], '>')
		if gt < 0 {
			return out, nil
		}
		tagEnd := start + gt + 1
		tag := page[start:tagEnd]
		closeAt := bytes.Index(page[tagEnd:], []byte("</script>"))
		if closeAt < 0 {
			if bytes.Contains(tag, []byte(snippetMarker)) {
				return out, fmt.Errorf("snippet element at %d is never closed", start)
			}
			return out, nil
		}
		end := tagEnd + closeAt + len("</script>")
		i = end
		if !bytes.Contains(tag, []byte(snippetMarker)) {
			if len(out) == limit {
				return out, nil
			}
			continue
		}
		el := Element{Start: start, End: end, Tag: tag, Content: page[tagEnd : tagEnd+closeAt]}
		if n := len(out); n > 0 && len(bytes.TrimSpace(page[out[n-1].End:start])) == 0 {
			out[n-1].Elements = append(out[n-1].Elements, el)
			out[n-1].End = end
		} else {
			out = append(out, Snippet{Start: preloadBefore(page, start), End: end, Elements: []Element{el}})
		}
		if len(out) == limit && !bytes.HasPrefix(bytes.TrimLeft(page[end:], " \t\r\n\f"), []byte("<script")) {
			// The run ends here; an element further on would be a second run.
			return out, nil
		}
	}
}

// preloadBefore returns where the snippet that starts with the script
// element at start begins: at the loader's preload, an unmarked
// <link rel="preload" as="script" .../> right before it, when there is
// one.
func preloadBefore(page []byte, start int) int {
	l := bytes.LastIndex(page[:start], []byte("<link "))
	if l < 0 {
		return start
	}
	tag := page[l:start]
	if bytes.IndexByte(tag[1:], '<') >= 0 || !bytes.HasSuffix(tag, []byte("/>")) || !bytes.HasPrefix(tag, []byte(`<link rel="preload" as="script" `)) {
		return start
	}
	return l
}

var pageDataPrefix = []byte(`.push({"workspace":`)

// pageData is what a snippet hands the library's lifecycle runtime.
type pageData struct {
	Workspace string             `json:"workspace"`
	Language  string             `json:"language"`
	User      productfruits.User `json:"user"`
	Identity  string             `json:"identity"`
	TTL       int64              `json:"ttl"`
}

// InitCall parses the init arguments of a snippet from its page data:
// workspace, language and user object, as a browser's JSON-compatible
// literals. The snippet must hold exactly one page data object, in an
// inline element, and one loader element.
func InitCall(s Snippet) (workspace, lang string, u productfruits.User, err error) {
	inits, loaders := 0, 0
	for _, el := range s.Elements {
		if bytes.Contains(el.Tag, []byte(" src=")) {
			loaders++
			continue
		}
		i := bytes.Index(el.Content, pageDataPrefix)
		if i < 0 {
			continue
		}
		inits++
		rest := el.Content[i+len(".push("):]
		dec := json.NewDecoder(bytes.NewReader(rest))
		dec.DisallowUnknownFields()
		var d pageData
		if err := dec.Decode(&d); err != nil {
			return "", "", u, fmt.Errorf("page data: %w", err)
		}
		if after := rest[dec.InputOffset():]; !bytes.HasPrefix(after, []byte(");")) {
			return "", "", u, fmt.Errorf("page data not closed after the object: %.40q", after)
		}
		workspace, lang, u = d.Workspace, d.Language, d.User
	}
	if inits != 1 || loaders != 1 {
		return "", "", u, fmt.Errorf("snippet has %d page data objects and %d loaders, want one of each", inits, loaders)
	}
	return workspace, lang, u, nil
}

// CheckInjected checks an injected page: the doc with exactly one snippet
// whose user object is want's, signed, and nothing else changed.
func CheckInjected(body []byte, doc *Doc, s *productfruits.Signer, want string, now time.Time) error {
	snippet, err := SplitInjected(body, doc)
	if err != nil {
		return err
	}
	return VerifySnippet(snippet, s, want, now)
}

// SplitInjected checks that body is the doc with one snippet inserted and
// returns the snippet, unverified.
func SplitInjected(body []byte, doc *Doc) ([]byte, error) {
	// Only the first snippet is looked for: the page around it must then
	// be the doc, which has none, so there is no second one either.
	sn, ok, err := FirstSnippet(body)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("page has no snippet")
	}
	if int64(len(body)-(sn.End-sn.Start)) != doc.Size() || !doc.Equal(0, body[:sn.Start]) || !doc.Equal(int64(sn.Start), body[sn.End:]) {
		return nil, errors.New("page around the snippet differs from the page the handler wrote")
	}
	return body[sn.Start:sn.End], nil
}

// VerifySnippet checks that snippet is one snippet of this workspace whose
// init call carries want's user object, signed.
func VerifySnippet(snippet []byte, s *productfruits.Signer, want string, now time.Time) error {
	snips, err := FindSnippets(snippet)
	if err != nil {
		return err
	}
	if len(snips) != 1 || snips[0].Start != 0 || snips[0].End != len(snippet) {
		return fmt.Errorf("not a single snippet: %.80q", snippet)
	}
	ws, _, u, err := InitCall(snips[0])
	if err != nil {
		return err
	}
	if ws != Workspace {
		return fmt.Errorf("init workspace %q, want %q", ws, Workspace)
	}
	return VerifyUser(s, u, want, now)
}

// ContextUserOpen starts the element in which the context-mode app renders
// the user object.
const ContextUserOpen = `<script type="application/json" id="pf-user">`

// CheckContext checks a page rendered by the context-mode app: the doc
// with the user object, want's and signed, at doc.InsertAt.
func CheckContext(body []byte, doc *Doc, s *productfruits.Signer, want string, now time.Time) error {
	obj, err := SplitContext(body, doc)
	if err != nil {
		return err
	}
	return VerifyContextUser(obj, s, want, now)
}

// SplitContext checks that body is the doc with the rendered user object
// at doc.InsertAt and returns the object's JSON, unverified.
func SplitContext(body []byte, doc *Doc) ([]byte, error) {
	at := int(doc.InsertAt)
	if len(body) < at || !doc.Equal(0, body[:at]) || !bytes.HasPrefix(body[at:], []byte(ContextUserOpen)) {
		return nil, errors.New("page does not carry the rendered user object where the app puts it")
	}
	// encoding/json escapes '<', so the object holds no "</script>".
	obj := body[at+len(ContextUserOpen):]
	end := bytes.Index(obj, []byte("</script>"))
	if end < 0 {
		return nil, errors.New("rendered user object not closed")
	}
	rest := obj[end+len("</script>"):]
	if int64(at+len(rest)) != doc.Size() || !doc.Equal(int64(at), rest) {
		return nil, errors.New("page around the rendered user object differs")
	}
	return obj[:end], nil
}

// VerifyContextUser checks that obj is one JSON user object, want's and
// signed.
func VerifyContextUser(obj []byte, s *productfruits.Signer, want string, now time.Time) error {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.DisallowUnknownFields()
	var u productfruits.User
	if err := dec.Decode(&u); err != nil {
		return fmt.Errorf("rendered user object: %w", err)
	}
	if dec.More() {
		return errors.New("rendered user object followed by more data")
	}
	return VerifyUser(s, u, want, now)
}

// CheckBare checks that body is the doc, untouched.
func CheckBare(body []byte, doc *Doc) error {
	if int64(len(body)) != doc.Size() || !doc.Equal(0, body) {
		return fmt.Errorf("page differs from the page the handler wrote (%d bytes, want %d)", len(body), doc.Size())
	}
	return nil
}

var pushOpen = []byte(".push(")

// Identity returns, unparsed, the bytes of a page that say whose page it
// is: the context page's rendered user object, the injected page's page
// data object (which holds the user object); nil for a bare page. It
// only locates them, cheaply, so that a load client can hold them for
// VerifyIdentity once the clock has stopped; whether the rest of the
// page is intact is the business of the full checks (CheckBare,
// CheckContext, CheckInjected).
func Identity(variant string, body []byte, doc *Doc) ([]byte, error) {
	switch variant {
	case Bare:
		return nil, nil
	case Context:
		at := int(doc.InsertAt)
		if len(body) < at || !bytes.HasPrefix(body[at:], []byte(ContextUserOpen)) {
			return nil, errors.New("page does not carry the rendered user object where the app puts it")
		}
		obj := body[at+len(ContextUserOpen):]
		end := bytes.Index(obj, []byte("</script>"))
		if end < 0 {
			return nil, errors.New("rendered user object not closed")
		}
		return obj[:end], nil
	case Inject:
		i := bytes.Index(body, pageDataPrefix)
		if i < 0 {
			return nil, errors.New("page has no snippet page data")
		}
		obj := body[i+len(pushOpen):]
		// The object is JSON whose strings here hold no ");": should one
		// ever, the object is cut short and VerifyIdentity fails.
		end := bytes.Index(obj, []byte(");"))
		if end < 0 {
			return nil, errors.New("snippet page data not closed")
		}
		return obj[:end], nil
	}
	return nil, fmt.Errorf("unknown variant %q", variant)
}

// VerifyIdentity checks what Identity returned for a page of variant:
// want's user object, with an HMAC that s verifies at now (in this
// workspace, for an injected page). Another user's object is a
// CrossTalkError.
func VerifyIdentity(variant string, ident []byte, s *productfruits.Signer, want string, now time.Time) error {
	switch variant {
	case Bare:
		if len(ident) != 0 {
			return errors.New("bare page with a user object")
		}
		return nil
	case Context:
		return VerifyContextUser(ident, s, want, now)
	case Inject:
		dec := json.NewDecoder(bytes.NewReader(ident))
		dec.DisallowUnknownFields()
		var d pageData
		if err := dec.Decode(&d); err != nil {
			return fmt.Errorf("page data: %w", err)
		}
		if dec.InputOffset() != int64(len(ident)) {
			return fmt.Errorf("page data followed by %.40q", ident[dec.InputOffset():])
		}
		if d.Workspace != Workspace {
			return fmt.Errorf("init workspace %q, want %q", d.Workspace, Workspace)
		}
		return VerifyUser(s, d.User, want, now)
	}
	return fmt.Errorf("unknown variant %q", variant)
}

// CheckPage is the full check of a page of variant: the doc byte for
// byte around want's verified user object (CheckBare, CheckContext,
// CheckInjected).
func CheckPage(variant string, body []byte, doc *Doc, s *productfruits.Signer, want string, now time.Time) error {
	switch variant {
	case Bare:
		return CheckBare(body, doc)
	case Context:
		return CheckContext(body, doc, s, want, now)
	case Inject:
		return CheckInjected(body, doc, s, want, now)
	}
	return fmt.Errorf("unknown variant %q", variant)
}
