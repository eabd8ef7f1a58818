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
	"cmp"
	"flag"
	"html/template"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/pfverify/productfruits"
)

// newApp wraps the whole engine: the simplest wiring, and the one to use
// unless parts of the app must stay without the middleware.
func newApp(workspaceCode, secret string) (http.Handler, error) {
	store := newStore()
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username:      productfruits.SessionUsername(store, "session", "username"),
		Inject:        true,
	})
	if err != nil {
		return nil, err
	}

	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/", page("Product Fruits with Gin"))
	r.GET("/me", me)
	r.POST("/login", gin.WrapF(logIn(store)))
	r.POST("/logout", gin.WrapF(logIn(store))) // no username: logged out
	return pf.Handler(r), nil
}

// newGroupApp runs the middleware on the /app group only; "/" stays
// without it: no signed user, no snippet.
func newGroupApp(workspaceCode, secret string) (*gin.Engine, error) {
	store := newStore()
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username:      productfruits.SessionUsername(store, "session", "username"),
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
		// No middleware here: the page reads the session itself.
		username, _ := productfruits.SessionUsername(store, "session", "username")(c.Request)
		render(c, pageData{Title: "Gin without Product Fruits", Username: username, Note: "Product Fruits runs on /app/ only."})
	})
	r.POST("/login", gin.WrapF(logIn(store)))
	r.POST("/logout", gin.WrapF(logIn(store))) // no username: logged out

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

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
</head>
<body>
{{- if .Username}}
<p>Signed in as {{.Username}}.</p>
<form method="post" action="/logout"><button>Log out</button></form>
{{- else}}
<p>Not signed in.</p>
<form method="post" action="/login"><input name="username" required> <button>Log in</button></form>
{{- end}}
{{- with .Note}}
<p>{{.}}</p>
{{- end}}
</body>
</html>`))

type pageData struct{ Title, Username, Note string }

// page renders the page for the user the middleware signed, leaving the
// snippet to the middleware (Config.Inject).
func page(title string) gin.HandlerFunc {
	return func(c *gin.Context) {
		user, _ := productfruits.FromContext(c.Request.Context())
		render(c, pageData{Title: title, Username: user.Username})
	}
}

// render writes the page with Gin's own c.Data.
func render(c *gin.Context, data pageData) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		_ = c.AbortWithError(http.StatusInternalServerError, err)
		return
	}
	// The page carries its user's hash: no shared cache may keep it.
	c.Header("Cache-Control", "private, no-store")
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
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

// newStore returns the demo login's cookie store, with a random key: a
// restart logs everyone out.
func newStore() *sessions.CookieStore {
	store := sessions.NewCookieStore(securecookie.GenerateRandomKey(32))
	store.Options.HttpOnly, store.Options.SameSite = true, http.SameSiteLaxMode
	return store
}

// logIn keeps the form's username in the session, no password: a real app
// checks credentials.
func logIn(store sessions.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, _ := store.Get(r, "session") // a bad cookie gets a new session
		sess.Values["username"] = r.PostFormValue("username")
		if err := sess.Save(r, w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

func main() {
	group := flag.Bool("group", false, "run the middleware on the /app route group only")
	flag.Parse()
	code, secret := os.Getenv("PRODUCTFRUITS_WORKSPACE_CODE"), os.Getenv("PRODUCTFRUITS_SECRET")
	if code == "" || secret == "" {
		log.Print("PRODUCTFRUITS_WORKSPACE_CODE or PRODUCTFRUITS_SECRET unset: demo values the product will not load")
		code, secret = "demo-workspace", "demo-secret"
	}
	var app http.Handler
	var err error
	if *group {
		app, err = newGroupApp(code, secret)
	} else {
		app, err = newApp(code, secret)
	}
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: cmp.Or(os.Getenv("ADDR"), "localhost:8087"), Handler: app, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on http://%s", srv.Addr)
	log.Fatal(srv.ListenAndServe())
}
