package compat

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/pfverify/productfruits"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// userKey is the app's own context key for the logged-in username, which
// auth sets and productfruits.ContextUsername reads.
type userKey struct{}

// testUser is the username the cookie carries in every logged-in request.
const testUser = "jane.doe@example.com"

// pushStart opens the snippet's inline script: the page data goes onto the
// lifecycle runtime's queue.
const pushStart = "(window.__productfruitsGo=window.__productfruitsGo||[]).push({"

// auth is the app's own login middleware, outside the one under test: the
// cookie user=NAME puts NAME in the context under userKey{}.
func auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("user"); err == nil && c.Value != "" {
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, c.Value))
		}
		next.ServeHTTP(w, r)
	})
}

// logs records every slog record a Middleware writes, so that a test can
// count its warnings.
type logs struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	level slog.Level
	text  string // message and attributes
}

type logHandler struct {
	l     *logs
	attrs []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.l.mu.Lock()
	h.l.lines = append(h.l.lines, logLine{r.Level, b.String()})
	h.l.mu.Unlock()
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{l: h.l, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }

// warnings returns the WARN lines that mention substr (case-insensitive),
// and all WARN lines.
func (l *logs) warnings(substr string) (matching, all []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range l.lines {
		if ln.level != slog.LevelWarn {
			continue
		}
		all = append(all, ln.text)
		if strings.Contains(strings.ToLower(ln.text), strings.ToLower(substr)) {
			matching = append(matching, ln.text)
		}
	}
	return matching, all
}

// newPF builds the Middleware every test wires, with the suite's config;
// change adjusts it (a nonce function, say).
func newPF(t *testing.T, change ...func(*productfruits.Config)) (*productfruits.Middleware, *logs) {
	t.Helper()
	l := &logs{}
	cfg := productfruits.Config{
		WorkspaceCode: "ws",
		Secret:        productfruits.NewSecret("s3cret-for-tests"),
		Username:      productfruits.ContextUsername(userKey{}),
		Inject:        true,
		TTL:           time.Hour,
		Logger:        slog.New(&logHandler{l: l}),
	}
	for _, c := range change {
		c(&cfg)
	}
	pf, err := productfruits.New(cfg)
	require.NoError(t, err)
	return pf, l
}

// serve starts h behind auth on 127.0.0.1, port 0.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(auth(h))
	t.Cleanup(srv.Close)
	return srv
}

// htmlPage returns a page of at least size bytes: a head with a title and
// a body padded with text that differs line by line.
func htmlPage(size int) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<title>compat</title>\n</head>\n<body>\n")
	for i := 0; b.Len() < size-len("</body>\n</html>\n"); i++ {
		fmt.Fprintf(&b, "<p>line %d of the page, %x</p>\n", i, i*7919)
	}
	b.WriteString("</body>\n</html>\n")
	return b.String()
}

// smallPage is below every compressor's minimum size.
const smallPage = "<!DOCTYPE html><html><head><title>s</title></head><body><p>hi</p></body></html>"

// htmlHandler serves page as text/html; charset=utf-8.
func htmlHandler(page string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	})
}

// result is one response as the test client saw it: the raw bytes on the
// wire and the body decoded from its Content-Encoding.
type result struct {
	resp *http.Response
	raw  []byte
	body []byte
	url  *url.URL // the page's URL, after any redirect
}

// client sends Accept-Encoding itself and decodes by hand, so that it sees
// exactly what the server sent.
var client = &http.Client{
	Transport: &http.Transport{DisableCompression: true},
	Timeout:   20 * time.Second,
}

// req describes one request of the test client.
type req struct {
	user     string // the cookie's user; "" sends no cookie
	encoding string // Accept-Encoding; "" sends none
	header   http.Header
}

// get fetches rawURL and decodes the body.
func get(t *testing.T, rawURL string, q req) result {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	for k, v := range q.header {
		r.Header[k] = v
	}
	if q.user != "" {
		r.AddCookie(&http.Cookie{Name: "user", Value: q.user})
	}
	if q.encoding != "" {
		r.Header.Set("Accept-Encoding", q.encoding)
	}
	resp, err := client.Do(r)
	require.NoError(t, err, "GET %s", rawURL)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "GET %s: reading the body", rawURL)
	return result{resp: resp, raw: raw, body: decode(t, resp.Header.Get("Content-Encoding"), raw), url: resp.Request.URL}
}

// decode undoes a Content-Encoding; the body must decode completely.
func decode(t *testing.T, enc string, raw []byte) []byte {
	t.Helper()
	var rd io.Reader
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "identity":
		return raw
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		require.NoError(t, err, "gzip header")
		rd = zr
	case "br":
		rd = brotli.NewReader(bytes.NewReader(raw))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(raw))
		require.NoError(t, err, "zstd header")
		defer zr.Close()
		rd = zr
	case "deflate":
		rd = flate.NewReader(bytes.NewReader(raw))
	default:
		require.Failf(t, "unknown Content-Encoding", "%q", enc)
	}
	out, err := io.ReadAll(rd)
	require.NoError(t, err, "the %s body does not decode", enc)
	return out
}

// snippetScript is one script element of the snippet, as the tokenizer
// found it.
type snippetScript struct {
	attrs  map[string]string
	text   string
	inHead bool // between <head> and the end of the head in source order
}

// snippetScripts tokenizes page and returns the script elements that carry
// the snippet's data-productfruits attribute, and the first <base href>
// before each (by index).
func snippetScripts(page []byte) (scripts []snippetScript, baseBefore []string) {
	z := html.NewTokenizer(bytes.NewReader(page))
	inHead, headDone, base := false, false, ""
	var cur *snippetScript
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return scripts, baseBefore
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			switch tok.DataAtom {
			case atom.Head:
				if !headDone {
					inHead = true
				}
			case atom.Body:
				inHead, headDone = false, true
			case atom.Base:
				for _, a := range tok.Attr {
					if a.Key == "href" && base == "" {
						base = a.Val
					}
				}
			case atom.Script:
				attrs := map[string]string{}
				for _, a := range tok.Attr {
					attrs[a.Key] = a.Val
				}
				if _, ok := attrs["data-productfruits"]; ok {
					scripts = append(scripts, snippetScript{attrs: attrs, inHead: inHead})
					baseBefore = append(baseBefore, base)
					cur = &scripts[len(scripts)-1]
				}
			}
		case html.TextToken:
			if cur != nil {
				cur.text += tok.Data
			}
		case html.EndTagToken:
			switch tok.DataAtom {
			case atom.Head:
				inHead, headDone = false, true
			case atom.Script:
				cur = nil
			}
		}
	}
}

// snippetOnce asserts that page carries the snippet exactly once, inside
// the head, for user, and returns the page data object.
func snippetOnce(t *testing.T, page []byte, user string) map[string]any {
	t.Helper()
	require.Equal(t, 1, bytes.Count(page, []byte(pushStart)),
		"the page must carry the snippet's inline script exactly once:\n%s", excerpt(page))
	scripts, _ := snippetScripts(page)
	var data map[string]any
	n := 0
	for _, s := range scripts {
		assert.True(t, s.inHead, "snippet script %v is not inside the head", s.attrs)
		i := strings.Index(s.text, pushStart)
		if i < 0 {
			continue
		}
		n++
		j := strings.LastIndex(s.text, ");")
		require.Greater(t, j, i, "the inline script does not close its push(")
		require.NoError(t, json.Unmarshal([]byte(s.text[i+len(pushStart)-1:j]), &data),
			"the page data is not a JSON object: %s", s.text)
	}
	require.Equal(t, 1, n, "exactly one inline data-productfruits script holds the page data")
	u, _ := data["user"].(map[string]any)
	assert.Equal(t, user, u["username"], "the page data's user")

	// The tree a browser builds: the snippet's elements are the head's
	// children.
	doc, err := html.Parse(bytes.NewReader(page))
	require.NoError(t, err)
	var head *html.Node
	var walk func(*html.Node)
	found := 0
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.DataAtom == atom.Head && head == nil {
			head = n
		}
		if n.Type == html.ElementNode && n.DataAtom == atom.Script && hasAttr(n, "data-productfruits") {
			found++
			assert.True(t, n.Parent != nil && n.Parent.DataAtom == atom.Head,
				"a snippet script is a child of <%s>, not of <head>", n.Parent.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	assert.Equal(t, len(scripts), found)
	return data
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// reachable asserts that the URLs the page carries work, resolved as a
// browser resolves them: the runtime's src against a <base href> before it
// (else the page's URL), and the identity endpoint as the runtime reads it
// off its own src (endpointOf), against the page's URL.
func reachable(t *testing.T, pageURL *url.URL, page []byte, user, encoding string) {
	t.Helper()
	scripts, bases := snippetScripts(page)
	runtime := -1
	for i, s := range scripts {
		if s.attrs["src"] != "" {
			require.Equal(t, -1, runtime, "two runtime elements")
			runtime = i
		}
	}
	require.NotEqual(t, -1, runtime, "no <script src=... data-productfruits> runtime element:\n%s", excerpt(page))
	base := pageURL
	if b := bases[runtime]; b != "" {
		u, err := pageURL.Parse(b)
		require.NoError(t, err)
		base = u
	}
	src, err := base.Parse(scripts[runtime].attrs["src"])
	require.NoError(t, err)
	rt := get(t, src.String(), req{user: user, encoding: encoding})
	assert.Equal(t, http.StatusOK, rt.resp.StatusCode, "runtime %s", src)
	assert.Contains(t, rt.resp.Header.Get("Content-Type"), "javascript", "runtime %s", src)

	_, named := pageData(t, page)["identity"]
	require.False(t, named, "the page data names the endpoint: the runtime reads it off its own URL")
	endpoint := endpointOf(t, pageURL.ResolveReference(&url.URL{}), scripts[runtime].attrs["src"])
	id := get(t, endpoint.String(), req{user: user, encoding: encoding})
	require.Equal(t, http.StatusOK, id.resp.StatusCode, "identity %s: %s", endpoint, id.body)
	assert.True(t, strings.HasPrefix(id.resp.Header.Get("Content-Type"), "application/json"),
		"identity %s: Content-Type %q", endpoint, id.resp.Header.Get("Content-Type"))
	var got struct{ Username string }
	require.NoError(t, json.Unmarshal(id.body, &got), "identity %s: %s", endpoint, id.body)
	assert.Equal(t, user, got.Username, "identity %s", endpoint)
	anon := get(t, endpoint.String(), req{encoding: encoding})
	assert.Equal(t, http.StatusUnauthorized, anon.resp.StatusCode, "identity %s without the cookie", endpoint)
}

// endpointOf returns the identity endpoint's URL as the runtime reads it
// off its own src (lifecycle.js runtimeHome), resolved against the page's
// URL, never a <base href>: <endpoint>/lifecycle.<v>.js, or
// <page>?productfruits=lifecycle.<v>.js beside <page>?productfruits=identity.
func endpointOf(t *testing.T, pageURL *url.URL, src string) *url.URL {
	t.Helper()
	u, err := pageURL.Parse(src)
	require.NoError(t, err)
	switch {
	case strings.HasPrefix(u.RawQuery, "productfruits=lifecycle."):
		u.RawQuery = "productfruits=identity"
	case u.RawQuery == "" && strings.Contains(path.Base(u.Path), "lifecycle."):
		u.Path = path.Dir(u.Path)
		u.RawPath = ""
	default:
		t.Fatalf("the runtime's URL %s implies no endpoint", u)
	}
	return u
}

// pageData returns the page data object of the page's first snippet.
func pageData(t *testing.T, page []byte) map[string]any {
	t.Helper()
	i := bytes.Index(page, []byte(pushStart))
	require.GreaterOrEqual(t, i, 0, "the page carries no snippet")
	rest := page[i+len(pushStart)-1:]
	j := bytes.Index(rest, []byte(");"))
	require.Greater(t, j, 0, "the inline script does not close its push(")
	var data map[string]any
	require.NoError(t, json.Unmarshal(rest[:j], &data), "the page data is not a JSON object: %s", rest[:j])
	return data
}

// intact asserts a response the middleware must leave alone: its status,
// the headers the app set and its body exactly as the app wrote them.
func intact(t *testing.T, r result, status int, header http.Header, body []byte) {
	t.Helper()
	assert.Equal(t, status, r.resp.StatusCode)
	for k, v := range header {
		assert.Equal(t, v, r.resp.Header.Values(k), "header %s", k)
	}
	assert.Equal(t, string(body), string(r.body), "body")
}

// warnedOnce asserts exactly one WARN line mentioning substr. Call it after
// several (≥3) requests that meet the cause: one line per Middleware, not
// one per request.
func warnedOnce(t *testing.T, l *logs, substr string) string {
	t.Helper()
	matching, all := l.warnings(substr)
	if !assert.Len(t, matching, 1, "WARN lines mentioning %q; all WARN lines:\n%s", substr, strings.Join(all, "\n")) {
		return ""
	}
	return matching[0]
}

// snippetMarkup matches the snippet's elements (the loader's preload and
// the script elements), to take them out of a page and compare the rest
// with what the handler wrote.
var snippetMarkup = regexp.MustCompile(`(?s)<script[^>]*data-productfruits[^>]*>.*?</script>|<link rel="preload" as="script" href="[^"]*"(?: nonce="[^"]*")?/>`)

// withoutSnippet returns page with the snippet's elements removed.
func withoutSnippet(page []byte) string {
	return snippetMarkup.ReplaceAllString(string(page), "")
}

// excerpt is the start of a page, for failure messages.
func excerpt(page []byte) string {
	if len(page) > 600 {
		return string(page[:600]) + "…"
	}
	return string(page)
}
