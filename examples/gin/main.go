// Command gin shows the middleware in a Gin app, in the two ways a Gin app
// can take net/http middleware. By default the middleware wraps the whole
// engine, http.ListenAndServe(addr, pf.Handler(engine)), and every route
// gets the signed user and, on its HTML pages, the snippet. With -group it
// runs on the /app route group only, through wrapMiddleware
// (middleware.go), an adapter that lets it see what Gin's handlers write,
// so that Config.Inject works there too. Handlers read the signed user
// with productfruits.FromContext(c.Request.Context()). The demo login
// takes any username, no password.
package main

import (
	"bytes"
	"flag"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/demoapp"
	"github.com/pfverify/productfruits/examples/internal/demoenv"
)

// newApp wraps the whole engine: the simplest wiring, and the one to use
// unless parts of the app must stay without the middleware.
func newApp(workspaceCode, secret string) (http.Handler, error) {
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

	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/", page("Product Fruits with Gin"))
	r.GET("/me", me)
	r.POST("/login", gin.WrapF(sessions.Login))
	r.POST("/logout", gin.WrapF(sessions.Logout))
	return pf.Handler(r), nil
}

// newGroupApp runs the middleware on the /app group only; "/" stays
// without it: no signed user, no snippet.
func newGroupApp(workspaceCode, secret string) (*gin.Engine, error) {
	sessions := demoapp.NewSessions()
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username:      sessions.Username(),
		Inject:        true,
		TTL:           time.Hour,
		// The endpoint lives in the group, where the middleware runs.
		IdentityPath: "/app" + productfruits.DefaultIdentityPath,
	})
	if err != nil {
		return nil, err
	}

	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/", func(c *gin.Context) {
		demoapp.Render(c.Writer, c.Request, demoapp.Page{
			Title:    "Gin without Product Fruits",
			Username: sessions.User(c.Request),
			Note:     "Product Fruits runs on /app/ only.",
		})
	})
	r.POST("/login", gin.WrapF(sessions.Login))
	r.POST("/logout", gin.WrapF(sessions.Logout))

	app := r.Group("/app", wrapMiddleware(pf.Handler))
	app.GET("/", page("Product Fruits in a Gin route group"))
	app.GET("/me", me)
	// Gin runs a group's middleware on matched routes only: the endpoint
	// and the page lifecycle runtime need routes, whose handler the
	// middleware answers before.
	identity := gin.WrapH(pf.IdentityHandler())
	app.GET(productfruits.DefaultIdentityPath, identity)
	app.GET(strings.TrimPrefix(pf.RuntimePath(), "/app"), identity)
	return r, nil
}

// page renders the demo page with Gin's own c.Data, leaving the snippet to
// the middleware (Config.Inject).
func page(title string) gin.HandlerFunc {
	return func(c *gin.Context) {
		user, _ := productfruits.FromContext(c.Request.Context())
		var buf bytes.Buffer
		if err := (demoapp.Page{Title: title, Username: user.Username}).Execute(&buf); err != nil {
			_ = c.AbortWithError(http.StatusInternalServerError, err)
			return
		}
		c.Header("Cache-Control", "private, no-store")
		c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
	}
}

// me answers the signed user as JSON.
func me(c *gin.Context) {
	user, ok := productfruits.FromContext(c.Request.Context())
	if !ok {
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "not logged in"})
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"productFruitsUser": user})
}

func main() {
	group := flag.Bool("group", false, "run the middleware on the /app route group only")
	flag.Parse()
	if *group {
		demoenv.Main("localhost:8087", newGroupApp)
		return
	}
	demoenv.Main("localhost:8087", newApp)
}
