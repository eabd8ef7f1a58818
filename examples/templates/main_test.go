package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTemplatePage(t *testing.T) {
	h, err := newApp(pftest.Workspace, pftest.VectorSecret)
	require.NoError(t, err)
	app := pftest.Serve(t, h, pftest.VectorSecret)

	t.Run("anonymous page has no snippet", func(t *testing.T) {
		page := get(t, pftest.NewClient(t, app.Server), app.URL+"/")
		pftest.RequireAnonymous(t, page)
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
			client := pftest.NewClient(t, app.Server)
			pftest.Login(t, client, app.URL, tc.username)

			page := get(t, client, app.URL+"/")
			head := pftest.Head(t, page)
			// The snippet is the loader's preload and two script elements,
			// the page data and the lifecycle runtime (which appends the
			// loader), and nothing else on the page may open a script
			// element.
			assert.Equal(t, 2, strings.Count(page, "<script"), "script elements in the page")
			assert.Equal(t, 2, strings.Count(head, "data-productfruits"), "snippet's scripts in <head>")
			assert.Equal(t, 1, strings.Count(head, `<link rel="preload" as="script"`), "the loader's preload in <head>")
			runtime := pftest.RequireRuntime(t, client, app.URL, head)
			assert.Equal(t, productfruits.DefaultScriptURL, pftest.RuntimeLoader(t, runtime), "the runtime loads the product")

			user := pftest.InitUser(t, head, pftest.Workspace)
			pftest.VerifyUser(t, app.Signer, user, tc.username)
			if tc.wantHash != "" {
				assert.Equal(t, tc.wantHash, user.HMAC.Hash)
			}

			res, body := pftest.Get(t, client, app.URL+productfruits.DefaultIdentityPath)
			require.Equal(t, http.StatusOK, res.StatusCode)
			pftest.VerifyUser(t, app.Signer, pftest.DecodeUser(t, body), tc.username)

			res, body = pftest.PostForm(t, client, app.URL+"/logout", nil)
			require.Equal(t, http.StatusOK, res.StatusCode)
			pftest.RequireAnonymous(t, string(body), "page after logout")
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
