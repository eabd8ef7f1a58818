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
	// testSecret is the secret of the product's documented vectors.
	testSecret = "SecretkeyFromWorkspaceSettings"
)

func TestTemplatePage(t *testing.T) {
	app, err := newApp(testWorkspace, testSecret)
	require.NoError(t, err)
	srv := httptest.NewTLSServer(app)
	t.Cleanup(srv.Close)
	signer, err := productfruits.NewSigner(testSecret)
	require.NoError(t, err)

	t.Run("anonymous page has no snippet", func(t *testing.T) {
		page := get(t, newClient(t, srv), srv.URL+"/")
		assert.NotContains(t, page, "data-productfruits")
		assert.NotContains(t, page, "$productFruits")
	})

	for _, tc := range []struct {
		name, username string
		wantHash       string // from the product's reference computation, when known
	}{
		{"documented vector", "testUser", "LZGb1SPNlIIk0XBPWhCXc7boAxE/pmul4Mrzt23ZfEg="},
		{"non-ASCII", "Žluťoučký kůň", "9/oC/hq4ezTsGAkrneveSYQnc8UnkNSdZ8ER9EK1MtU="},
		{"markup in the username", `</script><script>alert("x")</script>&`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := newClient(t, srv)
			res, err := client.PostForm(srv.URL+"/login", url.Values{"username": {tc.username}})
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode)

			page := get(t, client, srv.URL+"/")
			head, _, ok := strings.Cut(page, "</head>")
			require.True(t, ok)
			// The snippet is two elements, the init call and the loader, and
			// nothing else on the page may open a script element.
			assert.Equal(t, 2, strings.Count(page, "<script"), "script elements in the page")
			assert.Equal(t, 2, strings.Count(head, "data-productfruits"), "snippet's script elements in <head>")
			assert.Equal(t, 1, strings.Count(head, `src="`+productfruits.DefaultScriptURL+`"`), "loader in <head>")

			user := initUser(t, head)
			assert.Equal(t, tc.username, user.Username)
			require.NotNil(t, user.HMAC)
			require.NoError(t, signer.Verify(user.Username, *user.HMAC, time.Now()))
			if tc.wantHash != "" {
				assert.Equal(t, tc.wantHash, user.HMAC.Hash)
			}

			res, err = client.PostForm(srv.URL+"/logout", nil)
			require.NoError(t, err)
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			require.NoError(t, err)
			assert.NotContains(t, string(body), "data-productfruits", "page after logout")
		})
	}
}

func newClient(t *testing.T, srv *httptest.Server) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := srv.Client()
	c.Jar = jar
	return c
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	res, err := c.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "private, no-store", res.Header.Get("Cache-Control"))
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(body)
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
	assert.JSONEq(t, `"en"`, string(args[1]))
	var user productfruits.User
	require.NoError(t, json.Unmarshal(args[2], &user))
	return user
}
