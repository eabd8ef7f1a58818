package productfruits

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pfverify/productfruits/internal/testlog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests when any goroutine outlives them: a
// handler stuck on a client that went away, a server or transport left
// open, a writer waiting on a request that ended.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testSecret is the base config's secret, distinctive enough that a test
// can assert it never shows up in logs, errors or pages.
const testSecret = "test-secret-DO-NOT-LEAK"

// vectorSecret is the secret of the product's published test vectors.
const vectorSecret = "SecretkeyFromWorkspaceSettings"

// userKey is where withUser, standing in for the app's authentication,
// leaves the username for the base config's ContextUsername.
type userKey struct{}

// fixedNow is the test clock.
var fixedNow = time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)

// testConfig is the base test config, context mode on the fixed clock with
// the user from withUser, as mod changes it (mod may be nil).
func testConfig(mod func(*Config)) Config {
	cfg := Config{
		WorkspaceCode: "ws_Code-1",
		Secret:        NewSecret(testSecret),
		Username:      ContextUsername(userKey{}),
		Now:           func() time.Time { return fixedNow },
	}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

// newTestMiddleware is New(testConfig(mod)), failing the test on an error.
func newTestMiddleware(t testing.TB, mod func(*Config)) *Middleware {
	t.Helper()
	m, err := New(testConfig(mod))
	require.NoError(t, err)
	return m
}

// injUser is the user the injection tests sign for: their snippet is
// exactly what appendSnippet produces for this name.
const injUser = "testUser"

// injectConfig is the mod the injection tests share: the real Middleware
// injecting every page, for injUser, with no identity endpoint in the way.
func injectConfig(c *Config) {
	c.WorkspaceCode = "ws_inject"
	c.Secret = NewSecret("inject-secret")
	c.Inject = true
	c.IdentityPath = "-"
	c.Username = func(*http.Request) (string, error) { return injUser, nil }
}

// benchConfig is the mod the benchmarks share, whose numbers docs/PERFORMANCE.md
// publishes: the real clock, as a fixed one would flatter them, and the
// published vectors' secret.
func benchConfig(c *Config) {
	c.WorkspaceCode = "ws"
	c.Secret = NewSecret(vectorSecret)
	c.Now = nil
}

// withUser plays the app's own authentication middleware.
func withUser(name string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name != "" {
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, name))
		}
		next.ServeHTTP(w, r)
	})
}

// readBody takes what a client call returned, fails the test on its error,
// and returns the response's body, read to the end (the trailers arrive
// only then) and closed.
func readBody(t testing.TB, resp *http.Response, err error) string {
	t.Helper()
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// naiveSign is the product's computation, base64(HMAC-SHA256(secret,
// username + expiration)), written independently and the obvious way, with
// a fresh hmac.New per call as most hand-written integrations do: the
// reference FuzzSignVerify holds Sign to, and the baseline BenchmarkSign
// and BenchmarkMiddlewareContext measure against.
func naiveSign(secret, username, expiration string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(username + expiration))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// sinkString keeps the compiler from optimising a benchmark's work away.
var sinkString string

// logBuffer is the shared concurrency-safe log sink.
type logBuffer = testlog.Buffer

// lookNode returns the node executable for the tests that check against
// code in JavaScript: a skip where node is missing, a failure in CI.
func lookNode(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node is required in CI: %v", err)
		}
		t.Skip("node not installed; this test runs in CI")
	}
	return node
}

// runNodeJSON runs script in node with in, as JSON, on its standard input
// and decodes what it prints into out.
func runNodeJSON(t testing.TB, script string, in, out any) {
	t.Helper()
	data, err := json.Marshal(in)
	require.NoError(t, err)
	cmd := exec.Command(lookNode(t), "-e", script)
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	require.NoError(t, json.Unmarshal(got, out))
}

// pageData is the object a snippet pushes to the lifecycle runtime.
type pageData struct {
	Workspace string          `json:"workspace"`
	Language  string          `json:"language"`
	Options   map[string]bool `json:"options"`
	User      User            `json:"user"`
	Identity  string          `json:"identity"`
	TTL       int64           `json:"ttl"`
}

// parsePageData reads the page data of the first snippet in page as the
// browser does, as a JSON-compatible literal, and returns it with the
// number of snippets (user or anonymous) in page.
func parsePageData(t testing.TB, page string) (pageData, int) {
	t.Helper()
	i := strings.Index(page, pushData)
	require.GreaterOrEqual(t, i, 0, "no snippet in %s", page)
	var d pageData
	require.NoError(t, json.NewDecoder(strings.NewReader(page[i+len(pushData):])).Decode(&d))
	return d, strings.Count(page, pushData)
}

// signedState signs name as the middleware does for request r.
func signedState(t testing.TB, m *Middleware, r *http.Request, name string) *requestState {
	t.Helper()
	st, err := m.signUser(r, name)
	require.NoError(t, err)
	require.NotNil(t, st)
	return st
}

// renderSnippet returns the snippet m renders for name on request r, in a
// response with header h.
func renderSnippet(t testing.TB, m *Middleware, r *http.Request, name string, h http.Header) string {
	t.Helper()
	s, err := m.appendSnippet(nil, r, signedState(t, m, r, name), h, nil)
	require.NoError(t, err)
	require.NotEmpty(t, s)
	return string(s)
}

// snippetFor returns the snippet m injects into a response with header h.
func snippetFor(t testing.TB, m *Middleware, h http.Header) string {
	t.Helper()
	return renderSnippet(t, m, httptest.NewRequest(http.MethodGet, "/", nil), injUser, h)
}

// recWriter records what reaches the network: unlike httptest's recorder it
// neither sniffs nor treats 1xx as final, so "untouched" can be compared
// with the bare handler exactly.
type recWriter struct {
	header    http.Header
	sent      http.Header // the header as of the final WriteHeader
	status    int
	interim   []int
	body      bytes.Buffer
	writes    [][]byte // the very slices passed to Write
	flushes   int
	readFroms int
	calls     int // WriteHeader calls after the first final one
}

func newRecWriter() *recWriter { return &recWriter{header: http.Header{}} }

func (rw *recWriter) Header() http.Header { return rw.header }

func (rw *recWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != 101 {
		rw.interim = append(rw.interim, code)
		return
	}
	if rw.status != 0 {
		rw.calls++
		return
	}
	rw.status = code
	rw.sent = rw.header.Clone()
}

func (rw *recWriter) Write(p []byte) (int, error) {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	rw.writes = append(rw.writes, p)
	return rw.body.Write(p)
}

func (rw *recWriter) Flush() {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	rw.flushes++
}

// result completes the response the way net/http does for a handler
// that wrote nothing.
func (rw *recWriter) result() (int, http.Header, string) {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	return rw.status, rw.sent, rw.body.String()
}

// respSpec is what a test handler does: headers, status, body in pieces.
type respSpec struct {
	header   map[string][]string
	status   int // 0: no WriteHeader call
	body     string
	cuts     []int // Write boundaries in body
	readFrom bool  // io.Copy the body instead of calling Write
}

func (s respSpec) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range s.header {
			w.Header()[k] = v
		}
		if s.status != 0 {
			w.WriteHeader(s.status)
		}
		if s.readFrom {
			_, _ = io.Copy(w, strings.NewReader(s.body))
			return
		}
		prev := 0
		for _, c := range append(s.cuts, len(s.body)) {
			if c > prev || (c == 0 && len(s.body) == 0) {
				_, _ = w.Write([]byte(s.body[prev:c]))
			}
			prev = c
		}
	})
}

// serveRec runs h, wrapped by m unless m is nil, on a recWriter.
func serveRec(m *Middleware, h http.Handler, r *http.Request) *recWriter {
	rw := newRecWriter()
	if m != nil {
		h = m.Handler(h)
	}
	h.ServeHTTP(rw, r)
	return rw
}

func htmlHeader() map[string][]string {
	return map[string][]string{"Content-Type": {"text/html; charset=utf-8"}}
}

// splits lists the write patterns every small document is run with: one
// Write, one byte per Write, and every split into two Writes.
func splits(n int) map[string][]int {
	out := map[string][]int{"whole": nil}
	if n > 1 {
		bytewise := make([]int, 0, n)
		for i := 1; i < n; i++ {
			bytewise = append(bytewise, i)
			out["split@"+strconv.Itoa(i)] = []int{i}
		}
		out["bytewise"] = bytewise
	}
	return out
}

// checkInjection runs spec through m under every split (and via ReadFrom)
// and checks the body against want, where "@@" stands for the snippet;
// without "@@", the response must equal the bare handler's exactly.
func checkInjection(t *testing.T, m *Middleware, method string, spec respSpec, want string) {
	t.Helper()
	snip := snippetFor(t, m, http.Header(spec.header))
	patterns := splits(len(spec.body))
	patterns["readfrom"] = nil
	for name, cuts := range patterns {
		s := spec
		s.cuts = cuts
		s.readFrom = name == "readfrom"
		bare := serveRec(nil, s.handler(), httptest.NewRequest(method, "/", nil))
		bStatus, bHeader, bBody := bare.result()
		got := serveRec(m, s.handler(), httptest.NewRequest(method, "/", nil))
		status, header, body := got.result()
		require.Equal(t, bStatus, status, name)
		if !strings.Contains(want, "@@") {
			require.Equal(t, bBody, body, "%s: body must pass through untouched", name)
			require.Equal(t, bHeader, header, "%s: headers must pass through untouched", name)
			continue
		}
		require.Equal(t, strings.Replace(want, "@@", snip, 1), body, name)
		require.Equal(t, 1, strings.Count(body, snip), name)
		if cl := bHeader.Get("Content-Length"); cl != "" {
			n, _ := strconv.Atoi(cl)
			require.Equal(t, strconv.Itoa(n+len(snip)), header.Get("Content-Length"), name)
		}
		require.Contains(t, header.Get("Cache-Control"), "private", name)
		require.Contains(t, header.Get("Vary"), "Cookie", name)
	}
}

// handleOf returns the middleware's handle behind a handler's writer.
func handleOf(w http.ResponseWriter) *writerHandle {
	switch h := w.(type) {
	case *writerHandle:
		return h
	case hijackHandle:
		return h.writerHandle
	}
	return nil
}

// endpointFor returns the identity endpoint's URL as the runtime reads it
// off its own (lifecycle.js runtimeHome): the runtime's path without its
// last segment, or the page's URL with ?productfruits=identity.
func endpointFor(runtime string) string {
	if path, q, ok := strings.Cut(runtime, "?"); ok {
		if strings.HasPrefix(q, "productfruits=lifecycle.") {
			return path + "?productfruits=identity"
		}
		return ""
	}
	if i := strings.LastIndexByte(runtime, '/'); i > 0 && strings.HasPrefix(runtime[i:], "/lifecycle.") {
		return runtime[:i]
	}
	return ""
}

// runtimeSrcOf returns the runtime element's URL in a snippet.
func runtimeSrcOf(t testing.TB, snippet string) string {
	t.Helper()
	m := runtimeSrc.FindStringSubmatch(snippet)
	require.NotNil(t, m, "no runtime element in %s", snippet)
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// cookieUser plays the app's session middleware: the username from a
// "user" cookie.
func cookieUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("user"); err == nil {
			r = r.WithContext(contextWithUser(r, c.Value))
		}
		next.ServeHTTP(w, r)
	})
}

// reachConfig injects with a TTL on the real clock, logging to logs when
// it is not nil.
func reachConfig(logs *logBuffer) func(*Config) {
	return func(c *Config) {
		c.Inject = true
		c.TTL = time.Hour
		c.Now = nil
		if logs != nil {
			c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		}
	}
}

// htmlPage is a handler writing a small HTML page.
func htmlPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!doctype html><html><head><title>t</title></head><body>page</body></html>"))
}

// randomString returns up to maxRunes runes of hostile and ordinary text.
func randomString(r *rand.Rand, maxRunes int) string {
	var b strings.Builder
	n := r.IntN(maxRunes) + 1
	for b.Len() == 0 || utf8.RuneCountInString(b.String()) < n {
		switch r.IntN(4) {
		case 0:
			b.WriteString(hostilePieces[r.IntN(len(hostilePieces))])
		case 1:
			b.WriteByte(byte(' ' + r.IntN(95)))
		case 2:
			// any valid scalar value, surrogates excluded
			c := rune(r.IntN(0x10FFFF))
			if !utf8.ValidRune(c) {
				c = 'x'
			}
			b.WriteRune(c)
		default:
			b.WriteString("user.name@example.com")
		}
	}
	return b.String()
}

// runtimeSrc finds the runtime element's URL in a page.
var runtimeSrc = regexp.MustCompile(`<script async="" fetchpriority="high" src="([^"]+)"`)

// contextWithUser is r's context with name where withUser puts it.
func contextWithUser(r *http.Request, name string) context.Context {
	return context.WithValue(r.Context(), userKey{}, name)
}

// hostilePieces are fragments that break naive escaping.
var hostilePieces = []string{
	"</script>", "<script>alert(1)</script>", `"`, "'", "\\", "\u2028", "\u2029", "&amp;", "<!--",
	"Ž", "ů", "日本語", "😀", "👩‍👩‍👧", "\u0000", "\t", "\n", "ß", "ﬁ", "\uFEFF", "é", "e\u0301", " ",
}
