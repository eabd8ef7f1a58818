package main

import (
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/pfverify/productfruits"
	"github.com/pfverify/productfruits/e2e/pftest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	cspNonce  = regexp.MustCompile(`^script-src 'nonce-([A-Za-z0-9+/=]+)'`)
	scriptTag = regexp.MustCompile(`<script[^>]*>`)
)

// getPage GETs path and returns the page with the nonce its
// Content-Security-Policy allows, requiring that every script element of
// the page carries that nonce.
func getPage(t *testing.T, app *pftest.App, path string) (page, nonce string) {
	t.Helper()
	res, body := app.Get(t, path)
	require.Equal(t, http.StatusOK, res.StatusCode)
	m := cspNonce.FindStringSubmatch(res.Header.Get("Content-Security-Policy"))
	require.NotNil(t, m, "a nonce policy")
	page, nonce = string(body), m[1]
	tags := scriptTag.FindAllString(page, -1)
	require.NotEmpty(t, tags)
	for _, tag := range tags {
		assert.Contains(t, tag, ` nonce="`+nonce+`"`, "every script carries the response's nonce")
	}
	return page, nonce
}

func TestTempl(t *testing.T) {
	app := pftest.Start(t, newApp)
	paths := []string{"/", "/placed"}

	t.Run("anonymous", func(t *testing.T) {
		for _, path := range paths {
			page, _ := getPage(t, app, path)
			assert.Equal(t, 1, strings.Count(pftest.Head(t, page), `data-productfruits="anonymous"`), path)
			assert.NotContains(t, page, pftest.PageDataCall, path)
			assert.Contains(t, page, "Not signed in.", path)
		}
	})

	app.Login(t, "Žluťoučký kůň")

	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			page, nonce := getPage(t, app, path)
			pftest.VerifyUser(t, app.Signer, pftest.HeadUser(t, page, pftest.Workspace), "Žluťoučký kůň")
			// @productfruits.Script stands before the <title>, injection
			// puts the snippet at the end of the <head>.
			placed := strings.Index(page, "data-productfruits") < strings.Index(page, "<title>")
			assert.Equal(t, path == "/placed", placed, "placed by the page")
			assert.Contains(t, page, "Signed in as Žluťoučký kůň.")
			_, again := getPage(t, app, path)
			assert.NotEqual(t, nonce, again, "a fresh nonce per response")
		})
	}

	res, body := app.Get(t, productfruits.DefaultIdentityPath)
	require.Equal(t, http.StatusOK, res.StatusCode)
	pftest.VerifyUser(t, app.Signer, pftest.DecodeUser(t, body), "Žluťoučký kůň")
}

// TestGenerated checks that the committed pages_templ.go is what the templ
// version in go.mod generates from pages.templ (go tool templ, pinned by
// the module's tool directive), so that an edit of pages.templ is never
// left without its Go code.
func TestGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the templ CLI")
	}
	out, err := exec.Command("go", "tool", "templ", "generate", "-check", "-f", "pages.templ").CombinedOutput()
	require.NoError(t, err, "pages_templ.go is stale, run go generate ./templ: %s", out)
}
