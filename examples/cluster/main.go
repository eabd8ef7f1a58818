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
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/boj/redistore"
	"github.com/gomodule/redigo/redis"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/demoapp"
	"github.com/pfverify/productfruits/examples/internal/demoenv"
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
	demoapp.CookieOptions(store.Options)
	store.Options.Secure = true
	sessions := &demoapp.Sessions{
		Store:            store,
		Logger:           logger,
		SaveFailedStatus: http.StatusServiceUnavailable, // Redis is down: try later
	}

	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: workspaceCode,
		Secret:        productfruits.NewSecret(secret),
		Username:      sessions.Username(),
		Logger:        logger, // a Redis outage is logged here
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /{$}", demoapp.Page{Title: "Product Fruits on a cluster", Note: "Served by " + instance + "."})
	mux.HandleFunc("POST /login", sessions.Login)
	mux.HandleFunc("POST /logout", sessions.Logout)
	return pf.Handler(mux), nil
}

func main() {
	workspaceCode, secret := demoenv.Credentials()
	sessionKey := os.Getenv("SESSION_KEY")
	if sessionKey == "" {
		sessionKey = "demo-session-key-shared-by-every-instance"
		slog.Warn("SESSION_KEY unset: using a demo key")
	}
	addr := demoenv.Getenv("ADDR", "localhost:8086")
	app, err := newApp(newPool(demoenv.Getenv("REDIS_URL", "redis://localhost:6379")), []byte(sessionKey), workspaceCode, secret, addr, slog.Default())
	if err != nil {
		slog.Error("configuring the app", "error", err)
		os.Exit(1)
	}
	demoenv.ListenAndServe(addr, app)
}
