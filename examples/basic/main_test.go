package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pfverify/productfruits"

	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileUsername tries every way a username could break out of the page
// or be garbled on the way: a script end tag, quotes, the two JavaScript
// line terminators JSON allows raw, non-ASCII letters and an emoji
// (a surrogate pair in JavaScript).
const hostileUsername = "</script><script>window.__pwned=1</script>'\"\u2028\u2029 \u017dlu\u0165ou\u010dk\u00fd k\u016f\u0148 \U0001F984"

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

type testApp struct {
	*httptest.Server
	cfg    appConfig
	signer *productfruits.Signer
	logs   *pftest.SyncBuffer
}

// startApp serves the demo as main would, configured by env, on a
// 127.0.0.1 port of its own.
func startApp(t *testing.T, env map[string]string) *testApp {
	t.Helper()
	logs := &pftest.SyncBuffer{}
	cfg, err := configFromEnv(envFrom(env), slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(nil)
	if cfg.Demo && cfg.ScriptURL == "" {
		cfg.ScriptURL = baseURL("127.0.0.1:0", srv.Listener.Addr()) + standInPath
	}
	h, err := newApp(cfg)
	require.NoError(t, err)
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	signer, err := productfruits.NewSigner(cfg.Secret)
	require.NoError(t, err)
	return &testApp{Server: srv, cfg: cfg, signer: signer, logs: logs}
}

// newClient returns a client with a cookie jar of its own: one visitor.
func (app *testApp) newClient(t *testing.T) *http.Client {
	t.Helper()
	return pftest.NewClient(t, app.Server)
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, body := pftest.Get(t, c, u)
	return resp, string(body)
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, body := pftest.PostForm(t, c, u, form)
	return resp, string(body)
}

func logIn(t *testing.T, c *http.Client, app *testApp, username string) string {
	t.Helper()
	return pftest.Login(t, c, app.URL, username)
}

var userObjectRE = regexp.MustCompile(`(?s)<pre id="user-object">(.*?)</pre>`)

// renderedUser is the user object the page shows from FromContext.
func renderedUser(t *testing.T, page string) (productfruits.User, bool) {
	t.Helper()
	m := userObjectRE.FindStringSubmatch(page)
	if m == nil {
		return productfruits.User{}, false
	}
	var u productfruits.User
	require.NoError(t, json.Unmarshal([]byte(html.UnescapeString(m[1])), &u))
	return u, true
}

// initCall is the init arguments the snippet's page data holds.
type initCall struct {
	Code, Lang string
	User       productfruits.User
}

const initMarker = pftest.PageDataCall

// injectedInit finds the injected init call in a page and decodes its
// arguments, which the snippet writes as JSON.
func injectedInit(t *testing.T, page string) (initCall, bool) {
	t.Helper()
	if !strings.Contains(page, initMarker) {
		return initCall{}, false
	}
	args := pftest.InitArgs(t, page) // exactly one call, of three arguments
	var c initCall
	require.NoError(t, json.Unmarshal(args[0], &c.Code))
	require.NoError(t, json.Unmarshal(args[1], &c.Lang))
	require.NoError(t, json.Unmarshal(args[2], &c.User))
	return c, true
}

func TestLoginPageLogout(t *testing.T) {
	app := startApp(t, map[string]string{"PRODUCTFRUITS_TTL": "1h"})
	c := app.newClient(t)

	_, page := get(t, c, app.URL+"/")
	assert.Contains(t, page, `<form id="login"`)
	pftest.RequireAnonymous(t, page, "an anonymous page carries only the anonymous page's script")
	_, ok := renderedUser(t, page)
	assert.False(t, ok)

	const name = "jane.doe@example.com"
	page = logIn(t, c, app, name)
	assert.Contains(t, page, `<strong id="username">jane.doe@example.com</strong>`)

	rendered, ok := renderedUser(t, page)
	require.True(t, ok, "the page shows FromContext's user object")
	pftest.VerifyUser(t, app.signer, rendered, name)
	pftest.VerifyExpiration(t, rendered, time.Hour)

	call, ok := injectedInit(t, page)
	require.True(t, ok, "with Inject on, the page carries the product's init call")
	assert.Equal(t, demoWorkspaceCode, call.Code)
	assert.Equal(t, "en", call.Lang)
	pftest.VerifyUser(t, app.signer, call.User, name)
	assert.Equal(t, rendered.HMAC, call.User.HMAC, "the page shows the very object it hands the product")
	runtime := pftest.RequireRuntime(t, c, app.URL, page)
	assert.Equal(t, app.URL+standInPath, pftest.RuntimeLoader(t, runtime), "demo pages load the stand-in")

	resp, body := get(t, c, app.URL+productfruits.DefaultIdentityPath)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var renewed productfruits.User
	require.NoError(t, json.Unmarshal([]byte(body), &renewed))
	pftest.VerifyUser(t, app.signer, renewed, name)

	resp, page = postForm(t, c, app.URL+"/logout", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, page, `<form id="login"`)
	pftest.RequireAnonymous(t, page)
	_, ok = renderedUser(t, page)
	assert.False(t, ok)
	resp, _ = get(t, c, app.URL+productfruits.DefaultIdentityPath)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestPageVariants(t *testing.T) {
	app := startApp(t, nil)
	c := app.newClient(t)
	logIn(t, c, app, hostileUsername)

	for _, path := range []string{"/", "/csp", "/nocharset"} {
		t.Run(path, func(t *testing.T) {
			resp, page := get(t, c, app.URL+path)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "private, no-store", resp.Header.Get("Cache-Control"))
			assert.NotContains(t, page, "<script>window.__pwned", "the username never reaches the page unescaped")

			call, ok := injectedInit(t, page)
			require.True(t, ok, "the page carries the init call")
			pftest.VerifyUser(t, app.signer, call.User, hostileUsername)
			rendered, ok := renderedUser(t, page)
			require.True(t, ok)
			pftest.VerifyUser(t, app.signer, rendered, hostileUsername)

			switch path {
			case "/csp":
				csp := resp.Header.Get("Content-Security-Policy")
				m := regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9+/=]+)'`).FindStringSubmatch(csp)
				require.NotNil(t, m, csp)
				assert.NotContains(t, csp, "unsafe-inline")
				// html/template writes the page's own nonce with '+' as
				// a character reference, which the browser reads back.
				assert.Equal(t, 4, strings.Count(html.UnescapeString(page), `nonce="`+m[1]+`"`), "the page's own script, the loader's preload and both snippet scripts carry the nonce")
				assert.Equal(t, 2, strings.Count(page, `<script nonce="`+m[1]+`" data-productfruits`)+strings.Count(page, `" nonce="`+m[1]+`" data-productfruits`), "both snippet scripts carry it")
				assert.Regexp(t, `<link rel="preload" as="script" href="[^"]*" nonce="`+regexp.QuoteMeta(m[1])+`"/>`, page, "the loader's preload carries it")
				resp2, _ := get(t, c, app.URL+path)
				assert.NotEqual(t, csp, resp2.Header.Get("Content-Security-Policy"), "a fresh nonce per request")
			case "/nocharset":
				assert.Equal(t, "text/html", resp.Header.Get("Content-Type"))
				assert.NotContains(t, strings.ToLower(page), "<meta charset")
				assert.NotContains(t, strings.ToLower(page), "charset=")
				for i := 0; i < len(page); i++ {
					require.Less(t, page[i], byte(utf8.RuneSelf), "byte %d of a page without charset is not ASCII", i)
				}
			default:
				assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
				assert.NotContains(t, page, "nonce=")
			}
		})
	}
}

func TestLoginRejectsBadUsernames(t *testing.T) {
	app := startApp(t, nil)
	for name, username := range map[string]string{
		"empty":    "",
		"too long": strings.Repeat("x", maxUsername+1),
		"not UTF8": "bad\xff",
	} {
		t.Run(name, func(t *testing.T) {
			c := app.newClient(t)
			resp, _ := postForm(t, c, app.URL+"/login", url.Values{"username": {username}})
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			_, page := get(t, c, app.URL+"/")
			assert.Contains(t, page, `<form id="login"`)
		})
	}
}

func TestTamperedSessionIsAnonymous(t *testing.T) {
	app := startApp(t, nil)
	c := app.newClient(t)
	logIn(t, c, app, "mallory")
	u, err := url.Parse(app.URL)
	require.NoError(t, err)
	cookies := c.Jar.Cookies(u)
	require.Len(t, cookies, 1)
	cookies[0].Value = "x" + cookies[0].Value[1:]
	c.Jar.SetCookies(u, cookies)

	resp, page := get(t, c, app.URL+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, page, `<form id="login"`)
	pftest.RequireAnonymous(t, page)
}

func TestDemoValuesWarnOnceWithoutSecret(t *testing.T) {
	app := startApp(t, map[string]string{"PRODUCTFRUITS_TTL": "1h"})
	c := app.newClient(t)
	logIn(t, c, app, "jane")
	get(t, c, app.URL+"/csp")
	get(t, c, app.URL+productfruits.DefaultIdentityPath)

	logs := app.logs.String()
	assert.Equal(t, 1, strings.Count(logs, "level=WARN"), logs)
	assert.Equal(t, 1, strings.Count(logs, "DEMO values"), logs)
	assert.NotContains(t, logs, demoSecret)
	assert.NotContains(t, app.cfg.String(), demoSecret)
}

func TestRealValues(t *testing.T) {
	const secret = "SecretkeyFromWorkspaceSettings"
	app := startApp(t, map[string]string{
		"PRODUCTFRUITS_WORKSPACE_CODE": "AbC123",
		"PRODUCTFRUITS_SECRET":         secret,
		"PRODUCTFRUITS_LANGUAGE":       "cs",
		"SESSION_KEY":                  strings.Repeat("k", 32),
	})
	assert.False(t, app.cfg.Demo)
	logs := app.logs.String()
	assert.NotContains(t, logs, "level=WARN")
	assert.NotContains(t, logs, secret)

	c := app.newClient(t)
	page := logIn(t, c, app, "testUser")
	call, ok := injectedInit(t, page)
	require.True(t, ok)
	assert.Equal(t, "AbC123", call.Code)
	assert.Equal(t, "cs", call.Lang)
	// The reference vector: no TTL, so no expiration.
	assert.Equal(t, &productfruits.HMAC{Hash: "LZGb1SPNlIIk0XBPWhCXc7boAxE/pmul4Mrzt23ZfEg="}, call.User.HMAC)
	runtime := pftest.RequireRuntime(t, c, app.URL, page)
	assert.Equal(t, productfruits.DefaultScriptURL, pftest.RuntimeLoader(t, runtime), "the product's loader")

	resp, _ := get(t, c, app.URL+standInPath)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no stand-in with a real workspace")
	resp, err := c.Post(app.URL+verifyPath, "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.NotEqual(t, http.StatusOK, resp.StatusCode, "no HMAC check endpoint with a real secret")
}

func TestDemoVerifyEndpoint(t *testing.T) {
	app := startApp(t, map[string]string{"PRODUCTFRUITS_TTL": "1h"})
	good, err := app.signer.Sign("jane", time.Now().Add(time.Hour))
	require.NoError(t, err)
	bad := good
	// A different first character whatever the hash starts with: a fixed
	// "A" would leave one hash in 64 untampered.
	first := "A"
	if good.Hash[0] == 'A' {
		first = "B"
	}
	bad.Hash = first + good.Hash[1:]
	expired, err := app.signer.Sign("jane", time.Now().Add(-time.Second))
	require.NoError(t, err)

	for _, tc := range []struct {
		name, workspace string
		user            productfruits.User
		want            verifyResponse
	}{
		{"valid", demoWorkspaceCode, productfruits.User{Username: "jane", HMAC: &good}, verifyResponse{Verified: true}},
		{"other user", demoWorkspaceCode, productfruits.User{Username: "john", HMAC: &good}, verifyResponse{Error: "hash mismatch"}},
		{"tampered hash", demoWorkspaceCode, productfruits.User{Username: "jane", HMAC: &bad}, verifyResponse{Error: "hash mismatch"}},
		{"expired", demoWorkspaceCode, productfruits.User{Username: "jane", HMAC: &expired}, verifyResponse{Error: "hmac expired"}},
		{"no hmac", demoWorkspaceCode, productfruits.User{Username: "jane"}, verifyResponse{Error: "the user object has no hmac"}},
		{"other workspace", "other", productfruits.User{Username: "jane", HMAC: &good}, verifyResponse{Error: "unknown workspace code"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := json.Marshal(verifyRequest{WorkspaceCode: tc.workspace, User: tc.user})
			require.NoError(t, err)
			resp, err := http.Post(app.URL+verifyPath, "application/json", bytes.NewReader(body))
			require.NoError(t, err)
			defer resp.Body.Close()
			var got verifyResponse
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	cfg, err := configFromEnv(envFrom(nil), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Equal(t, "localhost:8080", cfg.Addr)
	assert.True(t, cfg.Demo)
	assert.Equal(t, demoWorkspaceCode, cfg.WorkspaceCode)
	assert.Zero(t, cfg.TTL)
	assert.Empty(t, cfg.ScriptURL, "main points demo pages at the stand-in once it listens")
	assert.Len(t, cfg.SessionKey, 32)
	other, err := configFromEnv(envFrom(nil), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.NotEqual(t, cfg.SessionKey, other.SessionKey, "a random session key per start")

	cfg, err = configFromEnv(envFrom(map[string]string{
		"ADDR":                     ":9000",
		"PRODUCTFRUITS_TTL":        "90m",
		"PRODUCTFRUITS_SCRIPT_URL": "https://cdn.example.com/pf.js",
		"SESSION_KEY":              strings.Repeat("s", 40),
	}), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Equal(t, ":9000", cfg.Addr)
	assert.Equal(t, 90*time.Minute, cfg.TTL)
	assert.Equal(t, "https://cdn.example.com/pf.js", cfg.ScriptURL)
	assert.Equal(t, []byte(strings.Repeat("s", 40)), cfg.SessionKey)
}

func TestConfigFromEnvErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"secret without code", map[string]string{"PRODUCTFRUITS_SECRET": "s"}, "PRODUCTFRUITS_WORKSPACE_CODE is not"},
		{"code without secret", map[string]string{"PRODUCTFRUITS_WORKSPACE_CODE": "c"}, "PRODUCTFRUITS_SECRET is not"},
		{"TTL not a duration", map[string]string{"PRODUCTFRUITS_TTL": "3 seconds"}, "PRODUCTFRUITS_TTL"},
		{"TTL without unit", map[string]string{"PRODUCTFRUITS_TTL": "3600"}, "PRODUCTFRUITS_TTL"},
		{"TTL negative", map[string]string{"PRODUCTFRUITS_TTL": "-1h"}, "not positive"},
		{"TTL zero", map[string]string{"PRODUCTFRUITS_TTL": "0s"}, "not positive"},
		{"short session key", map[string]string{"SESSION_KEY": "short"}, "SESSION_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &pftest.SyncBuffer{}
			_, err := configFromEnv(envFrom(tc.env), slog.New(slog.NewTextHandler(logs, nil)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			if s := tc.env["PRODUCTFRUITS_SECRET"]; s != "" {
				assert.NotContains(t, err.Error()+logs.String(), "="+s)
			}
		})
	}
}

func TestNewAppErrors(t *testing.T) {
	valid := func() appConfig {
		return appConfig{
			WorkspaceCode: "ws", Secret: "s", ScriptURL: "http://127.0.0.1:1" + standInPath,
			SessionKey: bytes.Repeat([]byte{1}, 32), Demo: true, Logger: slog.New(slog.DiscardHandler),
		}
	}
	_, err := newApp(valid())
	require.NoError(t, err)

	for _, tc := range []struct {
		name     string
		change   func(*appConfig)
		want     string
		wrapsCfg bool
	}{
		{"language", func(c *appConfig) { c.Language = "english" }, "Language", true},
		{"script URL", func(c *appConfig) { c.ScriptURL = "ftp://example.com/x.js" }, "ScriptURL", true},
		{"workspace code", func(c *appConfig) { c.WorkspaceCode = "no spaces" }, "WorkspaceCode", true},
		{"TTL below a millisecond", func(c *appConfig) { c.TTL = time.Microsecond }, "TTL", true},
		{"short session key", func(c *appConfig) { c.SessionKey = []byte("short") }, "session key", false},
		{"demo without stand-in URL", func(c *appConfig) { c.ScriptURL = "" }, "ScriptURL", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.change(&cfg)
			_, err := newApp(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, tc.wrapsCfg, errors.Is(err, productfruits.ErrConfig))
		})
	}
}

func TestBaseURL(t *testing.T) {
	for _, tc := range []struct{ addr, bound, want string }{
		{"localhost:8080", "127.0.0.1:8080", "http://localhost:8080"},
		{"127.0.0.1:0", "127.0.0.1:40123", "http://127.0.0.1:40123"},
		{":8080", "[::]:8080", "http://localhost:8080"},
		{"0.0.0.0:0", "0.0.0.0:5555", "http://localhost:5555"},
		{"[::1]:0", "[::1]:4444", "http://[::1]:4444"},
	} {
		bound, err := net.ResolveTCPAddr("tcp", tc.bound)
		require.NoError(t, err)
		assert.Equal(t, tc.want, baseURL(tc.addr, bound), tc.addr)
	}
}
