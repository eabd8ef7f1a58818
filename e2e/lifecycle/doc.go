// Package lifecycle proves the page lifecycle runtime (lifecycle.js) in
// headless Chromium: init, renewal, switch and destroy on full page loads,
// under Turbo and htmx (e2e/npm), back/forward, two tabs, against every
// variant of the stand-in loader (e2e/standin) and loaders that never get
// ready, and the wirings apps put around the middleware (a login wall, a
// <base href>, Trusted Types, a policy that blocks the page data).
package lifecycle
