package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
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

func TestChi(t *testing.T) {
	app, err := newApp(testWorkspace, testSecret)
	require.NoError(t, err)
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	signer := pftest.NewSigner(t, testSecret)

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
				req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
				require.NoError(t, err)
				if tc.user != "" {
					req.SetBasicAuth(tc.user, tc.pass)
				}
				res, body := pftest.Do(t, srv.Client(), req)
				return res, string(body)
			}

			res, page := get("/")
			require.Equal(t, http.StatusOK, res.StatusCode)
			if tc.want == "" {
				assert.NotContains(t, page, "data-productfruits")
			} else {
				head, _, _ := strings.Cut(page, "</head>")
				user := pftest.InitUser(t, head, testWorkspace)
				assert.Equal(t, tc.want, user.Username)
				require.NotNil(t, user.HMAC)
				assert.NoError(t, signer.Verify(user.Username, *user.HMAC, time.Now()))
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
					require.NoError(t, json.Unmarshal([]byte(body), &user), path)
				}
				assert.Equal(t, tc.want, user.Username, path)
				require.NotNil(t, user.HMAC, path)
				assert.NoError(t, signer.Verify(user.Username, *user.HMAC, time.Now()), path)
			}
		})
	}
}
