package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/examples/internal/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testWorkspace = "test-workspace"
	testSecret    = "test-secret"
)

func TestGorillaMux(t *testing.T) {
	app, err := newApp(testWorkspace, testSecret)
	require.NoError(t, err)
	srv := pftest.NewTLSServer(t, app)
	signer := pftest.NewSigner(t, testSecret)

	client := pftest.NewClient(t, srv)
	get := func(t *testing.T, path string) (*http.Response, []byte) {
		t.Helper()
		return pftest.Get(t, client, srv.URL+path)
	}
	// checkUser verifies user's HMAC and that it expires in about an hour.
	checkUser := func(t *testing.T, user productfruits.User) {
		t.Helper()
		pftest.VerifyUser(t, signer, user, "jane.doe@example.com")
		pftest.VerifyExpiration(t, user, time.Hour)
	}

	t.Run("anonymous", func(t *testing.T) {
		res, body := get(t, "/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.NotContains(t, string(body), "data-productfruits")
		res, _ = get(t, productfruits.DefaultIdentityPath)
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	})

	pftest.Login(t, client, srv.URL, "jane.doe@example.com")

	t.Run("page", func(t *testing.T) {
		res, body := get(t, "/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		head, _, _ := strings.Cut(string(body), "</head>")
		checkUser(t, pftest.InitUser(t, head, testWorkspace))
		assert.Contains(t, head, productfruits.DefaultIdentityPath, "renewal script")
	})
	t.Run("identity endpoint", func(t *testing.T) {
		res, body := get(t, productfruits.DefaultIdentityPath)
		require.Equal(t, http.StatusOK, res.StatusCode)
		checkUser(t, pftest.DecodeUser(t, body))
	})
}
