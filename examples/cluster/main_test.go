package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/pfverify/productfruits"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testWorkspace = "test-workspace"
	testSecret    = "test-secret"
)

func TestCluster(t *testing.T) {
	redisURL, stopRedis := startRedis(t)
	signer, err := productfruits.NewSigner(testSecret)
	require.NoError(t, err)

	// Two instances, as two processes would be: each its own pool and log.
	type instance struct {
		srv *httptest.Server
		log *syncBuffer
	}
	start := func(name string) instance {
		pool := newPool(redisURL)
		t.Cleanup(func() { pool.Close() })
		log := &syncBuffer{}
		app, err := newApp(pool, []byte("test-session-key"), testWorkspace, testSecret, name, slog.New(slog.NewTextHandler(log, nil)))
		require.NoError(t, err)
		srv := httptest.NewTLSServer(app)
		t.Cleanup(srv.Close)
		return instance{srv, log}
	}
	a, b := start("A"), start("B")

	// One browser: the servers share the host 127.0.0.1, so the jar sends
	// the session cookie from A to B as it would behind a load balancer.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := a.srv.Client()
	client.Jar = jar
	getPage := func(t *testing.T, in instance) string {
		t.Helper()
		res, err := client.Get(in.srv.URL + "/")
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return string(body)
	}

	res, err := client.PostForm(a.srv.URL+"/login", url.Values{"username": {"jane.doe@example.com"}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	var hashes []string
	for _, in := range []instance{a, b} {
		page := getPage(t, in)
		user := initUser(t, page)
		assert.Equal(t, "jane.doe@example.com", user.Username)
		require.NotNil(t, user.HMAC)
		require.NoError(t, signer.Verify(user.Username, *user.HMAC, time.Now()))
		hashes = append(hashes, user.HMAC.Hash)
	}
	assert.Equal(t, hashes[0], hashes[1], "the same signed user on A and B")

	t.Run("Redis down", func(t *testing.T) {
		stopRedis()
		page := getPage(t, b)
		assert.Contains(t, page, "Not signed in")
		assert.NotContains(t, page, "data-productfruits")
		assert.Contains(t, b.log.String(), "username resolver failed")
		assert.Contains(t, b.log.String(), "session store")

		res, err := client.Get(b.srv.URL + productfruits.DefaultIdentityPath)
		require.NoError(t, err)
		res.Body.Close()
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
	var out syncBuffer
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

// syncBuffer is a bytes.Buffer safe for the server's goroutines to write
// while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// initUser returns the user object of the page's one init call,
// $productFruits.push(['init', workspace, language, user]).
func initUser(t *testing.T, page string) productfruits.User {
	t.Helper()
	const call = "$productFruits.push(['init',"
	require.Equal(t, 1, strings.Count(page, call), "init calls")
	_, rest, _ := strings.Cut(page, call)
	var args []json.RawMessage
	require.NoError(t, json.NewDecoder(strings.NewReader("["+rest)).Decode(&args))
	require.Len(t, args, 3)
	assert.JSONEq(t, `"`+testWorkspace+`"`, string(args[0]))
	var user productfruits.User
	require.NoError(t, json.Unmarshal(args[2], &user))
	return user
}
