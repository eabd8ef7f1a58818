package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEcho5(t *testing.T) {
	app := pftest.Start(t, newApp)

	t.Run("anonymous", func(t *testing.T) {
		res, page := app.GetGzip(t, "/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		pftest.RequireAnonymous(t, string(page))

		for _, path := range []string{"/me", productfruits.DefaultIdentityPath} {
			res, _ := app.Get(t, path)
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode, path)
		}
	})

	app.Login(t, "Žluťoučký kůň")

	t.Run("gzipped page", func(t *testing.T) {
		res, page := app.GetGzip(t, "/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, res.Header.Get("Cache-Control"), "private")
		pftest.VerifyUser(t, app.Signer, pftest.HeadUser(t, string(page), pftest.Workspace), "Žluťoučký kůň")
	})

	t.Run("/me", func(t *testing.T) {
		res, body := app.Get(t, "/me")
		require.Equal(t, http.StatusOK, res.StatusCode)
		var v struct{ ProductFruitsUser productfruits.User }
		require.NoError(t, json.Unmarshal(body, &v))
		pftest.VerifyUser(t, app.Signer, v.ProductFruitsUser, "Žluťoučký kůň")
	})

	t.Run("identity endpoint", func(t *testing.T) {
		res, body := app.Get(t, productfruits.DefaultIdentityPath)
		require.Equal(t, http.StatusOK, res.StatusCode)
		pftest.VerifyUser(t, app.Signer, pftest.DecodeUser(t, body), "Žluťoučký kůň")
	})
}
