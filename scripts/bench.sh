#!/bin/sh
# The README's Performance tables: benchmarks side by side with their
# baselines in one run (medians of 5), then the load and memory tests.
set -eu
cd "$(dirname "$0")/.."
go test -run '^$' -bench 'Sign$|MiddlewareContext|Inject$' -benchmem -count 5 . | tee /tmp/productfruits-bench.txt | go run ./internal/benchtable
go run ./internal/loadtest
go run ./internal/loadtest -memory
