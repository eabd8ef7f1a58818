package conformance

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html/charset"

	"github.com/pfverify/productfruits"
)

// corpusEnv names the variable that points at the html-corpus folder when
// it is not beside the repository (../shared/html-corpus).
const corpusEnv = "PRODUCTFRUITS_HTML_CORPUS"

// corpusDir finds the folder of public HTML documents the injector must
// handle (see its README); "" when there is none.
func corpusDir() string {
	candidates := []string{os.Getenv(corpusEnv), "../../shared/html-corpus", "/work/shared/html-corpus"}
	for _, dir := range candidates {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "html5lib-tests.tar.gz")); err == nil {
			return dir
		}
	}
	return ""
}

// corpusDoc is one document served through the middleware.
type corpusDoc struct {
	name        string
	body        []byte
	contentType string
}

// readTarGz calls fn for every regular file of the archive.
func readTarGz(t *testing.T, file string, fn func(name string, data []byte)) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		fn(h.Name, data)
	}
}

var sectionHeader = regexp.MustCompile(`^#(errors|new-errors|document-fragment|document|script-off|script-on|encoding)$`)

// datInputs returns the #data sections of an html5lib .dat file.
func datInputs(data []byte) []string {
	var out []string
	var cur []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "#data":
			in, cur = true, nil
		case in && sectionHeader.MatchString(line):
			out = append(out, strings.Join(cur, "\n"))
			in = false
		case in:
			cur = append(cur, line)
		}
	}
	return out
}

// wrap4 puts an input into documents the four ways the corpus README
// suggests.
func wrap4(input string) []string {
	return []string{
		input,
		"<!DOCTYPE html><html><head>" + input,
		`<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width"><title>t</title>` + input + "</head><body><p>x</p></body></html>",
		"<head>" + input + "</head><body>x",
	}
}

var unicodeEscape = regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`)

// tokenizerDocs returns the documents for one tokenizer test: its input
// inside an open head, once per initial state.
func tokenizerDocs(test map[string]any) []string {
	input, _ := test["input"].(string)
	if de, _ := test["doubleEscaped"].(bool); de {
		input = unicodeEscape.ReplaceAllStringFunc(input, func(m string) string {
			n, _ := strconv.ParseUint(m[2:], 16, 32)
			return string(rune(n))
		})
	}
	last, _ := test["lastStartTag"].(string)
	states := []string{"Data state"}
	if raw, ok := test["initialStates"].([]any); ok {
		states = states[:0]
		for _, s := range raw {
			states = append(states, s.(string))
		}
	}
	const head = "<!DOCTYPE html><html><head>"
	var docs []string
	for _, st := range states {
		switch st {
		case "PLAINTEXT state":
			docs = append(docs, head+"<plaintext>"+input)
		case "RCDATA state":
			tag := "title"
			if last == "textarea" {
				tag = last
			}
			docs = append(docs, head+"<"+tag+">"+input)
		case "RAWTEXT state":
			tag := "style"
			switch last {
			case "xmp", "iframe", "noembed", "noframes", "noscript":
				tag = last
			}
			docs = append(docs, head+"<"+tag+">"+input)
		case "Script data state":
			docs = append(docs, head+"<script>"+input)
		case "CDATA section state":
			docs = append(docs, head+"<svg><![CDATA["+input)
		default:
			docs = append(docs, head+input)
		}
	}
	return docs
}

// loadCorpus reads every document the corpus README lists, as it is in the
// archives.
func loadCorpus(t *testing.T, dir string) map[string][]corpusDoc {
	docs := map[string][]corpusDoc{}
	readTarGz(t, filepath.Join(dir, "html5lib-tests.tar.gz"), func(name string, data []byte) {
		base := path.Base(name)
		switch {
		case strings.Contains(name, "/tree-construction/") && strings.HasSuffix(name, ".dat"):
			for i, input := range datInputs(data) {
				for w, doc := range wrap4(input) {
					docs["tree-construction"] = append(docs["tree-construction"], corpusDoc{
						fmt.Sprintf("%s#%d/%d", name, i, w), []byte(doc), "text/html; charset=utf-8"})
				}
			}
		case strings.Contains(name, "/encoding/") && strings.HasSuffix(name, ".dat"):
			for i, input := range datInputs(data) {
				for w, doc := range wrap4(input) {
					// No charset: the <meta charset> prescan decides.
					docs["encoding"] = append(docs["encoding"], corpusDoc{
						fmt.Sprintf("%s#%d/%d", name, i, w), []byte(doc), "text/html"})
				}
			}
		case strings.Contains(name, "/tokenizer/") && strings.HasSuffix(name, ".test") && base != "namedEntities.test":
			var file map[string][]map[string]any
			if err := json.Unmarshal(data, &file); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, key := range []string{"tests", "xmlViolationTests"} {
				for i, test := range file[key] {
					for s, doc := range tokenizerDocs(test) {
						docs["tokenizer"] = append(docs["tokenizer"], corpusDoc{
							fmt.Sprintf("%s#%s%d/%d", name, key, i, s), []byte(doc), "text/html; charset=utf-8"})
					}
				}
			}
		}
	})
	readTarGz(t, filepath.Join(dir, "realworld.tar.gz"), func(name string, data []byte) {
		switch {
		case strings.HasSuffix(name, ".xhtml"):
			docs["xhtml"] = append(docs["xhtml"], corpusDoc{name, data, "application/xhtml+xml"})
		case strings.HasSuffix(name, ".html"):
			// Served without a charset, as many apps do: the page's own
			// <meta charset> must keep deciding.
			docs["realworld"] = append(docs["realworld"], corpusDoc{name, data, "text/html"})
		}
	})
	return docs
}

// corpusServer serves documents through the middleware, in one write or
// in random small ones.
type corpusServer struct {
	handler http.Handler
	doc     corpusDoc
	seed    uint64 // 0: one write
}

func newCorpusServer(t *testing.T) *corpusServer {
	t.Helper()
	cs := &corpusServer{}
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: "ws",
		Secret:        productfruits.NewSecret("corpus-secret"),
		Username:      func(*http.Request) (string, error) { return "corpus.user", nil },
		Inject:        true,
		IdentityPath:  "-",
	})
	if err != nil {
		t.Fatal(err)
	}
	cs.handler = pf.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", cs.doc.contentType)
		body := cs.doc.body
		if cs.seed == 0 {
			_, _ = w.Write(body)
			return
		}
		rnd := rand.New(rand.NewPCG(cs.seed, 1))
		for len(body) > 0 {
			n := min(len(body), 1+rnd.IntN(64))
			_, _ = w.Write(body[:n])
			body = body[n:]
		}
	}))
	return cs
}

func (cs *corpusServer) serve(doc corpusDoc, seed uint64) []byte {
	cs.doc, cs.seed = doc, seed
	rec := httptest.NewRecorder()
	cs.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Body.Bytes()
}

// snippet returns the exact bytes the middleware inserts for the corpus
// user into a page of the given type.
func (cs *corpusServer) snippet(t *testing.T, contentType string) []byte {
	t.Helper()
	in := []byte("<html><head></head>")
	out := cs.serve(corpusDoc{"probe", in, contentType}, 0)
	if len(out) <= len(in) {
		t.Fatalf("no snippet in %q", out)
	}
	return out[len("<html><head>") : len(out)-len("</head>")]
}

// encodingOf is what a browser's prescan decides for a page served with
// Content-Type ct.
func encodingOf(page []byte, ct string) string {
	_, name, _ := charset.DetermineEncoding(page, ct)
	return name
}

// TestCorpus serves every document of ../shared/html-corpus through the
// middleware, in one write and in random small writes: the output must be
// the same for both and either the original byte for byte, or the
// original with the snippet inserted once, parsed by x/net/html's tree
// builder into exactly the original tree plus the snippet's two script
// elements as contiguous children of <head>; a page served without a
// charset keeps the encoding a browser's prescan detects.
func TestCorpus(t *testing.T) {
	dir := corpusDir()
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the HTML corpus is missing (../shared/html-corpus or $%s) and CI=true", corpusEnv)
		}
		t.Skipf("the HTML corpus is missing: put it at ../shared/html-corpus or set $%s", corpusEnv)
	}
	docs := loadCorpus(t, dir)
	cs := newCorpusServer(t)
	snips := map[string][]byte{}
	total := map[string][3]int{} // injected, untouched, failed
	var failures []string
	for _, group := range []string{"tree-construction", "tokenizer", "encoding", "realworld", "xhtml"} {
		counts := total[group]
		for i, doc := range docs[group] {
			err := checkCorpusDoc(t, cs, snips, doc, uint64(i)+1)
			switch {
			case err != nil:
				counts[2]++
				if len(failures) < 25 {
					failures = append(failures, fmt.Sprintf("%s: %v\n  input: %.300q", doc.name, err, doc.body))
				}
			case bytes.Equal(cs.serve(doc, 0), doc.body):
				counts[1]++
			default:
				counts[0]++
			}
		}
		total[group] = counts
		t.Logf("%-17s %5d documents: %5d injected, %5d untouched, %d failed", group, len(docs[group]), counts[0], counts[1], counts[2])
	}
	for _, f := range failures {
		t.Error(f)
	}
}

func checkCorpusDoc(t *testing.T, cs *corpusServer, snips map[string][]byte, doc corpusDoc, seed uint64) error {
	whole := slices.Clone(cs.serve(doc, 0))
	split := cs.serve(doc, seed)
	if !bytes.Equal(whole, split) {
		return fmt.Errorf("small writes changed the output")
	}
	if bytes.Equal(whole, doc.body) {
		return nil
	}
	snip, ok := snips[doc.contentType]
	if !ok {
		snip = cs.snippet(t, doc.contentType)
		snips[doc.contentType] = snip
	}
	if _, ok := insertionPoint(doc.body, whole, snip); !ok {
		return fmt.Errorf("the output is not the input with the snippet inserted once")
	}
	// XML parsers take the encoding from a byte order mark or the XML
	// declaration (UTF-8 without either), never from the HTML prescan.
	if doc.contentType == "text/html" {
		if before, after := encodingOf(doc.body, doc.contentType), encodingOf(whole, doc.contentType); before != after {
			return fmt.Errorf("the detected encoding changed from %s to %s", before, after)
		}
	}
	if doc.contentType == "application/xhtml+xml" {
		return checkXMLTree(doc.body, whole)
	}
	return checkTree(doc.body, whole, 3) // the loader's preload and two script elements
}
