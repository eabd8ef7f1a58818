package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGorillaMux(t *testing.T) {
	app := pftest.Start(t, newApp)
	// checkUser verifies user's HMAC and that it expires in about an hour.
	checkUser := func(t *testing.T, user productfruits.User) {
		t.Helper()
		pftest.VerifyUser(t, app.Signer, user, "jane.doe@example.com")
		pftest.VerifyExpiration(t, user, time.Hour)
	}

	t.Run("anonymous", func(t *testing.T) {
		res, body := app.Get(t, "/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		pftest.RequireAnonymous(t, string(body))
		res, _ = app.Get(t, productfruits.DefaultIdentityPath)
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	})

	app.Login(t, "jane.doe@example.com")

	t.Run("page", func(t *testing.T) {
		res, body := app.Get(t, "/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		checkUser(t, pftest.HeadUser(t, string(body), pftest.Workspace))
		assert.Contains(t, pftest.Head(t, string(body)), productfruits.DefaultIdentityPath, "renewal script")
		app.RequireRuntime(t, string(body))
	})
	t.Run("identity endpoint", func(t *testing.T) {
		res, body := app.Get(t, productfruits.DefaultIdentityPath)
		require.Equal(t, http.StatusOK, res.StatusCode)
		checkUser(t, pftest.DecodeUser(t, body))
	})
}
