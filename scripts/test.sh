#!/bin/sh
# Every test of the project, with the race detector, module by module:
# the library (with cmd/pfhmac), conformance (x/net/html, html5lib, the
# corpus), compat (the real third-party wirings), sharedcache (nginx,
# Varnish, Chromium), examples (each program's smoke test), e2e (the
# browser, corpus and lifecycle suites), bench (the load-test harness)
# and browserbench (the browser benchmark's smoke test).
# e2e, the longest and mostly waiting on Chromium, runs beside the others,
# which run one after another. A module that fails does not stop the
# others: each module's output is printed when it ends, every failure is
# listed at the end, and the exit status is non-zero if there was one.
# Browser, Redis, nginx and Varnish tests run when chromium, redis-server,
# nginx and varnishd are installed, the NodeJS reference checks when node
# is; with CI=true they must run.
set -u
cd "$(dirname "$0")/.."
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# run tests one module into $logs/<name>.log and its status into .rc.
run() {
	name=$(echo "$1" | tr ./ _-)
	start=$(date +%s)
	(cd "$1" && go test -race -count=1 ./...) >"$logs/$name.log" 2>&1
	echo $? >"$logs/$name.rc"
	echo "-- $1: $(($(date +%s) - start)) s" >>"$logs/$name.log"
}

# report prints a module's output and notes whether it failed.
report() {
	name=$(echo "$1" | tr ./ _-)
	echo "-- go test $1"
	cat "$logs/$name.log"
	[ "$(cat "$logs/$name.rc")" = 0 ] || echo "$1" >>"$logs/failed"
}

run e2e &
for module in . conformance compat sharedcache examples bench browserbench; do
	run "$module"
	report "$module"
done
wait
report e2e

if [ -s "$logs/failed" ]; then
	echo "FAILED: $(tr '\n' ' ' <"$logs/failed")"
	exit 1
fi
echo "all modules passed"
