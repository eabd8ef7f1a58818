// Command echo shows the middleware in an Echo v4 app: the standard
// net/http middleware is added with wrapMiddleware (echo.WrapMiddleware, made
// safe for handlers that return errors), inside
// middleware.Gzip so that it sees the page before it is compressed, and
// handlers read the signed user with
// productfruits.FromContext(c.Request().Context()). The user comes from a
// gorilla/sessions session; the demo login takes any username, no
// password.
package main

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
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
	// Echo runs middleware in the order it is added: Gzip first, so that it
	// wraps ours and compresses the page after the snippet is in. The
	// other way round our middleware would see compressed bytes and leave
	// them alone.
	e.Use(middleware.Gzip())
	e.Use(wrapMiddleware(pf.Handler))
	e.GET("/", echo.WrapHandler(demoapp.Page{Title: "Product Fruits with Echo"}.Injected()))
	e.GET("/me", func(c echo.Context) error {
		user, ok := productfruits.FromContext(c.Request().Context())
		if !ok {
			return echo.ErrUnauthorized
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.JSON(http.StatusOK, map[string]any{"productFruitsUser": user})
	})
	// The demo's login and logout are plain net/http handlers.
	e.POST("/login", echo.WrapHandler(http.HandlerFunc(sessions.Login)))
	e.POST("/logout", echo.WrapHandler(http.HandlerFunc(sessions.Logout)))
	return e, nil
}

func main() { demoenv.Main("localhost:8084", newApp) }
