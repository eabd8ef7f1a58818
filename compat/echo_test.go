package compat

import (
	"errors"
	"net/http"
	"testing"

	echo4 "github.com/labstack/echo/v4"
	echo5 "github.com/labstack/echo/v5"
	"github.com/pfverify/productfruits"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoPage is what the page route renders with c.HTML.
var echoPage = htmlPage(2048)

// echoApp builds the same app with Echo v4 or v5: /app/page renders
// echoPage, /app/unauthorized, /app/forbidden and /app/fail return errors,
// and /app/nope is no route. With pf, echo.WrapMiddleware(pf.Handler) is
// the /app group's middleware ("Group") or the app's ("Use"); without it,
// the app is the baseline whose error pages the client must get.
type echoApp func(pf *productfruits.Middleware, wiring string) http.Handler

func echo4App(pf *productfruits.Middleware, wiring string) http.Handler {
	e := echo4.New()
	var mws []echo4.MiddlewareFunc
	if pf != nil {
		mws = append(mws, echo4.WrapMiddleware(pf.Handler))
	}
	var g *echo4.Group
	if wiring == "Group" {
		g = e.Group("/app", mws...)
	} else {
		e.Use(mws...)
		g = e.Group("/app")
	}
	g.GET("/page", func(c echo4.Context) error { return c.HTML(http.StatusOK, echoPage) })
	g.GET("/unauthorized", func(echo4.Context) error { return echo4.ErrUnauthorized })
	g.GET("/forbidden", func(echo4.Context) error { return echo4.ErrForbidden })
	g.GET("/fail", func(echo4.Context) error { return errors.New("boom") })
	return e
}

func echo5App(pf *productfruits.Middleware, wiring string) http.Handler {
	e := echo5.New()
	var mws []echo5.MiddlewareFunc
	if pf != nil {
		mws = append(mws, echo5.WrapMiddleware(pf.Handler))
	}
	var g *echo5.Group
	if wiring == "Group" {
		g = e.Group("/app", mws...)
	} else {
		e.Use(mws...)
		g = e.Group("/app")
	}
	g.GET("/page", func(c *echo5.Context) error { return c.HTML(http.StatusOK, echoPage) })
	g.GET("/unauthorized", func(*echo5.Context) error { return echo5.ErrUnauthorized })
	g.GET("/forbidden", func(*echo5.Context) error { return echo5.ErrForbidden })
	g.GET("/fail", func(*echo5.Context) error { return errors.New("boom") })
	return e
}

// TestEchoWrapMiddleware: Echo's own adapter, echo.WrapMiddleware, around
// handlers that return errors. The client gets exactly the error page
// Echo writes without the Middleware; the page route gets the snippet
// once, and the URLs it carries work.
func TestEchoWrapMiddleware(t *testing.T) {
	versions := []struct {
		name string
		app  echoApp
	}{{"echo4", echo4App}, {"echo5", echo5App}}
	errs := []struct {
		path   string
		status int
	}{
		{"/app/unauthorized", http.StatusUnauthorized},
		{"/app/forbidden", http.StatusForbidden},
		{"/app/nope", http.StatusNotFound},
		{"/app/fail", http.StatusInternalServerError},
	}
	for _, v := range versions {
		for _, wiring := range []string{"Group", "Use"} {
			t.Run(v.name+"/"+wiring, func(t *testing.T) {
				pf, _ := newPF(t)
				srv := serve(t, v.app(pf, wiring))
				base := serve(t, v.app(nil, wiring))
				for _, e := range errs {
					t.Run(e.path, func(t *testing.T) {
						want := get(t, base.URL+e.path, req{user: testUser})
						require.Equal(t, e.status, want.resp.StatusCode, "the baseline app")
						for range 3 {
							r := get(t, srv.URL+e.path, req{user: testUser})
							intact(t, r, want.resp.StatusCode,
								http.Header{"Content-Type": want.resp.Header.Values("Content-Type")}, want.body)
						}
					})
				}
				t.Run("/app/page", func(t *testing.T) {
					for range 3 {
						r := get(t, srv.URL+"/app/page", req{user: testUser})
						require.Equal(t, http.StatusOK, r.resp.StatusCode)
						snippetOnce(t, r.body, testUser)
						assert.Equal(t, echoPage, withoutSnippet(r.body))
						reachable(t, r.url, r.body, testUser, "")
					}
				})
			})
		}
	}
}
