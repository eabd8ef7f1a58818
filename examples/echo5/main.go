// Command echo5 shows the middleware in an Echo v5 app, wired as in Echo
// v4 (see ../echo): the standard net/http middleware is added with
// wrapMiddleware, echo.WrapMiddleware made safe for handlers that return
// errors, inside middleware.Gzip so that it sees the page before it is
// compressed. Handlers read the signed user with
// productfruits.FromContext(c.Request().Context()); in v5 the context is
// a *echo.Context. The demo login takes any username, no password.
package main

import (
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/demoapp"
	"github.com/pfverify/productfruits/examples/internal/demoenv"
)

func newApp(workspaceCode, secret string) (*echo.Echo, error) {
	sessions := demoapp.NewSessions()
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username:      sessions.Username(),
		Inject:        true,
	})
	if err != nil {
		return nil, err
	}

	e := echo.New()
	// Gzip first, so that it wraps ours and compresses the page after the
	// snippet is in.
	e.Use(middleware.Gzip())
	e.Use(wrapMiddleware(pf.Handler))
	e.GET("/", echo.WrapHandler(demoapp.Page{Title: "Product Fruits with Echo v5"}.Injected()))
	e.GET("/me", func(c *echo.Context) error {
		user, ok := productfruits.FromContext(c.Request().Context())
		if !ok {
			return echo.ErrUnauthorized
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.JSON(http.StatusOK, map[string]any{"productFruitsUser": user})
	})
	e.POST("/login", echo.WrapHandler(http.HandlerFunc(sessions.Login)))
	e.POST("/logout", echo.WrapHandler(http.HandlerFunc(sessions.Logout)))
	return e, nil
}

func main() { demoenv.Main("localhost:8089", newApp) }
