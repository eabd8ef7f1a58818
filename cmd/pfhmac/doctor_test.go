package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pfverify/productfruits"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// userKey is where the tests' login middleware puts the username.
type userKey struct{}

// login is the app's own authentication, as simple as a test can make it:
// a plain cookie user=NAME is a session of NAME.
func login(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("user"); err == nil && c.Value != "" {
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, c.Value))
		}
		next.ServeHTTP(w, r)
	})
}

const testPage = "<!doctype html><html><head><meta charset=utf-8><title>app</title></head><body><p>hello</p></body></html>"

// servePage writes testPage, with the header fields in kv set first.
func servePage(kv ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, testPage)
	}
}

// newPF returns a middleware for workspace "ws" that signs the login
// middleware's user, edited by edit when not nil.
func newPF(t *testing.T, edit func(*productfruits.Config)) *productfruits.Middleware {
	t.Helper()
	cfg := productfruits.Config{
		WorkspaceCode: "ws",
		Secret:        productfruits.NewSecret(secret),
		Username:      productfruits.ContextUsername(userKey{}),
		Inject:        true,
		TTL:           time.Hour,
		Logger:        slog.New(slog.DiscardHandler), // the doctor's findings are the subject here
	}
	if edit != nil {
		edit(&cfg)
	}
	pf, err := productfruits.New(cfg)
	require.NoError(t, err)
	return pf
}

// rootApp is the correct wiring: the login middleware outside pf.Handler,
// pf.Handler around the whole mux.
func rootApp(t *testing.T, edit func(*productfruits.Config), page http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", page)
	return login(newPF(t, edit).Handler(mux))
}

// gzipInside compresses HTML for clients that accept gzip: wrapped inside
// pf.Handler, it hides the page from the middleware.
func gzipInside(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(body)
			zw.Close()
			body = b.Bytes()
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Del("Content-Length")
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
}

// handWritten serves a page whose head holds extra and then the snippet
// pf renders for alice, with the runtime's src replaced by src (when not
// ""), and the header fields kv. The page is not passed through
// pf.Handler: nothing corrects its headers.
func handWritten(t *testing.T, pf *productfruits.Middleware, extra, src string, kv ...string) http.HandlerFunc {
	snippet, err := pf.ScriptFor(productfruits.User{Username: "alice"}, "")
	require.NoError(t, err)
	s := string(snippet)
	if src != "" {
		require.Contains(t, s, pf.RuntimePath())
		s = strings.Replace(s, pf.RuntimePath(), src, 1)
	}
	page := "<!doctype html><html><head><meta charset=utf-8>" + extra + s + "<title>app</title></head><body><p>hi</p></body></html>"
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}
}

// pfAround serves page at "/" beside pf.Handler's endpoint and runtime,
// with pf skipping "/" so that it does not touch the page.
func pfAround(t *testing.T, page func(*productfruits.Middleware) http.Handler) http.Handler {
	var pf *productfruits.Middleware
	pf = newPF(t, func(c *productfruits.Config) {
		c.Skip = func(r *http.Request) bool { return r.URL.Path == "/" }
	})
	mux := http.NewServeMux()
	mux.Handle("/{$}", page(pf))
	return login(pf.Handler(mux))
}

// runDoctor runs pfhmac doctor with args and env, and returns its exit
// status, stdout and stderr.
func runDoctor(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"doctor"}, args...), func(k string) string { return env[k] }, nil, &stdout, &stderr, time.Now)
	return code, stdout.String(), stderr.String()
}

// verdictLine matches the finding of check with verdict v.
func verdictLine(v, check string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(v) + ` +` + regexp.QuoteMeta(check) + ` `)
}

// mustURL parses s, failing the test when it cannot.
func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func TestDoctor(t *testing.T) {
	withSecret := map[string]string{secretEnv: secret}
	aliceHash := refHash(secret, "alice") // what a TTL-less app signs for alice

	tests := []struct {
		name     string
		app      func(t *testing.T) http.Handler
		cookie   string
		env      map[string]string
		wantCode int
		ok       []string // checks that must be ok
		fail     []string // checks that must FAIL
		warn     []string
		has      []string // substrings of stdout
		not      []string
		allOK    bool // no warn and no FAIL at all
	}{
		{
			name:   "root-mounted app, logged in",
			app:    func(t *testing.T) http.Handler { return rootApp(t, nil, servePage()) },
			cookie: "user=alice",
			env:    withSecret,
			ok:     []string{"snippet", "runtime", "endpoint", "hash", "csp", "loader", "trusted-types", "caching", "compression"},
			has:    []string{"inside <head>, before </head>", "for \"alice\"", "/productfruits/identity/lifecycle.", "verdict: ok"},
			allOK:  true,
		},
		{
			name:  "root-mounted app, anonymous page",
			app:   func(t *testing.T) http.Handler { return rootApp(t, nil, servePage()) },
			ok:    []string{"snippet", "csp", "compression"},
			has:   []string{"anonymous script (nobody logged in)", "inside <head>", "verdict: ok"},
			allOK: true,
		},
		{
			name:   "root-mounted app, logged in, no secret",
			app:    func(t *testing.T) http.Handler { return rootApp(t, nil, servePage()) },
			cookie: "user=alice",
			ok:     []string{"snippet", "runtime", "endpoint", "caching"},
			has:    []string{"skipped: set " + secretEnv},
			allOK:  true,
		},
		{
			name: "compression inside the middleware",
			app: func(t *testing.T) http.Handler {
				mux := http.NewServeMux()
				mux.Handle("/", servePage())
				return login(newPF(t, nil).Handler(gzipInside(mux)))
			},
			cookie:   "user=alice",
			env:      withSecret,
			wantCode: exitFail,
			fail:     []string{"compression", "snippet"},
			ok:       []string{"runtime", "hash"},
			has:      []string{"put pf.Handler inside your compression middleware (the compressor wraps it)", "Content-Encoding: gzip"},
		},
		{
			name: "compression outside the middleware",
			app: func(t *testing.T) http.Handler {
				mux := http.NewServeMux()
				mux.Handle("/", servePage())
				return login(gzipInside(newPF(t, nil).Handler(mux)))
			},
			cookie: "user=alice",
			env:    withSecret,
			ok:     []string{"snippet", "compression", "hash"},
			has:    []string{"with Content-Encoding gzip and without"},
			allOK:  true,
		},
		{
			name: "strict CSP header with a nonce",
			app: func(t *testing.T) http.Handler {
				return rootApp(t, nil, servePage("Content-Security-Policy", "script-src 'nonce-abc'; object-src 'none'"))
			},
			cookie: "user=alice",
			env:    withSecret,
			ok:     []string{"csp", "loader", "runtime"},
			has:    []string{`nonce "abc"`},
			allOK:  true,
		},
		{
			name: "CSP header with hash-only script-src",
			app: func(t *testing.T) http.Handler {
				return rootApp(t, nil, servePage("Content-Security-Policy", "script-src 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"))
			},
			cookie:   "user=alice",
			env:      withSecret,
			wantCode: exitFail,
			fail:     []string{"csp"},
			has:      []string{"the header policy's script-src blocks the snippet's inline script", "set Config.Nonce"},
		},
		{
			name: "unsafe-inline beside a nonce is ignored",
			app: func(t *testing.T) http.Handler {
				return rootApp(t, nil, servePage("Content-Security-Policy", "default-src 'self' 'unsafe-inline' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"))
			},
			cookie:   "user=alice",
			wantCode: exitFail,
			fail:     []string{"csp"},
			ok:       []string{"runtime"},
			has:      []string{"'unsafe-inline' is ignored", "default-src"},
			not:      []string{"blocks the runtime"},
		},
		{
			name: "meta CSP with unsafe-inline and the loader's origin not allowed",
			app: func(t *testing.T) http.Handler {
				return pfAround(t, func(pf *productfruits.Middleware) http.Handler {
					return handWritten(t, pf, `<meta http-equiv="Content-Security-Policy" content="script-src 'self' 'unsafe-inline'">`, "",
						"Cache-Control", "private", "Vary", "Cookie")
				})
			},
			cookie: "user=alice",
			ok:     []string{"csp", "runtime"},
			warn:   []string{"loader"},
			has:    []string{"add https://app.productfruits.com to script-src"},
		},
		{
			// Hand-written pages: whether the library emits the loader
			// template does not decide these.
			name: "Trusted Types required, productfruits not listed",
			app: func(t *testing.T) http.Handler {
				return pfAround(t, func(pf *productfruits.Middleware) http.Handler {
					return handWritten(t, pf, "", "", "Cache-Control", "private", "Vary", "Cookie",
						"Content-Security-Policy", "script-src 'self' 'unsafe-inline' 'strict-dynamic'; require-trusted-types-for 'script'; trusted-types app")
				})
			},
			cookie:   "user=alice",
			wantCode: exitFail,
			fail:     []string{"trusted-types", "csp"},
			ok:       []string{"loader"},
			has:      []string{"add productfruits to your trusted-types directive"},
		},
		{
			name: "Trusted Types required, no trusted-types directive",
			app: func(t *testing.T) http.Handler {
				return pfAround(t, func(pf *productfruits.Middleware) http.Handler {
					return handWritten(t, pf, "", "", "Cache-Control", "private", "Vary", "Cookie",
						"Content-Security-Policy", "require-trusted-types-for 'script'")
				})
			},
			cookie: "user=alice",
			warn:   []string{"trusted-types"},
			ok:     []string{"csp", "loader"},
		},
		{
			name: "Trusted Types required, loader template on the page",
			app: func(t *testing.T) http.Handler {
				return pfAround(t, func(pf *productfruits.Middleware) http.Handler {
					tmpl := `<template data-productfruits="loader"><script async="async" src="https://loader.example/static/script.js" data-productfruits=""></script></template>`
					return handWritten(t, pf, tmpl, "", "Cache-Control", "private", "Vary", "Cookie",
						"Content-Security-Policy", "script-src 'self' 'unsafe-inline' https://app.productfruits.com; require-trusted-types-for 'script'; trusted-types app")
				})
			},
			cookie: "user=alice",
			ok:     []string{"trusted-types", "csp"},
			warn:   []string{"loader"},
			has:    []string{"does not allow the product's loader https://loader.example/static/script.js", "add https://loader.example to script-src"},
		},
		{
			name: "runtime URL nothing serves",
			app: func(t *testing.T) http.Handler {
				return pfAround(t, func(pf *productfruits.Middleware) http.Handler {
					return handWritten(t, pf, "", "/app/productfruits/identity/lifecycle.0123456789ab.js", "Cache-Control", "private", "Vary", "Cookie")
				})
			},
			cookie:   "user=alice",
			env:      withSecret,
			wantCode: exitFail,
			fail:     []string{"runtime"},
			ok:       []string{"snippet", "hash", "caching"},
			has:      []string{"404 Not Found at http://127.0.0.1:", "/app/productfruits/identity/lifecycle.0123456789ab.js", "mount pf.Handler around the whole router"},
		},
		{
			name: "base href on another origin",
			app: func(t *testing.T) http.Handler {
				return pfAround(t, func(pf *productfruits.Middleware) http.Handler {
					return handWritten(t, pf, `<base href="https://cdn.example.invalid/">`, "", "Cache-Control", "private", "Vary", "Cookie")
				})
			},
			cookie:   "user=alice",
			wantCode: exitFail,
			fail:     []string{"runtime"},
			has:      []string{"resolves cross-origin to https://cdn.example.invalid/productfruits/identity/lifecycle.", `<base href="https://cdn.example.invalid/">`},
		},
		{
			name: "wrong secret",
			app: func(t *testing.T) http.Handler {
				return rootApp(t, func(c *productfruits.Config) { c.TTL = 0 }, servePage())
			},
			cookie:   "user=alice",
			env:      map[string]string{secretEnv: "another workspace's key"},
			wantCode: exitFail,
			fail:     []string{"hash"},
			ok:       []string{"snippet", "runtime", "endpoint"},
			has:      []string{`"` + aliceHash[:6] + `…" does not verify for "alice"`, "another secret"},
			not:      []string{aliceHash, refHash("another workspace's key", "alice"), "another workspace's key"},
		},
		{
			name: "expired hash",
			app: func(t *testing.T) http.Handler {
				return rootApp(t, func(c *productfruits.Config) {
					c.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
				}, servePage())
			},
			cookie:   "user=alice",
			env:      withSecret,
			wantCode: exitFail,
			fail:     []string{"hash"},
			has:      []string{"has passed"},
		},
		{
			name: "public caching on a hand-written logged-in page",
			app: func(t *testing.T) http.Handler {
				return pfAround(t, func(pf *productfruits.Middleware) http.Handler {
					return handWritten(t, pf, "", "", "cache-control", "public, max-age=600", "Surrogate-Control", "max-age=600")
				})
			},
			cookie:   "user=alice",
			env:      withSecret,
			wantCode: exitFail,
			fail:     []string{"caching"},
			ok:       []string{"snippet", "runtime", "endpoint", "hash"},
			has:      []string{`says public`, "Vary does not name Cookie", "Surrogate-Control", "a shared cache may hand this user's hash to another"},
		},
		{
			name: "endpoint behind a login wall",
			app: func(t *testing.T) http.Handler {
				app := rootApp(t, nil, servePage())
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == productfruits.DefaultIdentityPath {
						http.Redirect(w, r, "/login?next="+r.URL.Path, http.StatusFound)
						return
					}
					app.ServeHTTP(w, r)
				})
			},
			cookie:   "user=alice",
			env:      withSecret,
			wantCode: exitFail,
			fail:     []string{"endpoint"},
			ok:       []string{"snippet", "runtime", "hash"},
			has:      []string{"with the cookie: 302 to /login", "login wall"},
		},
		{
			name: "endpoint behind a login wall, no cookie",
			app: func(t *testing.T) http.Handler {
				app := rootApp(t, nil, servePage())
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == productfruits.DefaultIdentityPath {
						http.Redirect(w, r, "/login", http.StatusFound)
						return
					}
					app.ServeHTTP(w, r)
				})
			},
			ok: []string{"snippet"},
			// An anonymous page names no endpoint: nothing to warn about.
			has: []string{"verdict: ok"},
		},
		{
			name:     "no snippet at all",
			app:      func(t *testing.T) http.Handler { return servePage() },
			wantCode: exitFail,
			fail:     []string{"snippet"},
			has:      []string{"no script element with data-productfruits", "verdict: FAIL"},
		},
		{
			name: "snippet twice",
			app: func(t *testing.T) http.Handler {
				return pfAround(t, func(pf *productfruits.Middleware) http.Handler {
					s, err := pf.ScriptFor(productfruits.User{Username: "alice"}, "")
					require.NoError(t, err)
					return handWritten(t, pf, string(s), "", "Cache-Control", "private", "Vary", "Cookie")
				})
			},
			cookie:   "user=alice",
			wantCode: exitFail,
			fail:     []string{"snippet"},
			has:      []string{"snippet twice: 2 page data scripts"},
		},
		{
			name: "redirect to a login page",
			app: func(t *testing.T) http.Handler {
				mux := http.NewServeMux()
				mux.Handle("/login", servePage())
				mux.Handle("/", http.RedirectHandler("/login", http.StatusSeeOther))
				return login(newPF(t, nil).Handler(mux))
			},
			cookie: "user=",
			warn:   []string{"redirect", "snippet"},
			has:    []string{"303 from http://127.0.0.1:", "the cookie is not logged in"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.app(t))
			defer srv.Close()
			args := []string{srv.URL + "/"}
			if tt.cookie != "" {
				args = append([]string{"-cookie", tt.cookie}, args...)
			}
			code, out, errOut := runDoctor(t, tt.env, args...)
			assert.Equal(t, tt.wantCode, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			assert.Empty(t, errOut)
			for _, c := range tt.ok {
				assert.Regexp(t, verdictLine("ok", c), out)
			}
			for _, c := range tt.fail {
				assert.Regexp(t, verdictLine("FAIL", c), out)
			}
			for _, c := range tt.warn {
				assert.Regexp(t, verdictLine("warn", c), out)
			}
			for _, s := range tt.has {
				assert.Contains(t, out, s)
			}
			for _, s := range tt.not {
				assert.NotContains(t, out, s)
			}
			if tt.allOK {
				assert.NotRegexp(t, `(?m)^(warn|FAIL) `, out)
			}
			// Whatever happens, the secret and a hash it signs stay out.
			assert.NotContains(t, out, secret)
			assert.NotContains(t, out, aliceHash)
			if t.Failed() || os.Getenv("DOCTOR_SHOW") != "" {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

func TestDoctorUsage(t *testing.T) {
	dir := t.TempDir()
	spaced := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(spaced, []byte(" "+secret+"\n"), 0o600))
	cookieFile := filepath.Join(dir, "cookie")
	require.NoError(t, os.WriteFile(cookieFile, []byte("Cookie: user=alice\n"), 0o600))

	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantCode  int
		stderrHas []string
		stdoutHas []string
	}{
		{name: "no URL", args: nil, wantCode: exitUsage, stderrHas: []string{"the page's URL is required"}},
		{name: "relative URL", args: []string{"/path"}, wantCode: exitUsage, stderrHas: []string{"argument #2 is not an absolute http or https URL (not shown"}},
		{name: "two URLs", args: []string{"http://a.invalid/", "http://b.invalid/"}, wantCode: exitUsage, stderrHas: []string{"unexpected argument #3 (not shown"}},
		{name: "two URLs among flags", args: []string{"-cookie", "a=b", "http://a.invalid/", "-secret-file", "f", "http://b.invalid/"}, wantCode: exitUsage, stderrHas: []string{"unexpected argument #7 (not shown"}},
		{name: "secret flag refused", args: []string{"-secret", secret, "http://a.invalid/"}, wantCode: exitUsage, stderrHas: []string{"there is no -secret flag"}},
		{name: "cookie and cookie file", args: []string{"-cookie", "a=b", "-cookie-file", cookieFile, "http://a.invalid/"}, wantCode: exitUsage, stderrHas: []string{"exclude each other"}},
		{
			name: "secret with whitespace in the environment", args: []string{"http://a.invalid/"},
			env: map[string]string{secretEnv: secret + " "}, wantCode: exitUsage,
			stderrHas: []string{"$" + secretEnv + " has leading or trailing whitespace"},
		},
		{
			name: "secret with whitespace in a file", args: []string{"-secret-file", spaced, "http://a.invalid/"},
			wantCode:  exitUsage,
			stderrHas: []string{"the file " + spaced + " has leading or trailing whitespace"},
		},
		{name: "help", args: []string{"-h"}, stdoutHas: []string{"Usage: pfhmac doctor", "-cookie-file FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runDoctor(t, tt.env, tt.args...)
			assert.Equal(t, tt.wantCode, code, errOut)
			for _, s := range tt.stderrHas {
				assert.Contains(t, errOut, s)
			}
			for _, s := range tt.stdoutHas {
				assert.Contains(t, out, s)
			}
			assert.NotContains(t, out+errOut, secret)
		})
	}

	var stdout, stderr bytes.Buffer
	assert.Equal(t, exitOK, run([]string{"help", "doctor"}, func(string) string { return "" }, nil, &stdout, &stderr, time.Now))
	assert.Contains(t, stdout.String(), "Usage: pfhmac doctor")
	stdout.Reset()
	run([]string{"help"}, func(string) string { return "" }, nil, &stdout, &stderr, time.Now)
	assert.Contains(t, stdout.String(), "pfhmac doctor")
}

func TestDoctorCookieFile(t *testing.T) {
	srv := httptest.NewServer(rootApp(t, nil, servePage()))
	defer srv.Close()
	f := filepath.Join(t.TempDir(), "cookie")
	require.NoError(t, os.WriteFile(f, []byte("Cookie: user=bob\n"), 0o600))
	code, out, _ := runDoctor(t, nil, srv.URL, "-cookie-file", f)
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, `present once for user "bob"`)
}
