package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pfverify/productfruits"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testWorkspace = "test-workspace"
	testSecret    = "test-secret"
)

func TestGorillaMux(t *testing.T) {
	app, err := newApp(testWorkspace, testSecret)
	require.NoError(t, err)
	srv := httptest.NewTLSServer(app)
	t.Cleanup(srv.Close)
	signer, err := productfruits.NewSigner(testSecret)
	require.NoError(t, err)

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := srv.Client()
	client.Jar = jar
	get := func(t *testing.T, path string) (*http.Response, []byte) {
		t.Helper()
		res, err := client.Get(srv.URL + path)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, body
	}
	// checkUser verifies user's HMAC and that it expires in about an hour.
	checkUser := func(t *testing.T, user productfruits.User) {
		t.Helper()
		assert.Equal(t, "jane.doe@example.com", user.Username)
		require.NotNil(t, user.HMAC)
		require.NoError(t, signer.Verify(user.Username, *user.HMAC, time.Now()))
		exp, err := time.Parse(time.RFC3339, user.HMAC.Expiration)
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now().Add(time.Hour), exp, time.Minute)
	}

	t.Run("anonymous", func(t *testing.T) {
		res, body := get(t, "/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.NotContains(t, string(body), "data-productfruits")
		res, _ = get(t, productfruits.DefaultIdentityPath)
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	})

	res, err := client.PostForm(srv.URL+"/login", url.Values{"username": {"jane.doe@example.com"}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	t.Run("page", func(t *testing.T) {
		res, body := get(t, "/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		head, _, _ := strings.Cut(string(body), "</head>")
		checkUser(t, initUser(t, head))
		assert.Contains(t, head, productfruits.DefaultIdentityPath, "renewal script")
	})
	t.Run("identity endpoint", func(t *testing.T) {
		res, body := get(t, productfruits.DefaultIdentityPath)
		require.Equal(t, http.StatusOK, res.StatusCode)
		var user productfruits.User
		require.NoError(t, json.Unmarshal(body, &user))
		checkUser(t, user)
	})
}

// initUser returns the user object of the page's one init call,
// $productFruits.push(['init', workspace, language, user]).
func initUser(t *testing.T, page string) productfruits.User {
	t.Helper()
	const call = "$productFruits.push(['init',"
	require.Equal(t, 1, strings.Count(page, call), "init calls")
	_, rest, _ := strings.Cut(page, call)
	var args []json.RawMessage
	require.NoError(t, json.NewDecoder(strings.NewReader("["+rest)).Decode(&args))
	require.Len(t, args, 3)
	assert.JSONEq(t, `"`+testWorkspace+`"`, string(args[0]))
	var user productfruits.User
	require.NoError(t, json.Unmarshal(args[2], &user))
	return user
}
