#!/bin/sh
# The figures of docs/PERFORMANCE.md, in the order it shows them:
#  1. the library's benchmarks side by side with their baselines in one run
#     (medians of 6) and the goals computed from that run (benchtable);
#  2. the scanner's per-state table and its speed against bytes.Index
#     (scantable);
#  3. the snippet's bytes on the wire;
#  4. the load test (about 2 minutes: the server in its own process, pinned
#     apart from the clients when the machine has 2 CPUs; HTTP/1.1 and h2c
#     at 4, 32 and 256 clients) and the memory test.
# The library's benchmarks run in its module; the commands that read them,
# and the load and memory tests, in the bench module.
# It exits non-zero when any goal is missed. Run it on a quiet machine: the
# figures are times, and the load test publishes throughput and CPU time.
set -eu
cd "$(dirname "$0")/.."
out=${TMPDIR:-/tmp}/productfruits-bench
mkdir -p "$out"
status=0
go test -run '^$' -bench 'Sign$|MiddlewareContext|Inject$|InjectHead' -benchmem -count 6 . >"$out/lib.txt"
go -C bench run ./benchtable <"$out/lib.txt" || status=$?
go test -run '^$' -bench 'Scan' -benchtime 100ms -count 6 ./internal/htmlscan >"$out/scan.txt"
go -C bench run ./scantable <"$out/scan.txt" || status=$?
go test -count=1 -run '^TestSnippetSize$' -v . | grep 'snippet [0-9]' || status=$?
go -C bench run ./loadtest || status=$?
go -C bench run ./loadtest -memory || status=$?
exit "$status"
