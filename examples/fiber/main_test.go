package main

import (
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve runs app on Fiber's own fasthttp server, on a free port, until
// the test ends, and returns its base URL.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- app.Listener(ln, fiber.ListenConfig{
			DisableStartupMessage: true,
			BeforeServeFunc:       func(*fiber.App) error { close(ready); return nil },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		assert.NoError(t, app.ShutdownWithTimeout(5*time.Second))
		<-done
	})
	return "http://" + ln.Addr().String()
}

// get GETs baseURL+path with basic auth as user (none when user is ""),
// password demo.
func get(t *testing.T, baseURL, path, user string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, baseURL+path, nil)
	require.NoError(t, err)
	if user != "" {
		req.SetBasicAuth(user, "demo")
	}
	res, body := pftest.Do(t, &http.Client{Timeout: 10 * time.Second}, req)
	return res, string(body)
}

func TestFiber(t *testing.T) {
	app, err := newApp(pftest.Workspace, pftest.Secret)
	require.NoError(t, err)
	base := serve(t, app)
	signer := pftest.NewSigner(t, pftest.Secret)

	t.Run("anonymous", func(t *testing.T) {
		for _, path := range []string{"/", "/me", "/classic", productfruits.DefaultIdentityPath} {
			res, body := get(t, base, path, "")
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode, path)
			assert.NotContains(t, body, "hmac", path)
		}
		res, _ := get(t, base, "/", "mallory")
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "unknown user")
	})

	const jane = "jane.doe@example.com"

	t.Run("ScriptFor page", func(t *testing.T) {
		res, page := get(t, base, "/", jane)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, "private, no-store", res.Header.Get("Cache-Control"))
		user := pftest.HeadUser(t, page, pftest.Workspace)
		pftest.VerifyUser(t, signer, user, jane)
		pftest.VerifyExpiration(t, user, time.Hour)
		assert.Equal(t, productfruits.DefaultIdentityPath, pftest.IdentityURL(t, page))
		runtime := pftest.RuntimeURL(t, page)
		res, js := get(t, base, runtime, jane)
		pftest.CheckRuntime(t, runtime, res, []byte(js))
	})

	t.Run("FromContext in a Fiber handler", func(t *testing.T) {
		res, body := get(t, base, "/me", jane)
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		var v struct{ ProductFruitsUser productfruits.User }
		require.NoError(t, json.Unmarshal([]byte(body), &v))
		pftest.VerifyUser(t, signer, v.ProductFruitsUser, jane)
	})

	t.Run("identity endpoint", func(t *testing.T) {
		res, body := get(t, base, productfruits.DefaultIdentityPath, "john")
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		pftest.VerifyUser(t, signer, pftest.DecodeUser(t, []byte(body)), "john")
	})

	t.Run("injected net/http page", func(t *testing.T) {
		res, page := get(t, base, "/classic", jane)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, res.Header.Get("Cache-Control"), "private")
		pftest.VerifyUser(t, signer, pftest.HeadUser(t, page, pftest.Workspace), jane)
		runtime := pftest.RuntimeURL(t, page)
		res, js := get(t, base, runtime, jane)
		pftest.CheckRuntime(t, runtime, res, []byte(js))
	})
}

// TestFiberInjectLimits pins down what does not work, as main.go says:
// injection into what Fiber handlers write, and a net/http page behind a
// second copy of the middleware under HTTPMiddleware.
func TestFiberInjectLimits(t *testing.T) {
	pf, err := productfruits.New(productfruits.Config{
		WorkspaceCode: pftest.Workspace,
		Secret:        productfruits.NewSecret(pftest.Secret),
		Username:      func(*http.Request) (string, error) { return "jane", nil },
		Inject:        true,
	})
	require.NoError(t, err)
	app := fiber.New()
	app.Use(adaptor.HTTPMiddleware(pf.Handler))
	app.Get("/fiber", func(c fiber.Ctx) error {
		user, _ := productfruits.FromContext(c)
		var page []byte
		page = append(page, "<!doctype html><html><head><title>t</title></head><body>"...)
		page = append(page, user.Username...)
		page = append(page, "</body></html>"...)
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.Send(page)
	})
	app.Get("/nested", adaptor.HTTPHandler(pf.Handler(http.HandlerFunc(classicPage))))
	base := serve(t, app)

	res, page := get(t, base, "/fiber", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, page, "<body>jane</body>", "the Fiber handler has the signed user")
	assert.NotContains(t, page, "data-productfruits", "but its page gets no snippet")

	res, page = get(t, base, "/nested", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, page, "Signed in as jane")
	assert.NotContains(t, page, "data-productfruits", "the inner middleware leaves the page to the outer one")
}
