package productfruits_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/sessions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/internal/loadtest/harness"
)

// faultLog is a concurrency-safe slog sink.
type faultLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *faultLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *faultLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *faultLog) lines() []string {
	s := strings.TrimSuffix(l.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// faultClient is a keep-alive client that sees the bytes as sent. Close
// its idle connections when done (before any goroutine check).
func faultClient() (*http.Client, func()) {
	tr := harness.Transport(16)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}, tr.CloseIdleConnections
}

// faultGet fetches url as user (harness.Auth's header) and returns the
// response and its whole body.
func faultGet(ctx context.Context, c *http.Client, url, user string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "text/html")
	if user != "" {
		req.Header.Set(harness.UserHeader, user)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// writePage writes the first n bytes of page (all if n < 0) in 1 KiB
// writes, as a template would, and stops at a failed write.
func writePage(w http.ResponseWriter, page []byte, n int) error {
	if n < 0 || n > len(page) {
		n = len(page)
	}
	for off := 0; off < n; off += 1024 {
		if _, err := w.Write(page[off:min(off+1024, n)]); err != nil {
			return err
		}
	}
	return nil
}

// TestFaultPanicsAndDisconnects breaks requests every way a handler or a
// client can, while other users load the same server, and checks that no
// goroutine outlives them and that the requests after each break are
// served correctly: the page intact, the user object each asker's own. A
// writer returned to the pool dirty would leak one request's held bytes
// or user into another's page.
func TestFaultPanicsAndDisconnects(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	doc := harness.NewDoc(48<<10, 4<<10)
	page := doc.Bytes()
	head := bytes.Index(page, []byte("</head>"))
	require.Positive(t, head)
	big := harness.NewDoc(1<<30, 32<<10) // ends early: its clients go away
	logs := &faultLog{}
	m, err := productfruits.New(harness.Config(true, slog.New(slog.NewTextHandler(logs, nil))))
	require.NoError(t, err)

	var handlersDone sync.WaitGroup // streams and stalls, which must end once their client has gone
	app := http.NewServeMux()
	app.Handle("/page", doc)
	app.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
		at, _ := strconv.Atoi(r.URL.Query().Get("at"))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = writePage(w, page, at)
		if r.URL.Query().Get("flush") != "" {
			http.NewResponseController(w).Flush()
		}
		if r.URL.Query().Get("abort") != "" {
			panic(http.ErrAbortHandler)
		}
		panic("boom: handler failed mid-page")
	})
	app.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		defer handlersDone.Done()
		big.ServeHTTP(w, r)
	})
	app.HandleFunc("/stall", func(w http.ResponseWriter, r *http.Request) {
		defer handlersDone.Done()
		// Part of the head, held by the injector, then the client leaves.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = writePage(w, page, head/2)
		<-r.Context().Done()
		_, _ = w.Write(page[head/2:])
	})
	// An app's own recovery middleware outside ours, answering 500.
	recoverer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					http.Error(w, "internal error", http.StatusInternalServerError)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
	root := http.NewServeMux()
	root.Handle("/", m.Handler(app))
	root.Handle("/rec/", http.StripPrefix("/rec", recoverer(m.Handler(app))))
	srv := httptest.NewUnstartedServer(harness.Auth(root))
	serverLog := &faultLog{}
	srv.Config.ErrorLog = log.New(serverLog, "", 0)
	srv.Start()
	defer srv.Close()
	client, closeIdle := faultClient()
	defer closeIdle()
	signer := m.Signer()

	// Background load: users asking all along, every page checked.
	ctx, stopLoad := context.WithCancel(context.Background())
	var loadWG sync.WaitGroup
	var loadOK atomic.Int64
	loadErrs := make(chan error, 64)
	for i := range 3 {
		loadWG.Go(func() {
			name := harness.Username(100 + i)
			for ctx.Err() == nil {
				_, body, err := faultGet(ctx, client, srv.URL+"/page", name)
				if ctx.Err() != nil {
					return
				}
				if err == nil {
					err = harness.CheckInjected(body, doc, signer, name, time.Now())
				}
				if err != nil {
					select {
					case loadErrs <- fmt.Errorf("%s: %w", name, err):
					default:
					}
					continue
				}
				loadOK.Add(1)
			}
		})
	}

	// afterwards checks the requests after a break, on the same server.
	afterwards := func(what string) {
		t.Helper()
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				name := fmt.Sprintf("next-%d-after-%s", i, what)
				resp, body, err := faultGet(context.Background(), client, srv.URL+"/page", name)
				if !assert.NoError(t, err, what) {
					return
				}
				assert.Equal(t, http.StatusOK, resp.StatusCode, what)
				assert.NoError(t, harness.CheckInjected(body, doc, signer, name, time.Now()), "%s: next request as %s", what, name)
			})
		}
		wg.Wait()
	}

	for _, prefix := range []string{"", "/rec"} {
		for _, abort := range []bool{false, true} {
			for _, c := range []struct {
				name  string
				at    int
				flush bool
			}{
				{"before-writing", 0, false},
				{"mid-head-held", head / 2, false},
				{"mid-head-flushed", head / 2, true},
				{"after-head", head + 4096, false},
				{"mid-body-flushed", len(page) - 4096, true},
			} {
				what := fmt.Sprintf("%s/panic/%s/abort=%v", prefix, c.name, abort)
				url := fmt.Sprintf("%s%s/panic?at=%d", srv.URL, prefix, c.at)
				if c.flush {
					url += "&flush=1"
				}
				if abort {
					url += "&abort=1"
				}
				resp, body, err := faultGet(context.Background(), client, url, "victim-"+what)
				if err == nil && prefix == "/rec" && !abort && c.at == 0 {
					// Nothing was sent: the app's recoverer answers.
					assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, what)
					assert.NotContains(t, string(body), "victim", what)
				}
				afterwards(what)
			}
		}
	}

	// A client that goes away mid-stream, and one that goes away while its
	// page is still held for the insertion point.
	for _, c := range []struct {
		path string
		read int
	}{{"/stream", 256 << 10}, {"/stream", 0}, {"/stall", 0}} {
		what := "disconnect" + c.path
		handlersDone.Add(1)
		reqCtx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, srv.URL+c.path, nil)
		require.NoError(t, err)
		req.Header.Set(harness.UserHeader, "leaver")
		if c.path == "/stall" {
			time.AfterFunc(50*time.Millisecond, cancel)
		}
		resp, err := client.Do(req)
		if c.path == "/stall" {
			require.Error(t, err, "the stalled page has no headers out yet")
		} else {
			require.NoError(t, err)
			_, err = io.CopyN(io.Discard, resp.Body, int64(c.read))
			require.NoError(t, err)
			cancel()
			_ = resp.Body.Close()
		}
		cancel()
		waitGroupTimeout(t, &handlersDone, 10*time.Second, what)
		afterwards(what)
	}

	stopLoad()
	loadWG.Wait()
	close(loadErrs)
	for err := range loadErrs {
		t.Errorf("background load: %v", err)
	}
	assert.Positive(t, loadOK.Load(), "background load served nothing")
	assert.Empty(t, logs.lines(), "the middleware logged")
	assert.NotContains(t, serverLog.String(), harness.Secret)
}

func waitGroupTimeout(t *testing.T, wg *sync.WaitGroup, d time.Duration, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: the handler did not return within %v of its client leaving", what, d)
	}
}

// faultStore is a session store whose backend is down.
type faultStore struct{}

var errStoreDown = errors.New("session backend unreachable: dial tcp 10.0.0.7:6379: connect: connection refused")

func (faultStore) Get(*http.Request, string) (*sessions.Session, error) { return nil, errStoreDown }
func (faultStore) New(*http.Request, string) (*sessions.Session, error) { return nil, errStoreDown }
func (faultStore) Save(*http.Request, http.ResponseWriter, *sessions.Session) error {
	return errStoreDown
}

type faultUserKey struct{}

// faultUser plays the app's authentication: the user is names[i] for the
// request's X-Fault-User index, so that any string, huge or not valid in
// a header, reaches the resolver intact.
func faultUser(names []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i, err := strconv.Atoi(r.Header.Get("X-Fault-User")); err == nil && i >= 0 && i < len(names) {
			r = r.WithContext(context.WithValue(r.Context(), faultUserKey{}, names[i]))
		}
		next.ServeHTTP(w, r)
	})
}

// TestFaultFailuresServePageUnchanged: when the user cannot be resolved,
// enriched or encoded, the page goes out exactly as the app wrote it,
// with one log line and no secret in it.
func TestFaultFailuresServePageUnchanged(t *testing.T) {
	page := harness.NewDoc(24<<10, 0).Bytes()
	apps := map[string]http.Handler{
		"streamed": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_ = writePage(w, page, -1)
		}),
		"content-length": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Length", strconv.Itoa(len(page)))
			w.Header().Set("ETag", `"v1"`)
			_, _ = w.Write(page)
		}),
	}
	timeout := func(r *http.Request) (string, error) {
		ctx, cancel := context.WithTimeout(r.Context(), 20*time.Millisecond)
		defer cancel()
		<-ctx.Done() // a user service that does not answer in time
		return "", fmt.Errorf("user service: %w", ctx.Err())
	}
	byContext := productfruits.ContextUsername(faultUserKey{})
	tests := []struct {
		name     string
		username func(*http.Request) (string, error)
		profile  func(*http.Request, string) (productfruits.User, error)
		logs     string
	}{
		{"session store down", productfruits.SessionUsername(faultStore{}, "app", "user"), nil, "username resolver failed"},
		{"resolver times out", timeout, nil, "username resolver failed"},
		{"profile hook fails", byContext, func(*http.Request, string) (productfruits.User, error) {
			return productfruits.User{}, errors.New("crm: 502 bad gateway")
		}, "profile hook failed"},
		{"profile props not JSON", byContext, func(*http.Request, string) (productfruits.User, error) {
			return productfruits.User{Props: map[string]any{"score": math.NaN()}}, nil
		}, "cannot encode the user object"},
		{"profile group not JSON", byContext, func(*http.Request, string) (productfruits.User, error) {
			return productfruits.User{Group: &productfruits.Group{GroupID: "g", Props: map[string]any{"ch": make(chan int)}}}, nil
		}, "cannot encode the user object"},
	}
	for _, tc := range tests {
		for appName, app := range apps {
			t.Run(tc.name+"/"+appName, func(t *testing.T) {
				bare := httptest.NewServer(app)
				defer bare.Close()
				logs := &faultLog{}
				m, err := productfruits.New(productfruits.Config{
					WorkspaceCode: harness.Workspace, Secret: harness.Secret, TTL: time.Hour, Inject: true,
					Username: tc.username, Profile: tc.profile,
					Logger: slog.New(slog.NewTextHandler(logs, nil)),
				})
				require.NoError(t, err)
				srv := httptest.NewServer(faultUser([]string{"jane.doe@example.com"}, m.Handler(app)))
				defer srv.Close()
				client, closeIdle := faultClient()
				defer closeIdle()

				want, wantBody := fetchAs(t, client, bare.URL, "0")
				got, gotBody := fetchAs(t, client, srv.URL, "0")
				assert.Equal(t, want.StatusCode, got.StatusCode)
				assert.True(t, bytes.Equal(wantBody, gotBody), "page changed: %d bytes, want %d", len(gotBody), len(wantBody))
				for _, h := range []string{"Content-Type", "Content-Length", "Etag", "Cache-Control", "Vary"} {
					assert.Equal(t, want.Header.Values(h), got.Header.Values(h), h)
				}
				lines := logs.lines()
				if assert.Len(t, lines, 1, "log lines") {
					assert.Contains(t, lines[0], tc.logs)
				}
				assert.NotContains(t, logs.String(), harness.Secret)
			})
		}
	}
}

func fetchAs(t *testing.T, c *http.Client, url, userIndex string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("X-Fault-User", userIndex)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// hostilePieces are strings that have broken snippets elsewhere.
var hostilePieces = []string{
	"</script>", "</SCRIPT >", "<script>alert(1)</script>", "<!--", "-->", "<![CDATA[", "]]>",
	`"`, "'", "`", `\`, `\u2028`, "\u2028", "\u2029", "\u0085", "&amp;", "&#x3c;",
	"]);alert(1);//", "$productFruits.push(['init','evil','en',{}]);", "${x}",
	"😀", "👩‍👩‍👧", "Žluťoučký kůň", "\u202e", "\ufeff", "\x00", "\x7f", "\r\n", "\t",
	"\xff", "\xfe\xff", "\xc0\xaf", "\xed\xa0\x80", // invalid UTF-8: a lone byte, an overlong '/', a surrogate
}

func hostileString(r *rand.Rand, pieces int) string {
	var b strings.Builder
	for range pieces {
		if r.IntN(4) == 0 {
			b.WriteByte(byte(r.IntN(256)))
			continue
		}
		b.WriteString(hostilePieces[r.IntN(len(hostilePieces))])
	}
	return b.String()
}

// hostileCase is one request through the whole chain with injection.
type hostileCase struct {
	name    string
	user    string
	profile *productfruits.User
	header  http.Header // set by the app before writing
	body    []byte      // written by the app instead of the page
	want    string      // "snippet", "untouched" or "" for either
}

var nonceAttr = regexp.MustCompile(`\snonce="([^"]*)"`)

// TestFaultHostileInput sends hostile usernames, profiles and response
// headers through the whole chain with injection: no panic, and each page
// comes back either untouched or with exactly one snippet whose user
// object parses as JSON, carries the data it was given and verifies.
func TestFaultHostileInput(t *testing.T) {
	page := harness.NewDoc(16<<10, 0).Bytes()
	r := rand.New(rand.NewPCG(5, 2026))
	var cases []hostileCase
	for i, u := range append(hostilePieces, hostileString(r, 12), strings.Repeat("Ž", 100_000), strings.Repeat("</script>", 20_000)+"\xff") {
		cases = append(cases, hostileCase{name: fmt.Sprintf("username-%d", i), user: u})
	}
	for i := range 150 {
		cases = append(cases, hostileCase{name: fmt.Sprintf("random-username-%d", i), user: hostileString(r, 1+r.IntN(8))})
	}
	for i := range 40 {
		h := func() string { return hostileString(r, 1+r.IntN(6)) }
		cases = append(cases, hostileCase{name: fmt.Sprintf("random-profile-%d", i), user: "jane", profile: &productfruits.User{
			Email: h(), Firstname: h(), Lastname: h(), Role: h(), SignUpAt: h(),
			Props: map[string]any{h(): h(), "list": []string{h(), h()}, "n": r.Float64() * 1e6, "ok": true,
				"nested": map[string]any{h(): []any{h(), 1, false, map[string]any{h(): h()}}}},
			Group: &productfruits.Group{GroupID: h(), Props: map[string]any{h(): h(), "size": r.IntN(1000)}},
		}})
	}
	cases = append(cases,
		hostileCase{name: "profile-huge-prop", user: "jane", profile: &productfruits.User{Props: map[string]any{"blob": strings.Repeat("</script>\u2028", 50_000)}}},
		hostileCase{name: "profile-nan", user: "jane", profile: &productfruits.User{Props: map[string]any{"x": math.Inf(1)}}, want: "untouched"},
	)
	html := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(b)
		_ = zw.Close()
		return buf.Bytes()
	}
	for _, c := range []hostileCase{
		{name: "csp-nonce-breakout", header: html("Content-Type", "text/html", "Content-Security-Policy", `script-src 'nonce-"><script>alert(1)</script>'`), want: "snippet"},
		{name: "csp-nonce-quote", header: html("Content-Type", "text/html", "Content-Security-Policy", `default-src 'self'; script-src 'nonce-a"b' 'strict-dynamic'`), want: "snippet"},
		{name: "csp-nonce-empty", header: html("Content-Type", "text/html", "Content-Security-Policy", `script-src 'nonce-'`), want: "snippet"},
		{name: "csp-nonce-huge", header: html("Content-Type", "text/html", "Content-Security-Policy", "script-src 'nonce-"+strings.Repeat("A", 64<<10)+"'"), want: "snippet"},
		{name: "csp-nonce-valid", header: html("Content-Type", "text/html", "Content-Security-Policy", "script-src 'nonce-R4nd0m+/_-='"), want: "snippet"},
		{name: "csp-many", header: html("Content-Type", "text/html", "Content-Security-Policy", ";;;", "Content-Security-Policy", "script-src", "Content-Security-Policy", "default-src 'nonce-\u2028'"), want: "snippet"},
		{name: "type-upper", header: html("Content-Type", "TEXT/HTML; CHARSET=UTF-8"), want: "snippet"},
		{name: "type-xhtml", header: html("Content-Type", "application/xhtml+xml"), want: "snippet"},
		{name: "type-semicolons", header: html("Content-Type", "text/html;;;charset="), want: "snippet"},
		{name: "type-charset-utf16", header: html("Content-Type", `text/html; charset="utf-16"`)},
		{name: "type-two-values", header: html("Content-Type", "text/plain", "Content-Type", "text/html")},
		{name: "type-garbage", header: html("Content-Type", "\xff/;=\"")},
		{name: "type-plain", header: html("Content-Type", "text/plain; charset=utf-8"), want: "untouched"},
		{name: "type-json", header: html("Content-Type", "application/json"), want: "untouched"},
		{name: "type-empty", header: html("Content-Type", ""), want: "untouched"},
		{name: "type-sniffed", header: http.Header{}, want: "snippet"},
		{name: "gzip", header: html("Content-Type", "text/html", "Content-Encoding", "gzip"), body: gz(page), want: "untouched"},
		{name: "encoding-garbage", header: html("Content-Type", "text/html", "Content-Encoding", "x-\u2028, identity"), want: "untouched"},
		{name: "attachment", header: html("Content-Type", "text/html", "Content-Disposition", `attachment; filename="</script>.html"`), want: "untouched"},
		{name: "content-length-wrong", header: html("Content-Type", "text/html", "Content-Length", "-1")},
		{name: "content-length-garbage", header: html("Content-Type", "text/html", "Content-Length", "12abc")},
	} {
		c.name, c.user = "header-"+c.name, "jane"
		cases = append(cases, c)
	}

	var names []string
	for _, c := range cases {
		names = append(names, c.user)
	}
	var caseIdx atomic.Int64
	var panics atomic.Int64
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := cases[caseIdx.Load()]
		for k, v := range c.header {
			w.Header()[k] = v
		}
		body := page
		if c.body != nil {
			body = c.body
		}
		_ = writePage(w, body, -1)
	})
	logs := &faultLog{}
	m, err := productfruits.New(productfruits.Config{
		WorkspaceCode: harness.Workspace, Secret: harness.Secret, TTL: time.Hour, Inject: true,
		Username: productfruits.ContextUsername(faultUserKey{}),
		Profile: func(_ *http.Request, _ string) (productfruits.User, error) {
			if p := cases[caseIdx.Load()].profile; p != nil {
				return *p, nil
			}
			return productfruits.User{}, nil
		},
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	require.NoError(t, err)
	catch := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					panics.Add(1)
					t.Errorf("panic serving case %s: %v", cases[caseIdx.Load()].name, v)
					panic(v)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewUnstartedServer(catch(faultUser(names, m.Handler(app))))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()
	client, closeIdle := faultClient()
	defer closeIdle()
	signer := m.Signer()

	outcomes := map[string]int{}
	for i, c := range cases {
		caseIdx.Store(int64(i))
		resp, body := fetchAs(t, client, srv.URL, strconv.Itoa(i))
		sent := page
		if c.body != nil {
			sent = c.body
		}
		outcome, err := hostileOutcome(body, sent, signer, c)
		if !assert.NoError(t, err, "case %s", c.name) {
			continue
		}
		outcomes[outcome]++
		assert.Equal(t, http.StatusOK, resp.StatusCode, c.name)
		want := c.want
		if want == "" && !utf8.ValidString(c.user) {
			want = "untouched" // Sign refuses it: it could never verify
		} else if want == "" && c.header == nil {
			want = "snippet"
		}
		if want != "" {
			assert.Equal(t, want, outcome, "case %s", c.name)
		} else {
			t.Logf("%s: %s", c.name, outcome)
		}
	}
	t.Logf("%d cases: %v", len(cases), outcomes)
	assert.Zero(t, panics.Load())
	assert.NotContains(t, logs.String(), harness.Secret)
}

// hostileOutcome classifies a response: "untouched" when it is exactly
// what the app sent, "snippet" when it is that plus exactly one snippet
// whose user object parses, carries what the app gave and verifies for
// the user; anything else is an error.
func hostileOutcome(body, sent []byte, s *productfruits.Signer, c hostileCase) (string, error) {
	if bytes.Equal(body, sent) {
		return "untouched", nil
	}
	snips, err := harness.FindSnippets(body)
	if err != nil {
		return "", err
	}
	if len(snips) != 1 {
		return "", fmt.Errorf("%d snippets in the page, want 1", len(snips))
	}
	sn := snips[0]
	if rest := append(bytes.Clone(body[:sn.Start]), body[sn.End:]...); !bytes.Equal(rest, sent) {
		return "", errors.New("the page around the snippet is not what the app sent")
	}
	ws, _, u, err := harness.InitCall(sn)
	if err != nil {
		return "", err
	}
	if ws != harness.Workspace {
		return "", fmt.Errorf("workspace %q", ws)
	}
	if err := harness.VerifyUser(s, u, c.user, time.Now()); err != nil {
		return "", err
	}
	if c.profile != nil {
		// The browser must see the profile as encoding/json would give it.
		want := *c.profile
		want.Username, want.HMAC = u.Username, u.HMAC
		if err := sameJSON(want, u); err != nil {
			return "", err
		}
	}
	var csp string
	if c.header != nil {
		csp = strings.Join(c.header.Values("Content-Security-Policy"), ",")
	}
	for _, el := range sn.Elements {
		for _, m := range nonceAttr.FindAllSubmatch(el.Tag, -1) {
			n := string(m[1])
			if n == "" || strings.Trim(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-") != "" || !strings.Contains(csp, "'nonce-"+n+"'") {
				return "", fmt.Errorf("snippet carries the nonce %.40q", n)
			}
		}
	}
	if c.name == "header-csp-nonce-valid" && !bytes.Contains(sn.Elements[0].Tag, []byte(`nonce="R4nd0m+/_-="`)) {
		return "", errors.New("the valid CSP nonce is missing")
	}
	return "snippet", nil
}

func sameJSON(want, got any) error {
	a, err := json.Marshal(want)
	if err != nil {
		return err
	}
	b, err := json.Marshal(got)
	if err != nil {
		return err
	}
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return err
	}
	if !reflect.DeepEqual(x, y) {
		return fmt.Errorf("user object differs from the profile:\n got %.300s\nwant %.300s", b, a)
	}
	return nil
}
