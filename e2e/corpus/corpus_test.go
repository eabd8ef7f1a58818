package corpus

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "embed"

	"github.com/pfverify/productfruits"
	"github.com/stretchr/testify/require"
)

// corpusEnv names the variable that points at the html-corpus folder when
// it is not beside the repository (../shared/html-corpus), as in the
// conformance module.
const corpusEnv = "PRODUCTFRUITS_HTML_CORPUS"

// pagesEnv names the variable that widens or narrows the sample: "all"
// loads every injected page, a comma-separated list of page names (such
// as "gumbo/bbc.html") loads those.
const pagesEnv = "PRODUCTFRUITS_CORPUS_PAGES"

// The middleware's configuration for the corpus user.
const (
	workspace = "ws"
	secret    = "s"
	username  = "corpus.user"
	// nonce is the Content-Security-Policy nonce of the pages served with
	// their own scripts blocked: the middleware takes it from the
	// response's header, so that only the snippet's scripts run.
	nonce = "corpus-nonce"
)

// corpusDir finds the folder of public HTML documents the injector must
// handle (see its README); "" when there is none.
func corpusDir() string {
	candidates := []string{os.Getenv(corpusEnv), "../../../shared/html-corpus", "/work/shared/html-corpus"}
	for _, dir := range candidates {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "realworld.tar.gz")); err == nil {
			return dir
		}
	}
	return ""
}

// corpusPage is one real-world page as the archive holds it.
type corpusPage struct {
	name        string // e.g. "gumbo/bbc.html"
	body        []byte
	contentType string
}

// folder returns the archive folder the page comes from.
func (p corpusPage) folder() string {
	folder, _, _ := strings.Cut(p.name, "/")
	return folder
}

// readRealworld returns the .html and .xhtml pages of realworld.tar.gz,
// sorted by name. Like the conformance test, it serves .html pages as
// text/html without a charset, so that each page's own <meta charset>
// keeps deciding, and .xhtml pages as application/xhtml+xml.
func readRealworld(t *testing.T, dir string) []corpusPage {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "realworld.tar.gz"))
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	var pages []corpusPage
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(path.Clean(h.Name), "./")
		var ct string
		switch path.Ext(name) {
		case ".html":
			ct = "text/html"
		case ".xhtml":
			ct = "application/xhtml+xml"
		default:
			continue
		}
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		pages = append(pages, corpusPage{name, body, ct})
	}
	slices.SortFunc(pages, func(a, b corpusPage) int { return strings.Compare(a.name, b.name) })
	return pages
}

//go:embed testdata/loader.js
var loaderJS []byte

// corpusServer serves every page at /orig/<name> as it is and at
// /inj/<name> through the middleware, the lifecycle runtime at its
// RuntimePath (from the middleware), and the stand-in loader at
// /loader.js. A page comes with a Content-Security-Policy that lets only
// the snippet's scripts run, unless its URL asks for ?scripts=on.
type corpusServer struct {
	*httptest.Server
	pages       map[string]corpusPage
	injector    http.Handler
	runtimePath string
}

func newCorpusServer(t *testing.T, pages []corpusPage) *corpusServer {
	t.Helper()
	mux := http.NewServeMux()
	cs := &corpusServer{Server: httptest.NewServer(mux), pages: map[string]corpusPage{}}
	t.Cleanup(cs.Close)
	for _, p := range pages {
		cs.pages[p.name] = p
	}
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspace,
		Secret:        productfruits.NewSecret(secret),
		Username:      func(*http.Request) (string, error) { return username, nil },
		Inject:        true,
		ScriptURL:     cs.URL + "/loader.js",
	})
	require.NoError(t, err)
	cs.runtimePath = pf.RuntimePath()
	cs.injector = pf.Handler(cs.pageHandler("/inj/"))
	mux.Handle("/orig/", cs.pageHandler("/orig/"))
	mux.Handle("/inj/", cs.injector)
	// The middleware serves the lifecycle runtime the snippet loads.
	mux.Handle(cs.runtimePath, cs.injector)
	mux.HandleFunc("/loader.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(loaderJS)
	})
	return cs
}

// pageHandler serves the page named by the path after prefix; anything
// else (the pages' stylesheets, images and scripts) is not found.
func (cs *corpusServer) pageHandler(prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := cs.pages[strings.TrimPrefix(r.URL.Path, prefix)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("scripts") != "on" {
			w.Header().Set("Content-Security-Policy", "script-src 'nonce-"+nonce+"'")
		}
		w.Header().Set("Content-Type", p.contentType)
		_, _ = w.Write(p.body)
	})
}

// injected reports whether the middleware changes the page.
func (cs *corpusServer) injected(p corpusPage) bool {
	rec := httptest.NewRecorder()
	cs.injector.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/inj/"+p.name, nil))
	return !bytes.Equal(rec.Body.Bytes(), p.body)
}

// sampleQuota is how many injected .html pages of each folder the browser
// loads, spread evenly over the folder's injected pages in name order, so
// that the sample is the same on every run and reaches across the folder.
// Every injected .xhtml page is loaded as well.
var sampleQuota = map[string]int{
	"readability": 9,
	"postlight":   9,
	"gumbo":       4,
	"h5bp":        4,
	"nextjs":      3,
	"nuxt":        2,
	"jekyll":      2,
	"tailwind":    2,
}

// sample returns the injected pages to load, in name order: the quota of
// each folder and every injected .xhtml page, or what $pagesEnv asks for.
// It also counts, per folder, the pages the middleware injected and those
// it left untouched.
func (cs *corpusServer) sample(t *testing.T, pages []corpusPage) ([]corpusPage, map[string][2]int) {
	t.Helper()
	counts := map[string][2]int{}
	var all []corpusPage
	byFolder := map[string][]corpusPage{}
	for _, p := range pages {
		c := counts[p.folder()]
		if cs.injected(p) {
			c[0]++
			all = append(all, p)
			byFolder[p.folder()] = append(byFolder[p.folder()], p)
		} else {
			c[1]++
		}
		counts[p.folder()] = c
	}
	var out []corpusPage
	switch want := os.Getenv(pagesEnv); want {
	case "all":
		return all, counts
	case "":
		for _, p := range all {
			if p.contentType == "application/xhtml+xml" {
				out = append(out, p)
			}
		}
		for folder, n := range sampleQuota {
			injected := byFolder[folder]
			require.GreaterOrEqual(t, len(injected), n, "%s/ has fewer injected pages than its quota", folder)
			for i := range n {
				out = append(out, injected[i*len(injected)/n])
			}
		}
	default:
		for _, name := range strings.Split(want, ",") {
			i := slices.IndexFunc(all, func(p corpusPage) bool { return p.name == strings.TrimSpace(name) })
			require.GreaterOrEqual(t, i, 0, "$%s names %q, which is not an injected page of the corpus", pagesEnv, name)
			out = append(out, all[i])
		}
	}
	slices.SortFunc(out, func(a, b corpusPage) int { return strings.Compare(a.name, b.name) })
	return out, counts
}
