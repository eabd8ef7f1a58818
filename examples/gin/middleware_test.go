package main

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// naiveWrap is the adapter that wrapMiddleware replaces: the middleware
// around c.Next(), the request passed on, the writer not.
func naiveWrap(m func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		m(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
	}
}

// groupApp serves a route group with the middleware through wrap, for a
// user who is always jane, with handlers of its own.
func groupApp(t *testing.T, wrap func(func(http.Handler) http.Handler) gin.HandlerFunc, routes func(gin.IRoutes)) *pftest.App {
	t.Helper()
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: pftest.Workspace,
		Secret:        productfruits.NewSecret(pftest.Secret),
		Username:      func(*http.Request) (string, error) { return "jane", nil },
		Inject:        true,
	})
	require.NoError(t, err)
	r := gin.New()
	routes(r.Group("/app", wrap(pf.Handler)))
	return pftest.Serve(t, r, pftest.Secret)
}

// TestNaiveWrapLosesInjection shows what goes wrong without
// wrapMiddleware: the handlers still see the signed user, but they write
// under the middleware, which never sees the page, so nothing is injected.
func TestNaiveWrapLosesInjection(t *testing.T) {
	app := groupApp(t, naiveWrap, func(g gin.IRoutes) {
		g.GET("/", page("naive"))
		g.GET("/me", me)
	})
	requireUser(t, app, "/app/me", "jane")
	res, page := app.Get(t, "/app/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(page), "Signed in as jane")
	assert.NotContains(t, string(page), "data-productfruits", "no snippet")
}

const html = "<!doctype html><html><head><title>t</title></head><body>page</body></html>"

// TestWrapMiddlewareWriter runs the ways Gin handlers write a response
// through wrapMiddleware: the status and headers they set arrive, and
// the HTML pages, only those, get the snippet.
func TestWrapMiddlewareWriter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler gin.HandlerFunc
		status  int
		snippet bool
	}{
		{"c.Data", func(c *gin.Context) { c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(html)) }, http.StatusOK, true},
		{"status before Content-Type", func(c *gin.Context) {
			c.Status(http.StatusCreated)
			c.Header("Content-Type", "text/html; charset=utf-8")
			_, _ = c.Writer.WriteString(html)
		}, http.StatusCreated, true},
		{"flushed after the head", func(c *gin.Context) {
			c.Header("Content-Type", "text/html; charset=utf-8")
			_, _ = c.Writer.WriteString(html[:len(html)-len("<body>page</body></html>")])
			c.Writer.Flush()
			_, _ = c.Writer.WriteString("<body>page</body></html>")
		}, http.StatusOK, true},
		{"c.String", func(c *gin.Context) { c.String(http.StatusOK, html) }, http.StatusOK, false},
		{"not found page", func(c *gin.Context) { c.Data(http.StatusNotFound, "text/html", []byte(html)) }, http.StatusNotFound, false},
		{"c.Status only", func(c *gin.Context) { c.Status(http.StatusNoContent) }, http.StatusNoContent, false},
		{"c.AbortWithStatus", func(c *gin.Context) { c.AbortWithStatus(http.StatusForbidden) }, http.StatusForbidden, false},
		{"nothing written", func(*gin.Context) {}, http.StatusOK, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := groupApp(t, wrapMiddleware, func(g gin.IRoutes) { g.GET("/", tc.handler) })
			res, body := app.Get(t, "/app/")
			require.Equal(t, tc.status, res.StatusCode)
			if tc.snippet {
				pftest.VerifyUser(t, app.Signer, pftest.HeadUser(t, string(body), pftest.Workspace), "jane")
				assert.Contains(t, string(body), "<body>page</body></html>")
			} else {
				assert.NotContains(t, string(body), "data-productfruits")
			}
		})
	}
}
