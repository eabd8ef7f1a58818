package sharedcache

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cacheSetup is one shared cache in front of the app.
type cacheSetup struct {
	name  string
	start func(t testing.TB, backend string) string
	// beatable: some spelling left by a scrub of canonical keys alone
	// makes this cache store a private page. Varnish's builtin VCL skips
	// its private check when a Surrogate-Control field is present, in
	// any case. nginx 1.22 (Debian 12) reads the fields in the order they
	// arrive, and net/http writes Cache-Control before X-Accel-Expires,
	// so there private wins; its cases stay as guards for other versions.
	beatable bool
}

var cacheSetups = []cacheSetup{
	{"nginx-cookie-key", func(t testing.TB, backend string) string {
		return startNginx(t, backend, `proxy_cache_key "$scheme$proxy_host$request_uri$http_cookie";`)
	}, false},
	{"nginx-default-key", func(t testing.TB, backend string) string {
		return startNginx(t, backend, "")
	}, false},
	{"varnish-cookie-keyed", func(t testing.TB, backend string) string {
		return startVarnish(t, backend, cookieKeyedHash)
	}, true},
	{"varnish-strips-nothing", func(t testing.TB, backend string) string {
		return startVarnish(t, backend, "")
	}, true},
}

// cacheStatus names what the cache says it did with a response.
func cacheStatus(resp *http.Response) string {
	var parts []string
	for _, k := range []string{"X-Cache-Status", "X-Varnish", "Age"} {
		if v := resp.Header.Get(k); v != "" {
			parts = append(parts, k+": "+v)
		}
	}
	return strings.Join(parts, ", ")
}

// TestSharedCaches puts each cache in front of the app and requests the
// same URL as alice, then as bob, logged in by session cookie or by Basic
// auth, for every spelling of every caching field and every URL that
// carries a signed user object (a page, the identity endpoint, the
// endpoint on a page's own URL). Bob must get his own verified object and
// nothing of alice's: not her username, not any hash she was given.
//
// The control: an anonymous page that asks to be cached is served once
// by the backend and then from the cache, so the cache does store what
// it may. Without it, a cache that stored nothing would pass. A second
// control shows, per cache, which spellings make it store a page marked
// private when only canonical keys are scrubbed (Varnish: any spelling of
// Surrogate-Control; nginx 1.22: none), so that the logged-in cases are
// known to be a real attack where they are.
func TestSharedCaches(t *testing.T) {
	a := newApp(t)
	backend := httptest.NewServer(a.handler)
	t.Cleanup(backend.Close)
	backendAddr := strings.TrimPrefix(backend.URL, "http://")
	client := &http.Client{}

	for _, setup := range cacheSetups {
		t.Run(setup.name, func(t *testing.T) {
			front := setup.start(t, backendAddr)

			t.Run("control/anonymous-page-is-cached", func(t *testing.T) {
				uri := "/page/canonical/" + setup.name + "-anonymous-control"
				anon := who{kind: "anonymous"}
				var statuses []string
				for range 3 {
					resp, body := anon.do(t, client, front+uri)
					require.Equal(t, http.StatusOK, resp.StatusCode, body)
					require.Empty(t, userObjects(body), "an anonymous page carries a signed user")
					require.NotContains(t, body, "alice")
					statuses = append(statuses, cacheStatus(resp))
				}
				require.Equal(t, 1, a.hitsFor(uri), "the cache did not store the anonymous page (Cache-Control: public, max-age=600): "+
					"this cache stores nothing, so nothing else here would prove anything; cache said %q", statuses)
			})

			// Which spellings beat a private Cache-Control in this cache,
			// on pages left as a scrub of canonical keys alone would leave
			// them (the library before it found every spelling): the
			// cases below are a real attack here only if some do.
			t.Run("control/spellings-that-beat-private", func(t *testing.T) {
				var beat, held []string
				for _, sp := range spellings {
					uri := "/raw/" + sp.name + "/" + setup.name
					for range 2 {
						resp, body := who{kind: "anonymous"}.do(t, client, front+uri)
						require.Equal(t, http.StatusOK, resp.StatusCode, body)
					}
					if a.hitsFor(uri) == 1 {
						beat = append(beat, sp.name)
					} else {
						held = append(held, sp.name)
					}
				}
				t.Logf("%s stores a private page for the spellings: %s; not for: %s", setup.name, strings.Join(beat, ", "), strings.Join(held, ", "))
				if setup.beatable {
					assert.NotEmpty(t, beat, "no spelling beats Cache-Control: private in %s: the leak cases prove nothing here", setup.name)
				}
			})

			for _, kind := range []string{"cookie", "basic"} {
				for _, sp := range spellings {
					for _, target := range targets {
						t.Run(kind+"/"+sp.name+"/"+target.name, func(t *testing.T) {
							uri := target.url(sp.name, setup.name+"-"+kind)
							checkNoLeak(t, a, client, front, uri, kind)
						})
					}
				}
			}
		})
	}
}

// checkNoLeak requests uri through the cache at front as alice, twice,
// then as bob, logged in the kind's way, and fails when bob's answer
// carries anything of alice's or is not bob's own signed object.
func checkNoLeak(t *testing.T, a *app, client *http.Client, front, uri, kind string) {
	t.Helper()
	alice, bob := who{kind, "alice"}, who{kind, "bob"}
	var aliceHashes []string
	var trail []string
	for i := range 2 {
		resp, body := alice.do(t, client, front+uri)
		trail = append(trail, fmt.Sprintf("alice #%d: %d (%s)", i+1, resp.StatusCode, cacheStatus(resp)))
		require.Equal(t, http.StatusOK, resp.StatusCode, "alice: %s", body)
		users := userObjects(body)
		require.NotEmpty(t, users, "alice's answer carries no signed user object: %s", body)
		for _, u := range users {
			require.Truef(t, verifies(t, u, "alice"), "alice got an object that is not hers: %+v", u)
			if !slices.Contains(aliceHashes, u.HMAC.Hash) {
				aliceHashes = append(aliceHashes, u.HMAC.Hash)
			}
		}
	}
	resp, body := bob.do(t, client, front+uri)
	trail = append(trail, fmt.Sprintf("bob: %d (%s)", resp.StatusCode, cacheStatus(resp)), fmt.Sprintf("backend hits: %d", a.hitsFor(uri)))
	t.Logf("%s: %s", uri, strings.Join(trail, "; "))
	require.Equal(t, http.StatusOK, resp.StatusCode, "bob: %s", body)
	for _, h := range aliceHashes {
		assert.Falsef(t, containsHash(body, h), "bob received alice's hash %s through the cache (%s)", h, strings.Join(trail, "; "))
	}
	assert.NotContainsf(t, body, `"alice"`, "bob received alice's username through the cache (%s)", strings.Join(trail, "; "))
	users := userObjects(body)
	if assert.NotEmpty(t, users, "bob's answer carries no signed user object") {
		for _, u := range users {
			assert.Truef(t, verifies(t, u, "bob"), "bob got an object that is not his own verified one: %+v (%s)", u, strings.Join(trail, "; "))
		}
	}
}
