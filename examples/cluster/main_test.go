package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCluster(t *testing.T) {
	redisURL, stopRedis := startRedis(t)

	// Two instances, as two processes would be: each its own pool and log.
	type instance struct {
		*pftest.App
		log *pftest.SyncBuffer
	}
	start := func(name string) instance {
		pool := newPool(redisURL)
		t.Cleanup(func() { pool.Close() })
		log := &pftest.SyncBuffer{}
		app, err := newApp(pool, []byte("test-session-key"), pftest.Workspace, pftest.Secret, name, slog.New(slog.NewTextHandler(log, nil)))
		require.NoError(t, err)
		return instance{pftest.Serve(t, app, pftest.Secret), log}
	}
	a, b := start("A"), start("B")

	// One browser: the servers share the host 127.0.0.1, so the jar sends
	// the session cookie from A to B as it would behind a load balancer.
	client := a.Client
	getPage := func(t *testing.T, in instance) string {
		t.Helper()
		res, body := pftest.Get(t, client, in.URL+"/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		return string(body)
	}

	a.Login(t, "jane.doe@example.com")

	var hashes []string
	for _, in := range []instance{a, b} {
		page := getPage(t, in)
		user := pftest.HeadUser(t, page, pftest.Workspace)
		pftest.VerifyUser(t, a.Signer, user, "jane.doe@example.com")
		hashes = append(hashes, user.HMAC.Hash)
	}
	assert.Equal(t, hashes[0], hashes[1], "the same signed user on A and B")
	res, body := pftest.Get(t, client, b.URL+productfruits.DefaultIdentityPath)
	require.Equal(t, http.StatusOK, res.StatusCode)
	pftest.VerifyUser(t, b.Signer, pftest.DecodeUser(t, body), "jane.doe@example.com")
	// A page from A loads the lifecycle runtime from whichever instance
	// the balancer picks: B serves it at the same versioned URL.
	pftest.RequireRuntime(t, client, b.URL, getPage(t, a))

	t.Run("Redis down", func(t *testing.T) {
		stopRedis()
		page := getPage(t, b)
		assert.Contains(t, page, "Not signed in")
		assert.NotContains(t, page, "data-productfruits")
		assert.Contains(t, b.log.String(), "username resolver failed")
		assert.Contains(t, b.log.String(), "session store")

		res, _ := pftest.Get(t, client, b.URL+productfruits.DefaultIdentityPath)
		assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "identity endpoint: retry later, not logged out")
	})
}

// startRedis runs a throwaway redis-server on a free port and returns its
// URL and a function that stops it (also run at cleanup). Without
// redis-server the test skips, except on CI, where it fails.
func startRedis(t *testing.T) (redisURL string, stop func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is required on CI: %v", err)
		}
		t.Skipf("redis-server not installed: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	var out pftest.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)

	redisURL = fmt.Sprintf("redis://127.0.0.1:%d", port)
	require.Eventually(t, func() bool {
		c, err := redis.DialURL(redisURL, redis.DialConnectTimeout(100*time.Millisecond))
		if err != nil {
			return false
		}
		defer c.Close()
		pong, err := redis.String(c.Do("PING"))
		return err == nil && pong == "PONG"
	}, 10*time.Second, 20*time.Millisecond, "redis-server did not answer PING; its output:\n%s", &out)
	return redisURL, stop
}
