package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChi(t *testing.T) {
	app := pftest.Start(t, newApp)

	for _, tc := range []struct {
		name, user, pass string
		want             string // the signed username; "" for anonymous
	}{
		{"no credentials", "", "", ""},
		{"wrong password", "jane.doe@example.com", "nope", ""},
		{"unknown user", "mallory", "demo", ""},
		{"jane", "jane.doe@example.com", "demo", "jane.doe@example.com"},
		{"john", "john", "demo", "john"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			get := func(path string) (*http.Response, string) {
				req := app.NewRequest(t, http.MethodGet, path)
				if tc.user != "" {
					req.SetBasicAuth(tc.user, tc.pass)
				}
				res, body := app.Do(t, req)
				return res, string(body)
			}

			res, page := get("/")
			require.Equal(t, http.StatusOK, res.StatusCode)
			if tc.want == "" {
				pftest.RequireAnonymous(t, page)
			} else {
				pftest.VerifyUser(t, app.Signer, pftest.HeadUser(t, page, pftest.Workspace), tc.want)
			}

			for _, path := range []string{"/me", productfruits.DefaultIdentityPath} {
				res, body := get(path)
				if tc.want == "" {
					assert.Equal(t, http.StatusUnauthorized, res.StatusCode, path)
					continue
				}
				require.Equal(t, http.StatusOK, res.StatusCode, path)
				assert.Equal(t, "application/json", res.Header.Get("Content-Type"), path)
				var user productfruits.User
				if path == "/me" {
					var v struct{ ProductFruitsUser productfruits.User }
					require.NoError(t, json.Unmarshal([]byte(body), &v), path)
					user = v.ProductFruitsUser
				} else {
					user = pftest.DecodeUser(t, []byte(body))
				}
				pftest.VerifyUser(t, app.Signer, user, tc.want)
			}
		})
	}
}
