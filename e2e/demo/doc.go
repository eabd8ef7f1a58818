// Package demo runs the demo (examples/basic), built as the README's
// `go run -C examples ./basic` builds it, in headless Chromium: the
// injected init verifies with the demo's stand-in, a hostile username runs
// nothing and arrives intact, the snippet runs under a strict nonce CSP
// and without a charset, and an expiring HMAC is renewed.
package demo
