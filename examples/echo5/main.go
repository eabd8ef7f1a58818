// Command echo5 shows the middleware in an Echo v5 app, wired as in Echo
// v4 (see ../echo): the standard net/http middleware is added with
// wrapMiddleware, echo.WrapMiddleware made safe for handlers that return
// errors, inside middleware.Gzip so that it sees the page before it is
// compressed. Handlers read the signed user with
// productfruits.FromContext(c.Request().Context()); in v5 the context is
// a *echo.Context. The demo login takes any username, no password.
package main

import (
	"cmp"
	"html/template"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	"github.com/pfverify/productfruits"
)

func newApp(workspaceCode, secret string) (*echo.Echo, error) {
	store := sessions.NewCookieStore(securecookie.GenerateRandomKey(32))
	store.Options.HttpOnly, store.Options.SameSite = true, http.SameSiteLaxMode
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username:      productfruits.SessionUsername(store, "session", "username"),
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
	e.GET("/", echo.WrapHandler(http.HandlerFunc(showPage)))
	e.GET("/me", func(c *echo.Context) error {
		user, ok := productfruits.FromContext(c.Request().Context())
		if !ok {
			return echo.ErrUnauthorized
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.JSON(http.StatusOK, map[string]any{"productFruitsUser": user})
	})
	e.POST("/login", echo.WrapHandler(logIn(store)))
	e.POST("/logout", echo.WrapHandler(logIn(store))) // no username: logged out
	return e, nil
}

// page is the app's one page; the middleware injects the snippet into its
// <head> (Config.Inject).
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Product Fruits with Echo v5</title>
</head>
<body>
{{- if .}}
<p>Signed in as {{.}}.</p>
<form method="post" action="/logout"><button>Log out</button></form>
{{- else}}
<p>Not signed in.</p>
<form method="post" action="/login"><input name="username" required> <button>Log in</button></form>
{{- end}}
</body>
</html>`))

// showPage renders the page for the user the middleware signed.
func showPage(w http.ResponseWriter, r *http.Request) {
	user, _ := productfruits.FromContext(r.Context())
	// The page carries its user's hash: no shared cache may keep it.
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, user.Username); err != nil {
		log.Print(err)
	}
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
	code, secret := os.Getenv("PRODUCTFRUITS_WORKSPACE_CODE"), os.Getenv("PRODUCTFRUITS_SECRET")
	if code == "" || secret == "" {
		log.Print("PRODUCTFRUITS_WORKSPACE_CODE or PRODUCTFRUITS_SECRET unset: demo values the product will not load")
		code, secret = "demo-workspace", "demo-secret"
	}
	app, err := newApp(code, secret)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: cmp.Or(os.Getenv("ADDR"), "localhost:8089"), Handler: app, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on http://%s", srv.Addr)
	log.Fatal(srv.ListenAndServe())
}
