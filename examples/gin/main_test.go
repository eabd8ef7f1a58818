package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// requireUser requires the JSON of /me: the signed user, username.
func requireUser(t *testing.T, app *pftest.App, path, username string) {
	t.Helper()
	res, body := app.Get(t, path)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	var v struct{ ProductFruitsUser productfruits.User }
	require.NoError(t, json.Unmarshal(body, &v))
	pftest.VerifyUser(t, app.Signer, v.ProductFruitsUser, username)
}

func TestGinEngine(t *testing.T) {
	app := pftest.Start(t, newApp)

	res, page := app.Get(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	pftest.RequireAnonymous(t, string(page))
	for _, path := range []string{"/me", productfruits.DefaultIdentityPath} {
		res, _ := app.Get(t, path)
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode, path)
	}

	page = []byte(app.Login(t, "Žluťoučký kůň"))
	pftest.VerifyUser(t, app.Signer, pftest.HeadUser(t, string(page), pftest.Workspace), "Žluťoučký kůň")
	app.RequireRuntime(t, string(page))
	requireUser(t, app, "/me", "Žluťoučký kůň")
	res, body := app.Get(t, productfruits.DefaultIdentityPath)
	require.Equal(t, http.StatusOK, res.StatusCode)
	pftest.VerifyUser(t, app.Signer, pftest.DecodeUser(t, body), "Žluťoučký kůň")
}

func TestGinGroup(t *testing.T) {
	app := pftest.Start(t, newGroupApp)
	identity := "/app" + productfruits.DefaultIdentityPath

	t.Run("anonymous", func(t *testing.T) {
		res, page := app.Get(t, "/app/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		pftest.RequireAnonymous(t, string(page))
		for _, path := range []string{"/app/me", identity} {
			res, _ := app.Get(t, path)
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode, path)
		}
	})

	outside := app.Login(t, "jane")
	assert.Contains(t, outside, "Signed in as jane")
	assert.NotContains(t, outside, "data-productfruits", "no snippet outside the group")

	t.Run("in the group", func(t *testing.T) {
		res, page := app.Get(t, "/app/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, res.Header.Get("Cache-Control"), "private")
		user := pftest.HeadUser(t, string(page), pftest.Workspace)
		pftest.VerifyUser(t, app.Signer, user, "jane")
		pftest.VerifyExpiration(t, user, time.Hour)
		assert.Equal(t, identity, pftest.IdentityURL(t, string(page)), "the page renews in the group")
		assert.True(t, strings.HasPrefix(pftest.RuntimeURL(t, string(page)), identity+"/lifecycle."), "the runtime is in the group")
		app.RequireRuntime(t, string(page))

		requireUser(t, app, "/app/me", "jane")
		res, body := app.Get(t, identity)
		require.Equal(t, http.StatusOK, res.StatusCode)
		pftest.VerifyUser(t, app.Signer, pftest.DecodeUser(t, body), "jane")
	})
}
