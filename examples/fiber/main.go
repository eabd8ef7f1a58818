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
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/gofiber/fiber/v3/middleware/basicauth"
	"github.com/pfverify/productfruits"
)

// demoUsers maps usernames to password hashes, as Fiber's basicauth takes
// them. A real app checks its own store.
var demoUsers = map[string]string{"jane.doe@example.com": sha256Password("demo"), "john": sha256Password("demo")}

func sha256Password(password string) string {
	sum := sha256.Sum256([]byte(password))
	return "{SHA256}" + base64.StdEncoding.EncodeToString(sum[:])
}

// page is the app's page, with the snippet in its <head> when ProductFruits
// holds one.
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
{{.ProductFruits}}
</head>
<body>
<p>Signed in as {{.Username}} with basic auth · <a href="/me">/me</a> · <a href="/classic">a net/http page</a></p>
</body>
</html>`))

type pageData struct {
	Title, Username string
	ProductFruits   template.HTML
}

// classicPage is a net/http handler whose page the middleware injects.
func classicPage(w http.ResponseWriter, r *http.Request) {
	user, _ := productfruits.FromContext(r.Context())
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, pageData{Title: "net/http in Fiber", Username: user.Username}); err != nil {
		log.Print(err)
	}
}

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
		var buf bytes.Buffer
		err = page.Execute(&buf, pageData{Title: "Product Fruits with Fiber", Username: user.Username, ProductFruits: snippet})
		if err != nil {
			return err
		}
		// ScriptFor marks no response: a page with a user's hash is
		// private.
		c.Set(fiber.HeaderCacheControl, "private, no-store")
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.Send(buf.Bytes())
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
	app.Get("/classic", adaptor.HTTPHandler(pf.Handler(http.HandlerFunc(classicPage))))
	return app, nil
}

func main() {
	code, secret := os.Getenv("PRODUCTFRUITS_WORKSPACE_CODE"), os.Getenv("PRODUCTFRUITS_SECRET")
	if code == "" || secret == "" {
		log.Print("PRODUCTFRUITS_WORKSPACE_CODE or PRODUCTFRUITS_SECRET unset: demo values the product will not load")
		code, secret = "demo-workspace", "demo-secret"
	}
	app, err := newApp(code, secret)
	if err != nil {
		log.Fatal(err)
	}
	addr := cmp.Or(os.Getenv("ADDR"), "localhost:8090")
	log.Printf("listening on http://%s", addr)
	log.Fatal(app.Listen(addr, fiber.ListenConfig{DisableStartupMessage: true}))
}
