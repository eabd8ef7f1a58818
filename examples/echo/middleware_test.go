package main

import (
	"net/http"
	"testing"

	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWrapMiddlewareHandlerError: /me returns echo.ErrUnauthorized, and
// Echo's error handler writes its JSON through the middleware while the
// middleware still runs (with echo.WrapMiddleware the request panics).
// Uncompressed, where Gzip cannot hide a lost error page.
func TestWrapMiddlewareHandlerError(t *testing.T) {
	app := pftest.Start(t, newApp)
	req := app.NewRequest(t, http.MethodGet, "/me")
	req.Header.Set("Accept-Encoding", "identity")
	res, body := app.Do(t, req)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.JSONEq(t, `{"message":"Unauthorized"}`, string(body))
}
