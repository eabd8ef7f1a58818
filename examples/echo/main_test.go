package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/examples/internal/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEcho(t *testing.T) {
	app := pftest.Start(t, newApp)

	t.Run("anonymous", func(t *testing.T) {
		for path, want := range map[string]int{
			"/":                               http.StatusOK,
			"/me":                             http.StatusUnauthorized,
			productfruits.DefaultIdentityPath: http.StatusUnauthorized,
		} {
			res, body := app.Get(t, path)
			assert.Equal(t, want, res.StatusCode, path)
			assert.NotContains(t, string(body), "hmac", path)
		}
	})

	app.Login(t, "Žluťoučký kůň")

	for _, tc := range []struct {
		path string
		user func(t *testing.T, body []byte) productfruits.User
	}{
		{"/", func(t *testing.T, body []byte) productfruits.User {
			return pftest.HeadUser(t, string(body), pftest.Workspace)
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
			res, body := app.Get(t, tc.path)
			require.Equal(t, http.StatusOK, res.StatusCode)
			pftest.VerifyUser(t, app.Signer, tc.user(t, body), "Žluťoučký kůň")
		})
	}
}
