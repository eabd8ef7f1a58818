// Command echo shows the middleware in an Echo v4 app: the standard
// net/http middleware is added with echo.WrapMiddleware, and handlers read
// the signed user with productfruits.FromContext(c.Request().Context()).
// The user comes from a gorilla/sessions session; the demo login takes any
// username, no password.
package main

import (
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/examples/internal/demoenv"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Product Fruits with Echo</title>
{{.}}
</head>
<body><form method="post" action="/login"><input name="username" placeholder="username" required> <button>Log in</button></form></body>
</html>
`))

func newApp(workspaceCode, secret string) (*echo.Echo, error) {
	store := sessions.NewCookieStore(securecookie.GenerateRandomKey(32))
	store.Options.HttpOnly = true
	store.Options.SameSite = http.SameSiteLaxMode

	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        secret,
		Username:      productfruits.SessionUsername(store, "session", "username"),
	})
	if err != nil {
		return nil, err
	}

	e := echo.New()
	e.Use(echo.WrapMiddleware(pf.Handler))
	e.GET("/", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "private, no-store")
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
		return page.Execute(c.Response(), productfruits.TemplateScript(c.Request()))
	})
	e.GET("/me", func(c echo.Context) error {
		user, ok := productfruits.FromContext(c.Request().Context())
		if !ok {
			return echo.ErrUnauthorized
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.JSON(http.StatusOK, map[string]any{"productFruitsUser": user})
	})
	e.POST("/login", func(c echo.Context) error {
		sess, _ := store.Get(c.Request(), "session") // a bad cookie just starts a new session
		sess.Values["username"] = c.FormValue("username")
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/")
	})
	return e, nil
}

func main() {
	e, err := newApp(demoenv.Credentials())
	if err != nil {
		slog.Error("configuring the app", "error", err)
		os.Exit(1)
	}
	e.HideBanner = true
	e.Server.ReadHeaderTimeout = 10 * time.Second
	e.Logger.Fatal(e.Start(demoenv.Getenv("ADDR", "localhost:8084")))
}
