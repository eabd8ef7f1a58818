// Package sharedcache holds tests only: the middleware behind real shared
// caches and in a real browser with two origins, the attacks of issue 19
// (items 2 and 3) as regression tests.
//
// TestSharedCaches starts nginx (proxy_cache, a cache key with the Cookie
// header and nginx's default key) and Varnish (a cookie-keyed VCL and one
// that strips nothing, both letting logged-in requests reach the cache)
// in front of an app whose handlers try every spelling of every caching
// field, and requires that bob never receives alice's signed user
// object, on pages and on the identity endpoint, for cookie and
// Basic-auth users, while an anonymous page is still cached.
//
// TestCrossOriginIdentity serves the app behind a reflective,
// credentialed CORS layer and lets attacker pages on a same-site and on a
// cross-site origin try to read alice's identity in Chromium.
//
// The tests skip when nginx, varnishd or Chromium is missing, except
// under CI=true, where they fail: apt-get install nginx varnish chromium.
package sharedcache
