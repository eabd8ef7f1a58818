// Package pftest holds the test helpers the examples share: servers and
// cookie-jar clients, requests that read the whole body, the demo login,
// and checks of the signed user a page or endpoint hands out.
package pftest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pfverify/productfruits"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

// NewClient returns srv's client with a fresh cookie jar of its own, so
// that it keeps a session like one browser.
func NewClient(t testing.TB, srv *httptest.Server) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := srv.Client()
	c.Jar = jar
	return c
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

// Login signs username in through the demo login form, a POST to
// baseURL+"/login", and requires that it ends on a 200 page.
func Login(t testing.TB, c *http.Client, baseURL, username string) {
	t.Helper()
	res, err := c.PostForm(baseURL+"/login", url.Values{"username": {username}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
}

// InitArgs returns the three arguments (workspace, language, user) of
// page's one init call, $productFruits.push(['init', workspace, language,
// user]), requiring that there is exactly one such call.
func InitArgs(t testing.TB, page string) []json.RawMessage {
	t.Helper()
	const call = "$productFruits.push(['init',"
	require.Equal(t, 1, strings.Count(page, call), "init calls")
	_, rest, _ := strings.Cut(page, call)
	var args []json.RawMessage
	require.NoError(t, json.NewDecoder(strings.NewReader("["+rest)).Decode(&args))
	require.Len(t, args, 3)
	return args
}

// InitUser returns the user object of page's one init call (see
// InitArgs), asserting that the call names workspace.
func InitUser(t testing.TB, page, workspace string) productfruits.User {
	t.Helper()
	args := InitArgs(t, page)
	assert.JSONEq(t, `"`+workspace+`"`, string(args[0]))
	return DecodeUser(t, args[2])
}

// DecodeUser decodes a user object, failing the test when it is not one.
func DecodeUser(t testing.TB, data []byte) productfruits.User {
	t.Helper()
	var user productfruits.User
	require.NoError(t, json.Unmarshal(data, &user))
	return user
}

// VerifyUser asserts that user is username and requires that it carries
// an HMAC that signer verifies now.
func VerifyUser(t testing.TB, signer *productfruits.Signer, user productfruits.User, username string) {
	t.Helper()
	assert.Equal(t, username, user.Username)
	require.NotNil(t, user.HMAC)
	require.NoError(t, signer.Verify(user.Username, *user.HMAC, time.Now()))
}

// VerifyExpiration asserts that user's HMAC, which must be present,
// expires ttl from now, give or take a minute.
func VerifyExpiration(t testing.TB, user productfruits.User, ttl time.Duration) {
	t.Helper()
	exp, err := time.Parse(time.RFC3339, user.HMAC.Expiration)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(ttl), exp, time.Minute)
}

// SyncBuffer is a bytes.Buffer that the server's goroutines may write to
// while the test reads it, as a log sink. The zero value is ready to use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
