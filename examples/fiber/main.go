// Command fiber shows what works with Fiber v3, which runs on fasthttp,
// not net/http, so that the middleware reaches it only through Fiber's
// net/http adaptor:
//
//   - the signed user in Fiber handlers: yes. adaptor.HTTPMiddleware runs
//     the middleware and copies the values it put in the request context
//     into the Fiber context (c.Locals), where
//     productfruits.FromContext(c) finds them (a fiber.Ctx is a
//     context.Context).
//   - the user of Fiber's own auth: yes. Under the adaptor, the net/http
//     request's context reads Fiber's Locals, so Config.Username can ask
//     basicauth.UsernameFromContext(r.Context()).
//   - the identity endpoint and the page lifecycle runtime: yes, as a
//     net/http handler (adaptor.HTTPHandler(pf.IdentityHandler())) at
//     productfruits.DefaultIdentityPath and pf.RuntimePath().
//   - Config.Inject into pages Fiber handlers write: no. HTTPMiddleware
//     finishes the middleware before Fiber's handlers run, and they write
//     into fasthttp's response, never through the middleware's writer.
//     The page places the snippet itself: pf.ScriptFor signs the user and
//     returns the markup for the page's <head>.
//   - Config.Inject into a net/http handler mounted with
//     adaptor.HTTPHandler(pf.Handler(h)): yes, as long as HTTPMiddleware
//     did not run for the same route (see /classic).
//
// The demo's Fiber auth is basic auth against a fixed list of users.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/gofiber/fiber/v3/middleware/basicauth"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/demoapp"
	"github.com/pfverify/productfruits/examples/internal/demoenv"
)

// demoUsers maps usernames to password hashes, as Fiber's basicauth takes
// them. A real app checks its own store.
var demoUsers = map[string]string{"jane.doe@example.com": sha256Password("demo"), "john": sha256Password("demo")}

func sha256Password(password string) string {
	sum := sha256.Sum256([]byte(password))
	return "{SHA256}" + base64.StdEncoding.EncodeToString(sum[:])
}

// body replaces the demo page's login form: here the login is basic auth.
const body template.HTML = `<p>Signed in with basic auth · <a href="/me">/me</a> · <a href="/classic">a net/http page</a></p>`

func newApp(workspaceCode, secret string) (*fiber.App, error) {
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username: func(r *http.Request) (string, error) {
			return basicauth.UsernameFromContext(r.Context()), nil
		},
		TTL:    time.Hour,
		Inject: true, // for /classic only; Fiber handlers place the snippet
	})
	if err != nil {
		return nil, err
	}

	app := fiber.New()
	app.Use(basicauth.New(basicauth.Config{Users: demoUsers}))
	signedUser := adaptor.HTTPMiddleware(pf.Handler)

	app.Get("/", func(c fiber.Ctx) error {
		user := productfruits.User{Username: basicauth.UsernameFromContext(c)}
		snippet, err := pf.ScriptFor(user, "") // "": no CSP nonce
		if err != nil {
			return err
		}
		var page bytes.Buffer
		err = demoapp.Page{Title: "Product Fruits with Fiber", ProductFruits: snippet, Body: body}.Execute(&page)
		if err != nil {
			return err
		}
		// ScriptFor marks no response: a page with a user's hash is
		// private.
		c.Set(fiber.HeaderCacheControl, "private, no-store")
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.Send(page.Bytes())
	})
	app.Get("/me", signedUser, func(c fiber.Ctx) error {
		user, ok := productfruits.FromContext(c)
		if !ok {
			return fiber.ErrUnauthorized
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"productFruitsUser": user})
	})
	// The identity endpoint, and the page lifecycle runtime that the
	// snippet loads, which IdentityHandler serves too.
	identity := adaptor.HTTPHandler(pf.IdentityHandler())
	app.Get(productfruits.DefaultIdentityPath, identity)
	app.Get(pf.RuntimePath(), identity)
	// A net/http handler behind the middleware, without signedUser: the
	// snippet is injected. Under HTTPMiddleware the copied context would
	// tell this second middleware that an outer one injects, and neither
	// would.
	app.Get("/classic", adaptor.HTTPHandler(pf.Handler(demoapp.Page{Title: "net/http in Fiber", Body: body}.Injected())))
	return app, nil
}

func main() {
	demoenv.Run("localhost:8090", newApp, func(app *fiber.App, addr string) error {
		return app.Listen(addr, fiber.ListenConfig{DisableStartupMessage: true})
	})
}
