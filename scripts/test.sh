#!/bin/sh
# Every test of the project, with the race detector, module by module:
# the library (with cmd/pfhmac), conformance (x/net/html, html5lib, the
# corpus), compat (the real third-party wirings), sharedcache (nginx,
# Varnish, Chromium), examples (each program's smoke test), e2e (the
# browser, corpus and lifecycle suites), bench (the load-test harness)
# and browserbench (the browser benchmark's smoke test).
# A module that fails does not stop the others: every failure is listed
# at the end, and the exit status is non-zero if there was one.
# Browser, Redis, nginx and Varnish tests run when chromium, redis-server,
# nginx and varnishd are installed, the NodeJS reference checks when node
# is; with CI=true they must run.
set -u
cd "$(dirname "$0")/.."
failed=""
for module in . conformance compat sharedcache examples e2e bench browserbench; do
	echo "-- go test $module"
	start=$(date +%s)
	if ! (cd "$module" && go test -race -count=1 ./...); then
		failed="$failed $module"
	fi
	echo "-- $module: $(($(date +%s) - start)) s"
done
if [ -n "$failed" ]; then
	echo "FAILED:$failed"
	exit 1
fi
echo "all modules passed"
