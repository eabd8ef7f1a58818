package harness

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/internal/testlog"
)

// TestFaultPanicsAndDisconnects breaks requests every way a handler or a
// client can, while other users load the same server, and checks that no
// goroutine outlives them and that the requests after each break are
// served correctly: the page intact, the user object each asker's own. A
// writer returned to the pool dirty would leak one request's held bytes
// or user into another's page. Nothing here waits on a clock: each step
// waits for the event it needs, and timeouts only catch hangs.
func TestFaultPanicsAndDisconnects(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	defer func() { assert.NoError(t, settled(ignore), "goroutines outlived the test") }()

	doc := NewDoc(48<<10, 4<<10)
	page := doc.Bytes()
	head := bytes.Index(page, []byte("</head>"))
	require.Positive(t, head)
	big := NewDoc(1<<30, 32<<10) // ends early: its clients go away
	logs := &testlog.Buffer{}
	m, err := productfruits.New(Config(true, slog.New(slog.NewTextHandler(logs, nil))))
	require.NoError(t, err)

	var handlersDone sync.WaitGroup   // streams and stalls, which must end once their client has gone
	stalled := make(chan struct{}, 1) // the stall handler holds part of its head
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
		stalled <- struct{}{}
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
	srv := httptest.NewUnstartedServer(Auth(root))
	serverLog := &testlog.Buffer{}
	srv.Config.ErrorLog = log.New(serverLog, "", 0)
	srv.Start()
	defer srv.Close()
	client, closeIdle := faultClient()
	defer closeIdle()
	signer := m.Signer()

	// Background load: users asking all along, every page checked. Each
	// user goes on until told to stop and has been served at least once
	// (one more try after the stop), however slow the machine.
	stopLoad := make(chan struct{})
	var loadWG sync.WaitGroup
	var loadOK atomic.Int64
	loadErrs := make(chan error, 64)
	for i := range 3 {
		loadWG.Go(func() {
			name := Username(100 + i)
			for served := 0; ; {
				stopped := false
				select {
				case <-stopLoad:
					stopped = true
				default:
				}
				if stopped && served > 0 {
					return
				}
				_, body, err := faultGet(context.Background(), client, srv.URL+"/page", name)
				if err == nil {
					err = CheckInjected(body, doc, signer, name, time.Now())
				}
				if err != nil {
					select {
					case loadErrs <- fmt.Errorf("%s: %w", name, err):
					default:
					}
					if stopped {
						return
					}
					continue
				}
				served++
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
				assert.NoError(t, CheckInjected(body, doc, signer, name, time.Now()), "%s: next request as %s", what, name)
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
		req.Header.Set(UserHeader, "leaver")
		if c.path == "/stall" {
			// Leave once the handler holds part of its head, not before
			// the request has even reached it.
			go func() {
				select {
				case <-stalled:
					cancel()
				case <-reqCtx.Done():
				}
			}()
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
		waitGroupTimeout(t, &handlersDone, hangAfter, what)
		afterwards(what)
	}

	close(stopLoad)
	loadWG.Wait()
	close(loadErrs)
	for err := range loadErrs {
		t.Errorf("background load: %v", err)
	}
	assert.Positive(t, loadOK.Load(), "background load served nothing")
	assert.Empty(t, logs.Lines(), "the middleware logged")
	assert.NotContains(t, serverLog.String(), Secret)
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

// TestFaultFailuresServePageUnchanged: when the user cannot be resolved,
// enriched or encoded, the page goes out exactly as the app wrote it,
// with one log line and no secret in it.
func TestFaultFailuresServePageUnchanged(t *testing.T) {
	page := NewDoc(24<<10, 0).Bytes()
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
				logs := &testlog.Buffer{}
				m, err := productfruits.New(productfruits.Config{
					WorkspaceCode: Workspace, Secret: productfruits.NewSecret(Secret), TTL: time.Hour, Inject: true,
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
				lines := logs.Lines()
				if assert.Len(t, lines, 1, "log lines") {
					assert.Contains(t, lines[0], tc.logs)
				}
				assert.NotContains(t, logs.String(), Secret)
			})
		}
	}
}

func fetchAs(t *testing.T, c *http.Client, url, userIndex string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set(faultUserHeader, userIndex)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// TestFaultHostileInput sends hostile usernames, profiles and response
// headers through the whole chain with injection: no panic, and each page
// comes back either untouched or with exactly one snippet whose user
// object parses as JSON, carries the data it was given and verifies.
func TestFaultHostileInput(t *testing.T) {
	page := NewDoc(16<<10, 0).Bytes()
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
	logs := &testlog.Buffer{}
	m, err := productfruits.New(productfruits.Config{
		WorkspaceCode: Workspace, Secret: productfruits.NewSecret(Secret), TTL: time.Hour, Inject: true,
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
	assert.NotContains(t, logs.String(), Secret)
}
