package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEcho(t *testing.T) {
	app := pftest.Start(t, newApp)

	t.Run("anonymous", func(t *testing.T) {
		res, body := app.Get(t, "/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		pftest.RequireAnonymous(t, string(body))
		for _, path := range []string{"/me", productfruits.DefaultIdentityPath} {
			res, body := app.Get(t, path)
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode, path)
			assert.NotContains(t, string(body), "hmac", path)
		}
	})

	app.Login(t, "Žluťoučký kůň")

	for _, tc := range []struct {
		path string
		user func(t *testing.T, body []byte) productfruits.User
	}{
		{"/", func(t *testing.T, body []byte) productfruits.User {
			return pftest.HeadUser(t, string(body), pftest.Workspace)
		}},
		{"/me", func(t *testing.T, body []byte) productfruits.User {
			var v struct{ ProductFruitsUser productfruits.User }
			require.NoError(t, json.Unmarshal(body, &v))
			return v.ProductFruitsUser
		}},
		{productfruits.DefaultIdentityPath, func(t *testing.T, body []byte) productfruits.User {
			return pftest.DecodeUser(t, body)
		}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := app.Get(t, tc.path)
			require.Equal(t, http.StatusOK, res.StatusCode)
			pftest.VerifyUser(t, app.Signer, tc.user(t, body), "Žluťoučký kůň")
		})
	}
}

// TestEchoGzip proves that the page Gzip compresses carries the snippet
// the middleware injected inside it.
func TestEchoGzip(t *testing.T) {
	app := pftest.Start(t, newApp)

	res, page := app.GetGzip(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	pftest.RequireAnonymous(t, string(page))

	app.Login(t, "jane")
	res, page = app.GetGzip(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Cache-Control"), "private")
	pftest.VerifyUser(t, app.Signer, pftest.HeadUser(t, string(page), pftest.Workspace), "jane")
}

// TestEchoGzipWrongOrder shows why the order matters: with Gzip added after
// the middleware, Gzip runs inside it, the middleware sees a compressed
// page and, as it must, leaves it alone: no snippet.
func TestEchoGzipWrongOrder(t *testing.T) {
	app := pftest.Start(t, func(workspaceCode, secret string) (*echo.Echo, error) {
		store := sessions.NewCookieStore(securecookie.GenerateRandomKey(32))
		pf, err := productfruits.New(productfruits.Config{
			WorkspaceCode: workspaceCode,
			Secret:        productfruits.NewSecret(secret),
			Username:      productfruits.SessionUsername(store, "session", "username"),
			Inject:        true,
		})
		if err != nil {
			return nil, err
		}
		e := echo.New()
		e.Use(wrapMiddleware(pf.Handler))
		e.Use(middleware.Gzip()) // wrong: inside ours
		e.GET("/", echo.WrapHandler(http.HandlerFunc(showPage)))
		e.POST("/login", echo.WrapHandler(logIn(store)))
		return e, nil
	})

	app.Login(t, "jane")
	res, page := app.GetGzip(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(page), "Signed in as jane", "the page is jane's")
	assert.NotContains(t, string(page), "data-productfruits", "and carries no snippet")
}
