package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/examples/internal/pftest"
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
	srv := pftest.NewTLSServer(t, app)
	signer := pftest.NewSigner(t, testSecret)

	t.Run("anonymous page has no snippet", func(t *testing.T) {
		page := get(t, pftest.NewClient(t, srv), srv.URL+"/")
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
			client := pftest.NewClient(t, srv)
			pftest.Login(t, client, srv.URL, tc.username)

			page := get(t, client, srv.URL+"/")
			head, _, ok := strings.Cut(page, "</head>")
			require.True(t, ok)
			// The snippet is two elements, the init call and the loader, and
			// nothing else on the page may open a script element.
			assert.Equal(t, 2, strings.Count(page, "<script"), "script elements in the page")
			assert.Equal(t, 2, strings.Count(head, "data-productfruits"), "snippet's script elements in <head>")
			assert.Equal(t, 1, strings.Count(head, `src="`+productfruits.DefaultScriptURL+`"`), "loader in <head>")

			user := initUser(t, head)
			pftest.VerifyUser(t, signer, user, tc.username)
			if tc.wantHash != "" {
				assert.Equal(t, tc.wantHash, user.HMAC.Hash)
			}

			res, err := client.PostForm(srv.URL+"/logout", nil)
			require.NoError(t, err)
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			require.NoError(t, err)
			assert.NotContains(t, string(body), "data-productfruits", "page after logout")
		})
	}
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	res, body := pftest.Get(t, c, url)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "private, no-store", res.Header.Get("Cache-Control"))
	return string(body)
}

// initUser returns the user object of the page's one init call,
// $productFruits.push(['init', workspace, language, user]).
func initUser(t *testing.T, page string) productfruits.User {
	t.Helper()
	args := pftest.InitArgs(t, page)
	assert.JSONEq(t, `"`+testWorkspace+`"`, string(args[0]))
	assert.JSONEq(t, `"en"`, string(args[1]))
	return pftest.DecodeUser(t, args[2])
}
