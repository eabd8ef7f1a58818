#!/bin/sh
# Every test of the project, always with the race detector, module by
# module: the library with cmd/pfhmac and its internal packages (the load,
# memory and fault proofs among them), the conformance module (test-only),
# the compatibility suite (compat: the real third-party packages), the
# shared-cache and two-origin proofs (sharedcache: nginx, Varnish,
# Chromium), the examples module, then the browser benchmark's smoke test
# (browserbench). The browser, Redis, nginx and Varnish tests run when
# chromium, redis-server, nginx and varnishd are installed, the NodeJS
# reference checks when node is; with CI=true they must run.
set -eu
cd "$(dirname "$0")/.."
for module in . conformance compat sharedcache examples browserbench; do
	echo "-- go test $module"
	(cd "$module" && go test -race -count=1 ./...)
done
