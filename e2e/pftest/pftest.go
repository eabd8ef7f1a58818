// Package pftest holds the test helpers of the examples' smoke tests and
// the end-to-end suites: the app under test (App: a TLS server, a signer
// for its secret and a cookie-jar client), requests that read the whole
// body, the demo login, and checks of the signed user a page or endpoint
// hands out.
//
// A typical example test:
//
//	app := pftest.Start(t, newApp)
//	app.Login(t, "jane.doe@example.com")
//	res, body := app.Get(t, "/")
//	user := pftest.HeadUser(t, string(body), pftest.Workspace)
//	pftest.VerifyUser(t, app.Signer, user, "jane.doe@example.com")
package pftest

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/internal/testlog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The workspace code and secret the examples' tests configure their apps
// with.
const (
	Workspace = "test-workspace"
	Secret    = "test-secret"
	// VectorSecret is the secret of the product's documented HMAC
	// vectors, for tests that compare hashes with them.
	VectorSecret = "SecretkeyFromWorkspaceSettings"
)

// ExpirationLayout is how the product writes an HMAC's expiration: UTC,
// to the millisecond.
const ExpirationLayout = "2006-01-02T15:04:05.000Z"

// App is an example app under test: its TLS server, a signer for the
// secret it signs with, and Client, one visitor with a cookie jar.
type App struct {
	*httptest.Server
	Signer *productfruits.Signer
	Client *http.Client
}

// Serve serves h, which signs with secret, over TLS until the test ends.
func Serve(t testing.TB, h http.Handler, secret string) *App {
	t.Helper()
	srv := NewTLSServer(t, h)
	return &App{Server: srv, Signer: NewSigner(t, secret), Client: NewClient(t, srv)}
}

// Start builds an example's app with newApp(Workspace, Secret) and Serves
// it.
func Start[H http.Handler](t testing.TB, newApp func(workspaceCode, secret string) (H, error)) *App {
	t.Helper()
	h, err := newApp(Workspace, Secret)
	require.NoError(t, err)
	return Serve(t, h, Secret)
}

// NewRequest returns a request for method and the app's path, with no
// body.
func (a *App) NewRequest(t testing.TB, method, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, a.URL+path, nil)
	require.NoError(t, err)
	return req
}

// Do is Do with a.Client.
func (a *App) Do(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	return Do(t, a.Client, req)
}

// Get is Get of the app's path with a.Client.
func (a *App) Get(t testing.TB, path string) (*http.Response, []byte) {
	t.Helper()
	return Get(t, a.Client, a.URL+path)
}

// GetGzip is a GET of the app's path that asks for gzip itself, so that
// the client does not decompress behind the test's back: it requires a
// gzip-encoded response and returns it with its body decompressed.
func (a *App) GetGzip(t testing.TB, path string) (*http.Response, []byte) {
	t.Helper()
	req := a.NewRequest(t, http.MethodGet, path)
	req.Header.Set("Accept-Encoding", "gzip")
	res, body := a.Do(t, req)
	require.Equal(t, "gzip", res.Header.Get("Content-Encoding"), "the response is gzipped")
	zr, err := gzip.NewReader(bytes.NewReader(body))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	return res, plain
}

// Login is Login of username with a.Client, and returns the page it ends
// on.
func (a *App) Login(t testing.TB, username string) string {
	t.Helper()
	return Login(t, a.Client, a.URL, username)
}

// NewTLSServer starts an httptest TLS server for h and closes it at the
// end of the test.
func NewTLSServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// NewSigner returns a productfruits.Signer for secret, failing the test
// when it cannot be made.
func NewSigner(t testing.TB, secret string) *productfruits.Signer {
	t.Helper()
	signer, err := productfruits.NewSigner(secret)
	require.NoError(t, err)
	return signer
}

// NewClient returns a client for srv (trusting its certificate, when it
// has one) with a fresh cookie jar of its own, so that it keeps a session
// like one browser, and a timeout of 10 s a request.
func NewClient(t testing.TB, srv *httptest.Server) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := *srv.Client() // a copy: srv's own client is shared
	c.Jar = jar
	c.Timeout = 10 * time.Second
	return &c
}

// Cookies returns the cookies c's jar holds for rawURL.
func Cookies(t testing.TB, c *http.Client, rawURL string) []*http.Cookie {
	t.Helper()
	require.NotNil(t, c.Jar, "a client without a cookie jar")
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	return c.Jar.Cookies(u)
}

// Do sends req with c and returns the response with its whole body read
// (the response's Body is closed).
func Do(t testing.TB, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, body
}

// Get is Do for a GET of url.
func Get(t testing.TB, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	return Do(t, c, req)
}

// PostForm is Do for a POST of form to url.
func PostForm(t testing.TB, c *http.Client, url string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return Do(t, c, req)
}

// Login signs username in through the demo login form, a POST to
// baseURL+"/login", requires that it redirects to a 200 page at "/", and
// returns that page.
func Login(t testing.TB, c *http.Client, baseURL, username string) string {
	t.Helper()
	res, body := PostForm(t, c, baseURL+"/login", url.Values{"username": {username}})
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	require.Equal(t, "/", res.Request.URL.Path, "login redirects to the page")
	return string(body)
}

// PageDataCall is how a snippet hands its page data (workspace,
// language, user, and with a TTL the identity endpoint) to the library's
// lifecycle runtime, which inits the product.
const PageDataCall = `.push({"workspace":`

// AnonymousScript is the whole script element an anonymous page gets
// from the middleware (without a CSP nonce): no user data, the same for
// every visitor.
const AnonymousScript = `<script data-productfruits="anonymous">(window.__productfruitsGo=window.__productfruitsGo||[]).push(0);try{new BroadcastChannel("productfruits").postMessage("out")}catch(e){}</script>`

// RequireAnonymous requires that page carries the anonymous page's script
// once and nothing of a user's snippet: no page data, no loader.
func RequireAnonymous(t testing.TB, page string, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, 1, strings.Count(page, AnonymousScript), msgAndArgs...)
	require.Equal(t, 1, strings.Count(page, "data-productfruits"), msgAndArgs...)
	require.NotContains(t, page, PageDataCall, msgAndArgs...)
}

// InitArgs returns the init arguments (workspace, language, user) of
// page's one snippet, read from its page data object, requiring that
// there is exactly one such snippet.
func InitArgs(t testing.TB, page string) []json.RawMessage {
	t.Helper()
	require.Equal(t, 1, strings.Count(page, PageDataCall), "snippets with page data")
	_, rest, _ := strings.Cut(page, PageDataCall)
	var data struct {
		Workspace, Language, User json.RawMessage
	}
	require.NoError(t, json.NewDecoder(strings.NewReader(`{"workspace":`+rest)).Decode(&data))
	return []json.RawMessage{data.Workspace, data.Language, data.User}
}

// IdentityURL returns where page's one snippet renews its user object:
// the endpoint the runtime reads off its own URL (the runtime's path
// without its file name), or "" when the page does not renew (no TTL).
// The page data itself names no endpoint.
func IdentityURL(t testing.TB, page string) string {
	t.Helper()
	require.Equal(t, 1, strings.Count(page, PageDataCall), "snippets with page data")
	_, rest, _ := strings.Cut(page, PageDataCall)
	var data struct {
		Identity *string
		TTL      int64
	}
	require.NoError(t, json.NewDecoder(strings.NewReader(`{"workspace":`+rest)).Decode(&data))
	require.Nil(t, data.Identity, "the page data names the endpoint: the runtime reads it off its own URL")
	if data.TTL == 0 {
		return ""
	}
	runtime := RuntimeURL(t, page)
	return runtime[:strings.LastIndexByte(runtime, '/')]
}

// runtimeElement matches the snippet's second script element: the page
// lifecycle runtime, loaded from the middleware.
var runtimeElement = regexp.MustCompile(`<script async="" fetchpriority="high" src="([^"]*/lifecycle\.[0-9a-f]{12}\.js)" (?:nonce="[^"]*" )?data-productfruits=""></script>`)

// RuntimeURL returns the URL (a path on the page's origin) that page's
// one snippet loads the lifecycle runtime from, requiring that there is
// exactly one such snippet.
func RuntimeURL(t testing.TB, page string) string {
	t.Helper()
	m := runtimeElement.FindAllStringSubmatch(page, -1)
	require.Len(t, m, 1, "runtime elements in the page")
	return m[0][1]
}

// RequireRuntime fetches the lifecycle runtime that page's snippet loads,
// with a.Client, and requires what a browser needs to run it and cache it
// for good: 200, JavaScript, immutable for a year, the same bytes the
// version in its file name names. It returns the runtime.
func (a *App) RequireRuntime(t testing.TB, page string) []byte {
	t.Helper()
	return RequireRuntime(t, a.Client, a.URL, page)
}

// RequireRuntime is App.RequireRuntime for client c and the app at
// baseURL.
func RequireRuntime(t testing.TB, c *http.Client, baseURL, page string) []byte {
	t.Helper()
	path := RuntimeURL(t, page)
	res, body := Get(t, c, baseURL+path)
	CheckRuntime(t, path, res, body)
	return body
}

// CheckRuntime requires of res, the answer to a GET of the runtime at
// path, with its body, what RequireRuntime does.
func CheckRuntime(t testing.TB, path string, res *http.Response, body []byte) {
	t.Helper()
	require.Equal(t, http.StatusOK, res.StatusCode, "GET %s: %s", path, body)
	assert.Equal(t, "text/javascript; charset=utf-8", res.Header.Get("Content-Type"), path)
	assert.Equal(t, "public, max-age=31536000, immutable", res.Header.Get("Cache-Control"), path)
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), path)
	sum := sha256.Sum256(body)
	assert.True(t, strings.HasSuffix(path, "/lifecycle."+hex.EncodeToString(sum[:6])+".js"),
		"%s: the file name names the bytes served", path)
	require.Contains(t, string(body), "__productfruitsGo", "the lifecycle runtime")
}

// runtimeLoader matches the end of the lifecycle runtime, where the
// middleware wrote the loader's URL as a JSON string.
var runtimeLoader = regexp.MustCompile(`\}\)\(window, document, ("(?:[^"\\]|\\.)*")\);$`)

// RuntimeLoader returns the URL of the product's loader that runtime, the
// lifecycle runtime a page loads, appends to the page.
func RuntimeLoader(t testing.TB, runtime []byte) string {
	t.Helper()
	m := runtimeLoader.FindSubmatch(runtime)
	require.NotNil(t, m, "no loader URL at the runtime's end: %.200q", runtime)
	var url string
	require.NoError(t, json.Unmarshal(m[1], &url))
	return url
}

// Head returns page up to its </head>, requiring that there is one.
func Head(t testing.TB, page string) string {
	t.Helper()
	head, _, ok := strings.Cut(page, "</head>")
	require.True(t, ok, "the page has no </head>")
	return head
}

// HeadUser returns the user object of the one init call in page's
// <head>, asserting that the call names workspace (see InitUser).
func HeadUser(t testing.TB, page, workspace string) productfruits.User {
	t.Helper()
	return InitUser(t, Head(t, page), workspace)
}

// InitUser returns the user object of page's one init call (see
// InitArgs), asserting that the call names workspace and the language
// every example leaves at the default, en.
func InitUser(t testing.TB, page, workspace string) productfruits.User {
	t.Helper()
	args := InitArgs(t, page)
	assert.JSONEq(t, `"`+workspace+`"`, string(args[0]))
	assert.JSONEq(t, `"en"`, string(args[1]))
	return DecodeUser(t, args[2])
}

// DecodeUser decodes a user object, failing the test when it is not one.
func DecodeUser(t testing.TB, data []byte) productfruits.User {
	t.Helper()
	var user productfruits.User
	require.NoError(t, json.Unmarshal(data, &user))
	return user
}

// VerifyUser requires that user is username and carries an HMAC that
// signer verifies now.
func VerifyUser(t testing.TB, signer *productfruits.Signer, user productfruits.User, username string) {
	t.Helper()
	require.Equal(t, username, user.Username)
	require.NotNil(t, user.HMAC)
	require.NoError(t, signer.Verify(user.Username, *user.HMAC, time.Now()))
}

// Expiration returns when user's HMAC, which must be present, expires,
// requiring that it is written in ExpirationLayout.
func Expiration(t testing.TB, user productfruits.User) time.Time {
	t.Helper()
	require.NotNil(t, user.HMAC, "user object without hmac")
	exp, err := time.Parse(ExpirationLayout, user.HMAC.Expiration)
	require.NoError(t, err)
	return exp
}

// VerifyExpiration asserts that user's HMAC, which must be present,
// expires ttl from now, give or take a minute.
func VerifyExpiration(t testing.TB, user productfruits.User, ttl time.Duration) {
	t.Helper()
	assert.WithinDuration(t, time.Now().Add(ttl), Expiration(t, user), time.Minute)
}

// SyncBuffer is the project's concurrency-safe log sink, for a server's
// log while the test reads it. The zero value is ready to use.
type SyncBuffer = testlog.Buffer
