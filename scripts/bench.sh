#!/bin/sh
# The figures of docs/PERFORMANCE.md: benchmarks side by side with their
# baselines in one run (medians of 5), then the load test (about 2.5
# minutes: the server in its own process, pinned apart from the clients
# when the machine has 2 CPUs; HTTP/1.1 and h2c at 4, 32 and 256 clients;
# it fails when a goal is missed) and the memory test. Run it on a quiet
# machine: the load test publishes throughput and CPU time.
set -eu
cd "$(dirname "$0")/.."
go test -run '^$' -bench 'Sign$|MiddlewareContext|Inject$' -benchmem -count 5 . | tee /tmp/productfruits-bench.txt | go run ./internal/benchtable
status=0
go run ./internal/loadtest || status=$?
go run ./internal/loadtest -memory || status=$?
exit "$status"
