#!/bin/sh
# Every test of the project: the library and cmd/pfhmac, then the examples
# module (browser and Redis tests run when chromium and redis-server are
# installed; with CI=true they must run). Always with the race detector.
set -eu
cd "$(dirname "$0")/.."
go test -race -count=1 ./...
cd examples
go test -race -count=1 ./...
