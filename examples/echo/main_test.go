package main

import (
	"encoding/json"
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

func TestEcho(t *testing.T) {
	e, err := newApp(testWorkspace, testSecret)
	require.NoError(t, err)
	srv := pftest.NewTLSServer(t, e)
	signer := pftest.NewSigner(t, testSecret)

	client := pftest.NewClient(t, srv)
	get := func(t *testing.T, path string) (*http.Response, []byte) {
		t.Helper()
		return pftest.Get(t, client, srv.URL+path)
	}

	t.Run("anonymous", func(t *testing.T) {
		for path, want := range map[string]int{
			"/":                               http.StatusOK,
			"/me":                             http.StatusUnauthorized,
			productfruits.DefaultIdentityPath: http.StatusUnauthorized,
		} {
			res, body := get(t, path)
			assert.Equal(t, want, res.StatusCode, path)
			assert.NotContains(t, string(body), "hmac", path)
		}
	})

	pftest.Login(t, client, srv.URL, "Žluťoučký kůň")

	for _, tc := range []struct {
		path string
		user func(t *testing.T, body []byte) productfruits.User
	}{
		{"/", func(t *testing.T, body []byte) productfruits.User {
			head, _, _ := strings.Cut(string(body), "</head>")
			return pftest.InitUser(t, head, testWorkspace)
		}},
		{"/me", func(t *testing.T, body []byte) productfruits.User {
			var v struct{ ProductFruitsUser productfruits.User }
			require.NoError(t, json.Unmarshal(body, &v))
			return v.ProductFruitsUser
		}},
		{productfruits.DefaultIdentityPath, func(t *testing.T, body []byte) productfruits.User {
			return pftest.DecodeUser(t, body)
		}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, tc.path)
			require.Equal(t, http.StatusOK, res.StatusCode)
			user := tc.user(t, body)
			assert.Equal(t, "Žluťoučký kůň", user.Username)
			require.NotNil(t, user.HMAC)
			assert.NoError(t, signer.Verify(user.Username, *user.HMAC, time.Now()))
		})
	}
}
