// Command cluster shows identity verification on several app instances
// behind one address: sessions live in Redis (github.com/boj/redistore on
// a redigo pool), so a user who logs in on one instance is the same signed
// user on every other. Each instance needs the same Product Fruits secret
// and SESSION_KEY. When Redis is unreachable, pages are still served, as
// anonymous, and the middleware logs why. Try two instances:
//
//	ADDR=localhost:8086 go run ./cluster & ADDR=localhost:8087 go run ./cluster
package main

import (
	"cmp"
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/boj/redistore"
	"github.com/gomodule/redigo/redis"
	"github.com/pfverify/productfruits"
)

// newPool returns a Redis connection pool whose timeouts keep a Redis
// outage from stalling requests.
func newPool(redisURL string) *redis.Pool {
	return &redis.Pool{
		MaxIdle:     8,
		IdleTimeout: 4 * time.Minute,
		Dial: func() (redis.Conn, error) {
			return redis.DialURL(redisURL,
				redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(time.Second), redis.DialWriteTimeout(time.Second))
		},
		TestOnBorrow: func(c redis.Conn, idleSince time.Time) error {
			if time.Since(idleSince) < time.Minute {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
}

// newApp returns one instance of the app; sessionKey signs the session
// cookies and must be the same on every instance.
func newApp(pool *redis.Pool, sessionKey []byte, workspaceCode, secret, instance string, logger *slog.Logger) (http.Handler, error) {
	store, err := redistore.NewRediStoreWithPool(pool, sessionKey)
	if err != nil {
		return nil, err
	}
	store.Options.HttpOnly, store.Options.SameSite, store.Options.Secure = true, http.SameSiteLaxMode, true

	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username:      productfruits.SessionUsername(store, "session", "username"),
		Logger:        logger, // a Redis outage is logged here
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		user, _ := productfruits.FromContext(r.Context())
		// The page carries its user's hash: no shared cache may keep it.
		w.Header().Set("Cache-Control", "private, no-store")
		err := page.Execute(w, map[string]any{"Username": user.Username, "Instance": instance, "ProductFruits": productfruits.TemplateScript(r)})
		if err != nil {
			logger.Error("rendering the page", "error", err)
		}
	})
	mux.Handle("POST /login", logIn(store, logger))
	mux.Handle("POST /logout", logIn(store, logger)) // no username: logged out
	return pf.Handler(mux), nil
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Product Fruits on a cluster</title>
{{.ProductFruits}}
</head>
<body>
{{- if .Username}}
<p>Signed in as {{.Username}}.</p>
<form method="post" action="/logout"><button>Log out</button></form>
{{- else}}
<p>Not signed in.</p>
<form method="post" action="/login"><input name="username" required> <button>Log in</button></form>
{{- end}}
<p>Served by {{.Instance}}.</p>
</body>
</html>`))

// logIn keeps the form's username in the session, no password: a real app
// checks credentials. When Redis is down it answers 503: try later.
func logIn(store *redistore.RediStore, logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, _ := store.Get(r, "session") // a bad cookie or Redis down: a new session
		sess.Values["username"] = r.PostFormValue("username")
		if err := sess.Save(r, w); err != nil {
			logger.ErrorContext(r.Context(), "saving the session", "error", err)
			http.Error(w, "cannot save the session", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

func main() {
	workspaceCode, secret := os.Getenv("PRODUCTFRUITS_WORKSPACE_CODE"), os.Getenv("PRODUCTFRUITS_SECRET")
	if workspaceCode == "" || secret == "" {
		slog.Warn("PRODUCTFRUITS_WORKSPACE_CODE or PRODUCTFRUITS_SECRET unset: demo values the product will not load")
		workspaceCode, secret = "demo-workspace", "demo-secret"
	}
	sessionKey := os.Getenv("SESSION_KEY")
	if sessionKey == "" {
		sessionKey = "demo-session-key-shared-by-every-instance"
		slog.Warn("SESSION_KEY unset: using a demo key")
	}
	addr := cmp.Or(os.Getenv("ADDR"), "localhost:8086")
	app, err := newApp(newPool(cmp.Or(os.Getenv("REDIS_URL"), "redis://localhost:6379")), []byte(sessionKey), workspaceCode, secret, addr, slog.Default())
	if err != nil {
		slog.Error("configuring the app", "error", err)
		os.Exit(1)
	}
	slog.Info("listening", "url", "http://"+addr)
	srv := &http.Server{Addr: addr, Handler: app, ReadHeaderTimeout: 10 * time.Second}
	slog.Error("server stopped", "error", srv.ListenAndServe())
	os.Exit(1)
}
