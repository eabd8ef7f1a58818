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

func TestEcho(t *testing.T) {
	e, err := newApp(testWorkspace, testSecret)
	require.NoError(t, err)
	srv := httptest.NewTLSServer(e)
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

	t.Run("anonymous", func(t *testing.T) {
		for path, want := range map[string]int{
			"/":                               http.StatusOK,
			"/me":                             http.StatusUnauthorized,
			productfruits.DefaultIdentityPath: http.StatusUnauthorized,
		} {
			res, body := get(t, path)
			assert.Equal(t, want, res.StatusCode, path)
			assert.NotContains(t, string(body), "hmac", path)
		}
	})

	res, err := client.PostForm(srv.URL+"/login", url.Values{"username": {"Žluťoučký kůň"}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	for _, tc := range []struct {
		path string
		user func(t *testing.T, body []byte) productfruits.User
	}{
		{"/", func(t *testing.T, body []byte) productfruits.User {
			head, _, _ := strings.Cut(string(body), "</head>")
			return initUser(t, head)
		}},
		{"/me", func(t *testing.T, body []byte) productfruits.User {
			var v struct{ ProductFruitsUser productfruits.User }
			require.NoError(t, json.Unmarshal(body, &v))
			return v.ProductFruitsUser
		}},
		{productfruits.DefaultIdentityPath, func(t *testing.T, body []byte) productfruits.User {
			var u productfruits.User
			require.NoError(t, json.Unmarshal(body, &u))
			return u
		}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, tc.path)
			require.Equal(t, http.StatusOK, res.StatusCode)
			user := tc.user(t, body)
			assert.Equal(t, "Žluťoučký kůň", user.Username)
			require.NotNil(t, user.HMAC)
			assert.NoError(t, signer.Verify(user.Username, *user.HMAC, time.Now()))
		})
	}
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
